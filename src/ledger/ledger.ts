import type { DeviceKind, EnergyMethod, Reading } from '../types.js';
import { accountMinutes, type AccountingSettings } from './accounting.js';
import { GAP_REASONS, gapLimitSeconds, type GapEvent } from './gaps.js';
import { Integrator, type Contribution, type DeviceState } from './integrator.js';
import { ceilingWatts, checkReading, type RejectReason } from './plausibility.js';
import { PhaseBook, type PhaseCheckpoint, type Work } from './phases.js';
import { ShareTimeline } from '../attribution/timeline.js';
import { MINUTE_MS, splitByTime } from './split.js';
import type { PeriodWrite } from '../store/rows.js';

/** LedgerDevice is a device the ledger integrates, with the totals it carries in from a resumed run. */
export interface LedgerDevice {
  id: string;
  kind: DeviceKind;
  method: EnergyMethod;
  powerLimitWatts?: number;
  /** The device's own sampling interval in seconds (default: the ledger's). */
  intervalSeconds?: number;
  energyJoules?: number;
  samples?: number;
  /** The whole device's energy carried in from a resumed run (defaults to energyJoules: no attribution then). */
  nodeEnergyJoules?: number;
}

/** DeviceAccount is a device's running account: energy (joules), readings taken, latest power (watts). */
export interface DeviceAccount {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly method: EnergyMethod;
  /** The job's energy of this device (its share of the device's), joules. */
  energyJoules: number;
  /** The whole device's energy over the run, joules (equal to energyJoules when nothing is attributed). */
  nodeEnergyJoules: number;
  samples: number;
  powerWatts: number;
}

/** LedgerGap is time a device's energy was not bridged, or was recovered or held; recoveredJoules is counted energy. */
export interface LedgerGap {
  deviceId: string;
  startMs: number;
  endMs: number;
  reason: string;
  recoveredJoules?: number;
}

/** LedgerBatch is what the ledger learnt since the last batch: what one tick commits, or a whole replay. */
export interface LedgerBatch {
  /** Per-device energy per UTC minute, in the order it was integrated. */
  minutes: { deviceId: string; minuteStartMs: number; energyJoules: number }[];
  /** The batch's IT energy accounted per intensity period (PUE, location and market CO2e). */
  periods: PeriodWrite[];
  gaps: LedgerGap[];
  samples: { deviceId: string; tMs: number; powerWatts?: number; counterJoules?: number }[];
  /** Every integrated span of a device's whole energy (before the job's share): what a node's jobs are charged from. */
  contributions: Contribution[];
}

/** LedgerTotals are the run's totals: IT and facility joules, CO2e grams. */
export interface LedgerTotals {
  itJoules: number;
  /** The devices' whole energy (the node's, for the job's devices), before shares: joules. */
  nodeItJoules: number;
  facilityJoules: number;
  co2eLocationGrams: number;
  co2eMarketGrams: number;
}

/** DroppedReading is a reading the ledger refused: which device, and why. */
export interface DroppedReading {
  deviceId: string;
  reason: RejectReason;
}

/** LedgerOptions: the default sampling interval, the accounting factors, and the run's start for edges. */
export interface LedgerOptions {
  intervalSeconds: number;
  accounting: AccountingSettings;
  /** Wall time the run (or this session of it) started, ms: sampled devices' first samples are held back to it. */
  startMs?: number;
  /** Totals carried in from a resumed run. */
  totals?: Partial<LedgerTotals>;
  /** False where no job reports phases (replay): the recent spans a late phase edge needs are not kept. */
  phases?: boolean;
}

/** LedgerCheckpoint is the ledger's state before a batch, to roll back a batch whose commit failed. */
export interface LedgerCheckpoint {
  states: Map<string, DeviceState>;
  accounts: [DeviceAccount, number, number, number, number][];
  totals: LedgerTotals;
  batch: LedgerBatch;
  dropped: DroppedReading[];
  firstSeen: Set<string>;
  phases: PhaseCheckpoint;
  work: Work;
}

/**
 * Ledger is the one core of wattprint, for live tracking and replay alike: readings in (with their monotonic
 * and wall times), energy out — integrated (counter deltas with wrap/reset, trapezoid for sampled power),
 * refused when implausible, gaps decided per device on its own interval, edges of sampled devices held,
 * split by UTC minute and accounted per intensity period. No I/O and no clock: time comes with the readings.
 */
export class Ledger {
  readonly totals: LedgerTotals;
  /** The job's phases (measurement windows), their energy split off the run's by time. */
  readonly phases: PhaseBook;
  /** The job's cumulative work counters, as last reported. */
  work: Work = {};
  private readonly integrator: Integrator;
  private readonly accounts = new Map<string, DeviceAccount>();
  private readonly ceilings = new Map<string, number>();
  /** Devices that have had a reading this session (the start edge is held once). */
  private firstSeen = new Set<string>();
  private batch: LedgerBatch = emptyBatch();
  private dropped: DroppedReading[] = [];
  private readonly itByMinute = new Map<number, number>();
  /** The job's share of each device per tick, when attribution is on (else every device is wholly the job's). */
  private shares?: ShareTimeline;

  constructor(private readonly options: LedgerOptions) {
    this.totals = { itJoules: 0, nodeItJoules: 0, facilityJoules: 0, co2eLocationGrams: 0, co2eMarketGrams: 0, ...options.totals };
    this.phases = new PhaseBook(options.accounting);
    this.integrator = new Integrator({ intervalSeconds: options.intervalSeconds, maxPowerWatts: (id) => this.ceilings.get(id) ?? Infinity });
  }

  /** addDevice registers a device; a resumed device passes its stored integrator state. */
  addDevice(device: LedgerDevice, state?: DeviceState): DeviceAccount {
    const account: DeviceAccount = {
      id: device.id, kind: device.kind, method: device.method, energyJoules: device.energyJoules ?? 0,
      nodeEnergyJoules: device.nodeEnergyJoules ?? device.energyJoules ?? 0, samples: device.samples ?? 0, powerWatts: 0,
    };
    this.accounts.set(device.id, account);
    this.totals.itJoules += account.energyJoules;
    this.totals.nodeItJoules += account.nodeEnergyJoules;
    this.ceilings.set(device.id, ceilingWatts(device.kind, device.powerLimitWatts));
    if (device.intervalSeconds !== undefined) this.integrator.setInterval(device.id, device.intervalSeconds);
    if (state) {
      this.integrator.restore(device.id, state);
      this.firstSeen.add(device.id);
    }
    return account;
  }

  /**
   * recordShares sets the job's share of each device (0..1) over [startMs, endMs] (one tick of attribution):
   * energy integrated over that time is charged to the job at that share. Devices without a share, and time
   * before the first measurement, are wholly the job's.
   */
  recordShares(startMs: number, endMs: number, shares: ReadonlyMap<string, number>): void {
    this.shares ??= new ShareTimeline();
    this.shares.record(startMs, endMs, shares);
  }

  /**
   * creditSpan books energy integrated elsewhere — a node agent's device energy × a job's share — as this
   * ledger's own: device total, minutes, periods, phases. The device must have been added.
   */
  creditSpan(c: Contribution): void {
    this.credit(c);
  }

  /** account is a device's running account. */
  account(id: string): DeviceAccount | undefined {
    return this.accounts.get(id);
  }

  /** state is a device's integrator state, for persistence. */
  state(id: string): DeviceState | undefined {
    return this.integrator.state(id);
  }

  /** takeDropped returns the readings refused since the last call (device and reason), and forgets them. */
  takeDropped(): DroppedReading[] {
    const d = this.dropped;
    this.dropped = [];
    return d;
  }

  /** ingest takes one reading of one device at (monoSeconds, wallMs) into the current batch. */
  ingest(reading: Reading, monoSeconds: number, wallMs: number): void {
    const account = this.accounts.get(reading.deviceId);
    if (!account) return;
    const refused = checkReading(reading, this.ceilings.get(reading.deviceId)!);
    if (refused) return this.drop(account.id, refused);
    const c = this.integrator.ingest(reading, account.method, monoSeconds, wallMs);
    if (c?.event === 'absurd') return this.drop(account.id, 'absurd');
    if (!this.firstSeen.has(account.id)) {
      this.firstSeen.add(account.id);
      this.holdStartEdge(account, reading, wallMs);
    }
    if (c) {
      if (c.resumed && c.event === 'gap') this.addGap(c.deviceId, c.startMs, c.endMs, 'restart-gap');
      else if (c.resumed && c.event === undefined) this.addGap(c.deviceId, c.startMs, c.endMs, 'restart-bridged', c.energyJoules);
      else if (c.event && c.event !== 'wrap') this.addGap(c.deviceId, c.startMs, c.endMs, c.event, c.event === 'recovered' ? c.energyJoules : undefined);
      this.credit(c);
      const seconds = (c.endMs - c.startMs) / 1000;
      account.powerWatts = account.method === 'counter' && c.event !== 'recovered' && seconds > 0 ? c.energyJoules / seconds : reading.powerWatts ?? account.powerWatts;
    } else if (reading.powerWatts !== undefined) {
      account.powerWatts = reading.powerWatts;
    }
    account.samples++;
    this.batch.samples.push({ deviceId: account.id, tMs: wallMs, powerWatts: account.powerWatts, counterJoules: reading.counterJoules });
  }

  /** addGap records a gap (or recovery) of a device in the current batch. */
  addGap(deviceId: string, startMs: number, endMs: number, event: GapEvent | string, recoveredJoules?: number): void {
    const reason = (GAP_REASONS as Record<string, string>)[event] ?? event;
    this.batch.gaps.push({ deviceId, startMs, endMs, reason, ...(recoveredJoules !== undefined ? { recoveredJoules } : {}) });
  }

  /**
   * close ends the account at endMs: a sampled device's last sample is held to the end (up to the gap limit),
   * and a device silent for longer than that gets a gap to the end. Call before the last takeBatch.
   */
  close(endMs: number, skip: ReadonlySet<string> = new Set()): void {
    for (const account of this.accounts.values()) {
      if (skip.has(account.id)) continue;
      const state = this.integrator.state(account.id);
      const lastMs = state?.wallMs ?? this.options.startMs;
      if (lastMs === undefined || endMs <= lastMs) continue;
      const limitMs = gapLimitSeconds(this.integrator.intervalOf(account.id)) * 1000;
      if (endMs - lastMs > limitMs) {
        this.addGap(account.id, lastMs, endMs, 'silent');
      } else if (account.method !== 'counter' && state?.powerWatts !== undefined) {
        const energyJoules = state.powerWatts * (endMs - lastMs) / 1000;
        this.credit({ deviceId: account.id, energyJoules, startMs: lastMs, endMs });
        if (this.worthARow(account.id, endMs - lastMs)) this.addGap(account.id, lastMs, endMs, 'edge-end', energyJoules);
      }
    }
    // A window the job left open (it crashed, or never said) ends with the run.
    for (const phase of this.phases.all()) if (phase.endMs === undefined) this.phases.end(phase.id, endMs, this.work);
  }

  /** takeBatch accounts the current batch's energy per intensity period, adds it to the totals and starts a new batch. */
  takeBatch(): LedgerBatch {
    const batch = this.batch;
    const minutes = [...this.itByMinute].map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules }));
    batch.periods = accountMinutes(minutes, this.options.accounting);
    for (const p of batch.periods) {
      this.totals.facilityJoules += p.facilityJoules;
      this.totals.co2eLocationGrams += p.co2eLocationGrams;
      this.totals.co2eMarketGrams += p.co2eMarketGrams;
    }
    this.phases.takeBatch();
    this.batch = emptyBatch();
    this.itByMinute.clear();
    return batch;
  }

  /** startPhase opens a measurement window of the job at atMs (wall ms), with the work done so far. */
  startPhase(id: string, name: string, atMs: number): void {
    this.phases.start(id, name, atMs, this.work);
  }

  /** endPhase closes a window at atMs; false when no such window is open. */
  endPhase(id: string, atMs: number): boolean {
    return this.phases.end(id, atMs, this.work) !== undefined;
  }

  /** checkpoint saves the ledger before a batch; rollback(checkpoint) undoes everything since. */
  checkpoint(): LedgerCheckpoint {
    return {
      states: this.integrator.saveStates(),
      accounts: [...this.accounts.values()].map((a) => [a, a.energyJoules, a.nodeEnergyJoules, a.samples, a.powerWatts]),
      totals: { ...this.totals },
      batch: { minutes: [...this.batch.minutes], periods: [], gaps: [...this.batch.gaps], samples: [...this.batch.samples], contributions: [...this.batch.contributions] },
      dropped: [...this.dropped],
      firstSeen: new Set(this.firstSeen),
      phases: this.phases.checkpoint(),
      work: { ...this.work },
    };
  }

  /** rollback restores a checkpoint: the next batch's counter deltas and samples then cover both intervals. */
  rollback(cp: LedgerCheckpoint): void {
    this.integrator.restoreStates(cp.states);
    for (const [a, energyJoules, nodeEnergyJoules, samples, powerWatts] of cp.accounts) Object.assign(a, { energyJoules, nodeEnergyJoules, samples, powerWatts });
    Object.assign(this.totals, cp.totals);
    this.batch = cp.batch;
    this.dropped = cp.dropped;
    this.firstSeen = cp.firstSeen;
    this.phases.rollback(cp.phases);
    this.work = cp.work;
    this.itByMinute.clear();
    for (const m of cp.batch.minutes) this.itByMinute.set(m.minuteStartMs, (this.itByMinute.get(m.minuteStartMs) ?? 0) + m.energyJoules);
  }

  /**
   * holdStartEdge counts a sampled device's time from the run's start to its first sample at that sample's
   * power (zero-order hold), up to the gap limit: a stream that answers late must not lose the run's first seconds.
   */
  private holdStartEdge(account: DeviceAccount, reading: Reading, wallMs: number): void {
    const startMs = this.options.startMs;
    if (startMs === undefined || account.method === 'counter' || reading.powerWatts === undefined || wallMs <= startMs) return;
    if (wallMs - startMs > gapLimitSeconds(this.integrator.intervalOf(account.id)) * 1000) {
      this.addGap(account.id, startMs, wallMs, 'gap');
      return;
    }
    const energyJoules = reading.powerWatts * (wallMs - startMs) / 1000;
    this.credit({ deviceId: account.id, energyJoules, startMs, endMs: wallMs });
    if (this.worthARow(account.id, wallMs - startMs)) this.addGap(account.id, startMs, wallMs, 'edge-start', energyJoules);
  }

  /** worthARow: an edge shorter than half a sampling interval is ordinary tick jitter, counted without a report row. */
  private worthARow(deviceId: string, spanMs: number): boolean {
    return spanMs >= this.integrator.intervalOf(deviceId) * 500;
  }

  /**
   * credit books one integrated contribution: the whole device's energy on its node total, and the job's share
   * of it (the time-weighted share of the ticks it spans) everywhere else — device total, minutes, periods,
   * phases — so Table 4, CO2e and every per-job figure are the job's.
   */
  private credit(c: Contribution): void {
    if (!(c.energyJoules > 0)) return;
    const account = this.accounts.get(c.deviceId)!;
    this.batch.contributions.push({ deviceId: c.deviceId, startMs: c.startMs, endMs: c.endMs, energyJoules: c.energyJoules });
    account.nodeEnergyJoules += c.energyJoules;
    this.totals.nodeItJoules += c.energyJoules;
    const share = this.shares?.shareOver(c.deviceId, c.startMs, c.endMs) ?? 1;
    const jobJoules = c.energyJoules * share;
    if (!(jobJoules > 0)) return;
    account.energyJoules += jobJoules;
    this.totals.itJoules += jobJoules;
    // Most spans (a tick) lie inside one minute: booked without splitting, which would allocate for one piece.
    const minuteStartMs = Math.floor(c.startMs / MINUTE_MS) * MINUTE_MS;
    if (c.endMs > c.startMs && c.endMs - minuteStartMs <= MINUTE_MS) this.bookMinute(c.deviceId, minuteStartMs, jobJoules);
    else for (const piece of splitByTime(c.startMs, c.endMs, jobJoules, MINUTE_MS)) this.bookMinute(c.deviceId, piece.bucketStartMs, piece.energyJoules);
    if (this.options.phases !== false) this.phases.credit(c.startMs, c.endMs, jobJoules);
  }

  private bookMinute(deviceId: string, minuteStartMs: number, energyJoules: number): void {
    this.batch.minutes.push({ deviceId, minuteStartMs, energyJoules });
    this.itByMinute.set(minuteStartMs, (this.itByMinute.get(minuteStartMs) ?? 0) + energyJoules);
  }

  private drop(deviceId: string, reason: RejectReason): void {
    this.dropped.push({ deviceId, reason });
  }
}

function emptyBatch(): LedgerBatch {
  return { minutes: [], periods: [], gaps: [], samples: [], contributions: [] };
}
