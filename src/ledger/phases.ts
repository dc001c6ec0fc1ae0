import { accountMinutes, type AccountingSettings } from './accounting.js';
import { MINUTE_MS, splitByTime } from './split.js';

/** Work is the job's cumulative work counters, as it reported them (any subset). */
export interface Work {
  steps?: number;
  samples?: number;
  tokens?: number;
}

/** WORK_UNITS are the work counters a job may report, in the order reports show them. */
export const WORK_UNITS = ['steps', 'samples', 'tokens'] as const;

/** PhaseRecord is one measurement window of the job and what it cost: IT and facility joules, CO2e grams. */
export interface PhaseRecord {
  id: string;
  name: string;
  startMs: number;
  endMs?: number;
  itJoules: number;
  facilityJoules: number;
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  /** The job's work counters when the window opened and closed (what it did inside is the difference). */
  workAtStart: Work;
  workAtEnd?: Work;
}

/** RECENT_MS is how far back a phase edge may be placed exactly: edges later than it arrives are exact. */
export const RECENT_MS = 10 * MINUTE_MS;

interface Span {
  startMs: number;
  endMs: number;
  energyJoules: number;
}

/** PhaseCheckpoint is the phase book before a batch, for rollback. */
export interface PhaseCheckpoint {
  phases: Map<string, PhaseRecord>;
  pending: Map<string, Map<number, number>>;
  recentLength: number;
  recentLastJoules: number;
  dirty: Set<string>;
}

/**
 * PhaseBook splits the run's IT energy into the job's phases (measurement windows that may nest and overlap)
 * by time, like minutes: a phase gets each integrated span's energy × the share of the span inside the window,
 * so phase energy is exact to the tick's resolution. Spans of the last RECENT_MS are kept, so an edge that
 * arrives after the tick covering it (a queued client, a slow network) is still placed exactly.
 */
export class PhaseBook {
  private phases = new Map<string, PhaseRecord>();
  /** Per phase, this batch's IT joules per UTC minute, accounted at takeBatch. */
  private pending = new Map<string, Map<number, number>>();
  private readonly recent: Span[] = [];
  private dirty = new Set<string>();
  private latestMs = -Infinity;

  constructor(private readonly accounting: AccountingSettings) {}

  /** restore brings back a stored phase (a resumed run): open ones go on collecting energy. */
  restore(phase: PhaseRecord): void {
    this.phases.set(phase.id, { ...phase });
  }

  /** all is every phase of the run, in start order. */
  all(): PhaseRecord[] {
    return [...this.phases.values()].sort((a, b) => a.startMs - b.startMs);
  }

  /** get is one phase. */
  get(id: string): PhaseRecord | undefined {
    return this.phases.get(id);
  }

  /** takeDirty returns the phases changed since the last call (to store them) and forgets the list. */
  takeDirty(): PhaseRecord[] {
    const out = [...this.dirty].map((id) => this.phases.get(id)!).filter(Boolean);
    this.dirty = new Set();
    return out;
  }

  /** start opens a phase at atMs; energy already integrated after atMs is credited to it. */
  start(id: string, name: string, atMs: number, work: Work): PhaseRecord {
    const phase: PhaseRecord = {
      id, name, startMs: atMs, itJoules: 0, facilityJoules: 0, co2eLocationGrams: 0, co2eMarketGrams: 0, workAtStart: { ...work },
    };
    this.phases.set(id, phase);
    for (const span of this.recent) this.creditPhase(phase, span, 1);
    this.dirty.add(id);
    return phase;
  }

  /** end closes a phase at atMs; energy already credited after atMs is taken back. */
  end(id: string, atMs: number, work: Work): PhaseRecord | undefined {
    const phase = this.phases.get(id);
    if (!phase || phase.endMs !== undefined) return undefined;
    const endMs = Math.max(atMs, phase.startMs);
    // What was credited after endMs is removed: the overlap with [start, ∞) minus the overlap with [start, end].
    for (const span of this.recent) this.creditPhase(phase, span, -1);
    phase.endMs = endMs;
    phase.workAtEnd = { ...work };
    for (const span of this.recent) this.creditPhase(phase, span, 1);
    this.dirty.add(id);
    return phase;
  }

  /** credit shares one integrated span (all devices' energy over [startMs, endMs]) among the phases it overlaps. */
  credit(startMs: number, endMs: number, energyJoules: number): void {
    if (!(energyJoules > 0) || !(endMs > startMs)) return;
    const last = this.recent.at(-1);
    if (last && last.startMs === startMs && last.endMs === endMs) last.energyJoules += energyJoules;
    else this.recent.push({ startMs, endMs, energyJoules });
    this.latestMs = Math.max(this.latestMs, endMs);
    for (const phase of this.phases.values()) {
      if (phase.endMs !== undefined && phase.endMs <= startMs) continue;
      this.creditPhase(phase, { startMs, endMs, energyJoules }, 1);
    }
  }

  /** takeBatch accounts each phase's new energy per intensity period (PUE, CO2e), as the run's own is. */
  takeBatch(): void {
    for (const [id, byMinute] of this.pending) {
      const phase = this.phases.get(id)!;
      const periods = accountMinutes([...byMinute].map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules })), this.accounting);
      for (const p of periods) {
        phase.facilityJoules += p.facilityJoules;
        phase.co2eLocationGrams += p.co2eLocationGrams;
        phase.co2eMarketGrams += p.co2eMarketGrams;
      }
    }
    this.pending.clear();
  }

  /** checkpoint saves the book before a batch; spans older than RECENT_MS are dropped here, after the last commit. */
  checkpoint(): PhaseCheckpoint {
    const horizon = this.latestMs - RECENT_MS;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.endMs < horizon) drop++;
    if (drop) this.recent.splice(0, drop);
    return {
      phases: new Map([...this.phases].map(([id, p]) => [id, { ...p }])),
      pending: new Map([...this.pending].map(([id, m]) => [id, new Map(m)])),
      recentLength: this.recent.length,
      recentLastJoules: this.recent.at(-1)?.energyJoules ?? 0,
      dirty: new Set(this.dirty),
    };
  }

  /** rollback restores a checkpoint. */
  rollback(cp: PhaseCheckpoint): void {
    this.phases = cp.phases;
    this.pending = cp.pending;
    this.dirty = cp.dirty;
    this.recent.length = cp.recentLength;
    const last = this.recent.at(-1);
    if (last) last.energyJoules = cp.recentLastJoules;
  }

  private creditPhase(phase: PhaseRecord, span: Span, sign: 1 | -1): void {
    const fromMs = Math.max(span.startMs, phase.startMs);
    const toMs = Math.min(span.endMs, phase.endMs ?? Infinity);
    if (!(toMs > fromMs)) return;
    const joules = sign * span.energyJoules * (toMs - fromMs) / (span.endMs - span.startMs);
    phase.itJoules += joules;
    let byMinute = this.pending.get(phase.id);
    if (!byMinute) this.pending.set(phase.id, (byMinute = new Map()));
    for (const piece of splitByTime(fromMs, toMs, joules, MINUTE_MS)) {
      byMinute.set(piece.bucketStartMs, (byMinute.get(piece.bucketStartMs) ?? 0) + piece.energyJoules);
    }
    this.dirty.add(phase.id);
  }
}
