import type { Collector } from '../collectors/types.js';
import type { ReadResult } from '../src/types.js';
import type { LiveTick } from '../src/exporters/ws.js';
import type { MarketInstruments } from '../src/carbon/carbon.js';
import { Ledger, type LedgerBatch } from '../src/ledger/ledger.js';
import { RECENT_MS, WORK_UNITS, type Work } from '../src/ledger/phases.js';
import { progressAt, type Progress } from '../src/ledger/progress.js';
import { MINUTE_MS } from '../src/ledger/split.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { loadReport } from '../src/report/load.js';
import type { Report } from '../src/report/types.js';
import type { Snapshot } from '../src/snapshot.js';
import type { DeviceRow, RunRow, TickWrite } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import { systemClock, type Clock } from './clock.js';
import { JobInputError } from '../src/exporters/job-api.js';
import type { AttributionTick } from '../src/attribution/types.js';
import type { RunAttribution } from '../src/store/rows.js';
import { MAX_PENDING_MINUTE_ROWS, mergeTickWrites } from './pending-writes.js';
import { CollectorRunner } from './collector-runner.js';
import { assertNotTrackedElsewhere, resumeDevices } from './resume.js';
import { buildSnapshot, type LiveDevice } from './snapshot-builder.js';

/** TrackerOptions is everything a tracking session needs; agent/ builds it from flags, env and config. */
export interface TrackerOptions {
  store: Store;
  runId: string;
  hostname: string;
  labels: Record<string, string>;
  command?: string;
  intervalSeconds: number;
  pue: { value: number; source: string };
  zone?: string;
  intensity: IntensityProvider;
  market: MarketInstruments;
  collectors: Collector[];
  /** Raw samples are kept this long (seconds); energy is kept per minute for ever. */
  sampleRetentionSeconds: number;
  expectedDurationSeconds?: number;
  /**
   * When the run began, if before the tracker (`run` spawns the job, then probes): a new run starts then, and
   * sampled devices' first readings are held back to it (the ledger's edge rule, up to the gap limit).
   */
  startedAtMs?: number;
  /** The job's share of each device, measured each tick (`run`); without it every device is wholly the run's. */
  attribution?: AttributionSource;
  /** Rides along each tick in the same transaction: a node agent's per-job accounts (agent/node-jobs.ts). */
  participant?: TickParticipant;
  clock?: Clock;
  /** Called after every committed tick; the view builds the snapshot only if asked (TickView.snapshot). */
  onTick?: (tick: TickView) => void;
}

/**
 * TickView is a committed tick as live outputs see it: its time and each device's power (arrays reused from
 * tick to tick: copy what is kept), and the full snapshot, built on demand — nobody may be listening.
 */
export type TickView = LiveTick;

/** AttributionSource measures, each tick, the job's share of each device over the time since its last tick. */
export interface AttributionSource {
  tick(): AttributionTick;
  close(): void;
}

/**
 * TickParticipant rides along each tick of a tracker: it measures before the readings are integrated, turns the
 * tick's batch into rows of its own that are committed in the same transaction as the tracker's, and adds to
 * the snapshot. A node agent's per-job accounts are one (agent/node-jobs.ts).
 */
export interface TickParticipant {
  /** bind gives the participant the run it rides with, once the tracker has opened (or resumed) it. */
  bind(run: RunRow, options: TrackerOptions): void;
  /** measure runs before this tick's readings are integrated, at the same wall time. */
  measure(wallMs: number): void;
  /** writes returns the participant's rows for this tick's batch; it may annotate the tracker's own write. */
  writes(batch: LedgerBatch, own: TickWrite, wallMs: number): TickWrite[];
  /** settle says what became of the tick: committed, held for the next commit, or rolled back with the ledger. */
  settle(outcome: 'committed' | 'held' | 'rolled-back'): void;
  snapshot(snapshot: Snapshot, wallMs: number): Snapshot;
  close(): void;
}

/**
 * Tracker schedules one tracking session and wires it: clock → collectors → ledger → store commit → snapshot.
 * The ledger (src/ledger) does all integrating, splitting and accounting; each tick's batch and the ledger's
 * state are committed in one transaction, so a crash loses at most the tick in flight and a resume (same run
 * id) continues without double counting. A failed commit rolls the ledger back: nothing is lost.
 */
export class Tracker {
  readonly run: RunRow;
  readonly resumed: boolean;
  /** The stored run as it was before this session reopened it. */
  readonly previous?: RunRow;
  private readonly clock: Clock;
  private readonly ledger: Ledger;
  private readonly runners: CollectorRunner[];
  private readonly devices: Map<string, LiveDevice>;
  /** Devices of a resumed run that no collector offers in this session. */
  private readonly absent: Set<string>;
  private readonly resumedAtMs: number;
  private tickErrors = 0;
  private lastErrorReportMs = -Infinity;
  private tickCount = 0;
  private tickLagSeconds = 0;
  /** The last tick's snapshot, built when first read (a scrape, a client, the status line), then kept until the next tick. */
  private lastSnapshot?: Snapshot;
  private snapshotWallMs: number;
  private readonly view: TickView & { deviceIds: string[] };
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private stopped = false;
  private progress?: Progress;
  /** Work or progress changed since the last commit: written with the next tick. */
  private jobStateDirty = false;
  /** Ticks integrated but not yet stored (the database refused them: full disk, lock): committed with the next. */
  private pending?: TickWrite;
  /** Set when the run could not be stored to its end: the last figures live only in memory and in the report. */
  storageError?: Error;
  private attribution?: AttributionSource;
  private attributionState?: RunAttribution;
  private attributionDirty = false;
  /** Wall time of the last attribution tick: the next one's shares cover the time since. */
  private lastShareMs?: number;
  /** Refused readings of earlier sessions of the run, and the last counts written. */
  private droppedBase: Record<string, Record<string, number>> = {};
  private droppedWritten = '{}';
  /** How many readings the collectors had refused when droppedWritten was made (the counts only grow). */
  private droppedCounted = 0;

  constructor(private readonly options: TrackerOptions) {
    const { store } = options;
    this.clock = options.clock ?? systemClock;
    this.runners = options.collectors.map((c) => new CollectorRunner(c, Math.max(500, options.intervalSeconds * 800)));
    const existing = store.findRun(options.runId);
    this.previous = existing;
    this.resumed = existing !== undefined;
    this.resumedAtMs = existing ? this.clock.wallMs() : Math.min(options.startedAtMs ?? Infinity, this.clock.wallMs());
    const settings = {
      pue: options.pue.value, pueSource: options.pue.source, zone: options.zone, intensitySource: options.intensity.name,
      market: options.market, labels: options.labels,
    };
    if (existing) {
      assertNotTrackedElsewhere(existing, options.hostname);
      store.reopenRun(existing.runKey, settings);
      this.run = store.findRun(options.runId)!;
    } else {
      this.run = store.createRun({
        runId: options.runId, hostname: options.hostname, startedAtMs: this.resumedAtMs, ...settings, command: options.command,
      });
    }
    store.claimRun(this.run.runKey, options.hostname, process.pid);
    this.ledger = new Ledger({
      intervalSeconds: options.intervalSeconds, startMs: this.resumedAtMs,
      accounting: { pue: options.pue.value, market: options.market, intensity: options.intensity },
      // Facility energy was accumulated period by period, so a PUE change on resume never lowers the total.
      totals: existing
        ? { facilityJoules: store.facilityJoulesOf(existing.runKey), co2eLocationGrams: existing.co2eLocationGrams, co2eMarketGrams: existing.co2eMarketGrams }
        : {},
    });
    const resumed = resumeDevices(store, this.run, existing, options.collectors.flatMap((c) => c.devices), this.ledger, this.resumedAtMs);
    this.devices = resumed.devices;
    this.absent = resumed.absent;
    if (existing) {
      // The job's own account survives a restart: its work counters, progress and phases (open ones go on).
      for (const phase of store.phasesOf(existing.runKey)) this.ledger.phases.restore(phase);
      this.ledger.work = { ...existing.work };
      this.droppedBase = existing.dropped ?? {};
      this.droppedWritten = JSON.stringify(this.droppedBase);
      if (existing.progress) this.progress = existing.progress;
    }
    this.attribution = options.attribution;
    options.participant?.bind(this.run, options);
    this.snapshotWallMs = this.clock.wallMs();
    this.view = {
      atMs: this.snapshotWallMs, deviceIds: [], powerWatts: new Float64Array(0), itEnergyJoules: 0, facilityEnergyJoules: 0,
      co2eLocationGrams: 0, intensityGramsPerKwh: 0, snapshot: () => this.snapshot,
    };
  }

  /** snapshot is the state every live output reads, as of the last tick (replaced, never mutated, each tick). */
  get snapshot(): Snapshot {
    return (this.lastSnapshot ??= this.makeSnapshot(this.snapshotWallMs));
  }

  /** attach starts measuring the job's share of the devices (`run` attaches once it has spawned the job). */
  attach(attribution: AttributionSource): void {
    this.attribution?.close();
    this.attribution = attribution;
    this.lastShareMs = undefined;
    // Its first tick is a baseline: take it now, so the next tick already measures the job.
    this.measureShares(this.clock.wallMs());
  }

  /** start takes the baseline reading and starts the tick loop. */
  async start(): Promise<void> {
    await this.tick();
    let nextDue = this.clock.monoSeconds() + this.options.intervalSeconds;
    const schedule = (): void => {
      if (this.stopped) return;
      const delayMs = Math.max(0, (nextDue - this.clock.monoSeconds()) * 1000);
      this.timer = setTimeout(() => {
        this.tickLagSeconds = Math.max(0, this.clock.monoSeconds() - nextDue);
        this.inFlight = this.tick().catch((err: unknown) => this.noteTickError(err)).finally(() => {
          nextDue += this.options.intervalSeconds;
          // After a stall (suspend, overload) skip the missed ticks instead of firing a burst.
          if (nextDue < this.clock.monoSeconds()) nextDue = this.clock.monoSeconds() + this.options.intervalSeconds;
          schedule();
        });
      }, delayMs);
    };
    schedule();
  }

  /** setProgress records the job's progress (0..1) for projections. */
  setProgress(fraction: number, source: string): void {
    this.progress = { fraction: Math.min(1, Math.max(0, fraction)), source };
    this.jobStateDirty = true;
  }

  /**
   * reportWork records the job's cumulative work counters; a counter lower than the one stored is refused
   * (JobInputError), since counters only grow: a restarted job must continue from its stored totals.
   */
  reportWork(work: Work, opts: { atLeast?: boolean } = {}): void {
    const next: Work = { ...this.ledger.work };
    for (const unit of WORK_UNITS) {
      const value = work[unit];
      const stored = this.ledger.work[unit];
      if (value === undefined) continue;
      if (stored !== undefined && value < stored) {
        // Counters riding on a phase edge may lag a progress report that overtook them: keep the higher.
        if (opts.atLeast) continue;
        throw new JobInputError(`"${unit}" went down from ${stored} to ${value}: counters are cumulative since the run began (send totals, not per-step deltas)`);
      }
      next[unit] = value;
    }
    this.ledger.work = next;
    this.jobStateDirty = true;
  }

  /**
   * startPhase opens a phase of the job at atMs (wall ms; placed exactly if it is at most RECENT_MS old).
   * A phase id already used is refused (JobInputError, conflict).
   */
  startPhase(id: string, name: string, atMs: number): void {
    const existing = this.ledger.phases.get(id);
    // A client retrying a start whose answer it lost sends the same edge again: that is no conflict.
    if (existing && existing.name === name && existing.endMs === undefined) return;
    if (existing) throw new JobInputError(`phase id '${id}' is already used in this run: give every phase window its own id`, 409);
    this.ledger.startPhase(id, name, this.clampEdge(atMs));
  }

  /** endPhase closes a phase at atMs; an id that is not open is refused (JobInputError, not found). */
  endPhase(id: string, atMs: number): void {
    if (!this.ledger.endPhase(id, this.clampEdge(atMs))) throw new JobInputError(`no open phase with id '${id}'`, 404);
  }

  /** clampEdge keeps a phase edge between RECENT_MS ago (what the ledger can still place) and now. */
  private clampEdge(atMs: number): number {
    const nowMs = this.clock.wallMs();
    return Math.min(nowMs, Math.max(nowMs - RECENT_MS, atMs));
  }

  /**
   * noteTickError keeps the agent (and the job it wraps) alive through a failed tick — a locked or full
   * database, say: the tick's energy stays in the counters for the next one. One line on stderr a minute.
   */
  private noteTickError(err: unknown, always = false): void {
    this.tickErrors++;
    const now = Date.now();
    if (!always && now - this.lastErrorReportMs < 60_000) return;
    this.lastErrorReportMs = now;
    const held = this.pending ? `; ${this.pending.minutes.length} minute rows of energy held in memory until it takes writes again` : '';
    process.stderr.write(`wattprint: cannot store a tick (${this.tickErrors} so far): ${(err as Error).message}${held}; retrying every interval\n`);
  }

  /** tick polls every collector once and commits what the ledger made of it; the final tick closes the account. */
  async tick(final = false): Promise<void> {
    // Fetching providers refresh in the background; lookups below never wait on the network.
    this.options.intensity.refresh?.(this.clock.wallMs()).catch(() => undefined);
    const reads = this.runners.map((r) => r.read(final));
    // Synchronous collectors answer at once; the tick waits only when one of them is asynchronous.
    const results = reads.some((r) => r instanceof Promise) ? await Promise.all(reads) : reads as ReadResult[];
    const monoSeconds = this.clock.monoSeconds();
    const wallMs = this.clock.wallMs();
    this.measureShares(wallMs);
    this.options.participant?.measure(wallMs);
    const checkpoint = this.ledger.checkpoint();
    for (const result of results) {
      for (const reading of result.readings) this.ledger.ingest(reading, monoSeconds, wallMs);
    }
    if (final) {
      this.ledger.close(wallMs, this.absent);
      for (const id of this.absent) this.ledger.addGap(id, this.resumedAtMs, wallMs, 'absent');
    }
    const batch = this.ledger.takeBatch();
    const write = this.pending ? mergeTickWrites(this.pending, this.tickWrite(batch, wallMs)) : this.tickWrite(batch, wallMs);
    const participant = this.options.participant;
    const others = participant?.writes(batch, write, wallMs) ?? [];
    try {
      if (others.length) this.options.store.commitTicks([write, ...others]);
      else this.options.store.commitTick(write);
      this.pending = undefined;
      participant?.settle('committed');
    } catch (err) {
      // The ledger keeps what it integrated and the write waits for the next tick: nothing measured is lost
      // while the disk is full or the database locked. Past a day's rows in memory, the ledger is rolled back
      // instead: counters then carry the energy to the next commit, sampled devices show a gap.
      if (write.minutes.length <= MAX_PENDING_MINUTE_ROWS) {
        this.pending = write;
        participant?.settle('held');
      } else {
        this.ledger.rollback(checkpoint);
        participant?.settle('rolled-back');
      }
      throw err;
    }
    this.jobStateDirty = false;
    this.attributionDirty = false;
    this.noteDropped();
    this.tickCount++;
    if (this.tickCount % 60 === 0) this.options.store.pruneSamples(this.run.runKey, wallMs - this.options.sampleRetentionSeconds * 1000);
    // SQLite checkpoints the WAL every 256 pages; truncating it now and then keeps an idle database's -wal small.
    if (this.tickCount % 600 === 0) this.options.store.checkpointWal();
    this.lastSnapshot = undefined;
    this.snapshotWallMs = wallMs;
    if (this.options.onTick) this.options.onTick(this.tickView(wallMs));
  }

  /** tickView fills the reused view of this tick: device ids (a new array only when the devices change) and powers. */
  private tickView(wallMs: number): TickView {
    const view = this.view;
    view.atMs = wallMs;
    const n = this.devices.size;
    if (view.powerWatts.length !== n) {
      view.powerWatts = new Float64Array(n);
      view.deviceIds = [...this.devices.keys()];
    }
    let i = 0;
    let itEnergyJoules = 0;
    for (const d of this.devices.values()) {
      view.powerWatts[i++] = d.account.powerWatts;
      itEnergyJoules += d.account.energyJoules;
    }
    // The same figures buildSnapshot shows (agent/snapshot-builder.ts), without building the snapshot.
    view.itEnergyJoules = itEnergyJoules;
    view.facilityEnergyJoules = this.ledger.totals.facilityJoules;
    view.co2eLocationGrams = this.ledger.totals.co2eLocationGrams;
    view.intensityGramsPerKwh = this.options.intensity.lookup(wallMs).gramsPerKwh;
    return view;
  }

  /**
   * measureShares asks the attribution for the job's share of each device since its last tick and gives it to
   * the ledger before this tick's readings are integrated (their interval is the same).
   */
  private measureShares(wallMs: number): void {
    if (!this.attribution) return;
    const a = this.attribution.tick();
    if (!a.baseline && this.lastShareMs !== undefined) this.ledger.recordShares(this.lastShareMs, wallMs, a.shares);
    this.lastShareMs = wallMs;
    const state: RunAttribution = { scope: a.scope, policy: a.policy, notes: a.notes };
    if (JSON.stringify(state) !== JSON.stringify(this.attributionState)) {
      this.attributionState = state;
      this.attributionDirty = true;
    }
  }

  /** tickWrite maps a ledger batch onto the store's rows; every device's total and state goes into each commit. */
  private tickWrite(batch: LedgerBatch, wallMs: number): TickWrite {
    const key = (id: string) => this.devices.get(id)!.row.devKey;
    const write: TickWrite = {
      runKey: this.run.runKey, wallMs, periods: batch.periods,
      minutes: batch.minutes.map((m) => ({ devKey: key(m.deviceId), minute: m.minuteStartMs / MINUTE_MS, energyJoules: m.energyJoules })),
      samples: batch.samples.map((s) => ({ devKey: key(s.deviceId), tMs: s.tMs, powerWatts: s.powerWatts, counterJoules: s.counterJoules })),
      gaps: batch.gaps.map((g) => ({ devKey: key(g.deviceId), startMs: g.startMs, endMs: g.endMs, reason: g.reason, ...(g.recoveredJoules !== undefined ? { recoveredJoules: g.recoveredJoules } : {}) })),
      devices: [], co2eLocationGrams: this.ledger.totals.co2eLocationGrams, co2eMarketGrams: this.ledger.totals.co2eMarketGrams,
      phases: this.ledger.phases.takeDirty(),
      ...(this.attributionDirty && this.attributionState ? { attribution: this.attributionState } : {}),
      ...this.droppedChange(),
      ...(this.jobStateDirty ? { work: this.ledger.work, ...(this.progress ? { progress: this.progress } : {}) } : {}),
    };
    for (const device of this.devices.values()) {
      if (this.absent.has(device.row.id)) continue;
      const state = this.ledger.state(device.row.id);
      write.devices.push({
        devKey: device.row.devKey, energyJoules: device.account.energyJoules, nodeEnergyJoules: device.account.nodeEnergyJoules,
        samples: device.account.samples, counterJoules: state?.counterJoules,
        counterEpoch: state?.counterEpoch, powerWatts: state?.powerWatts, stateWallMs: state?.wallMs,
      });
    }
    return write;
  }

  /** droppedChange is the run's refused-reading counts (all sessions) when they changed since the last write. */
  private droppedChange(): { dropped?: Record<string, Record<string, number>> } {
    // Counts only grow: the same total is the same counts, so most ticks stop here without building anything.
    let counted = 0;
    for (const r of this.runners) for (const reason in r.status.errorsTotal) counted += r.status.errorsTotal[reason] ?? 0;
    if (counted === this.droppedCounted) return {};
    this.droppedCounted = counted;
    const all: Record<string, Record<string, number>> = JSON.parse(JSON.stringify(this.droppedBase));
    for (const r of this.runners) {
      for (const [reason, n] of Object.entries(r.status.errorsTotal)) {
        if (!n) continue;
        (all[r.status.name] ??= {})[reason] = (all[r.status.name]?.[reason] ?? 0) + n;
      }
    }
    const text = JSON.stringify(all);
    if (text === this.droppedWritten) return {};
    this.droppedWritten = text;
    return { dropped: all };
  }

  /** noteDropped counts readings the ledger refused under their collector's health (collector_errors_total). */
  private noteDropped(): void {
    for (const { deviceId, reason } of this.ledger.takeDropped()) {
      const collector = this.devices.get(deviceId)?.row.collector;
      this.runners.find((r) => r.collector.name === collector)?.count(reason, `${deviceId}: reading refused as ${reason} (implausible value)`);
    }
  }

  private makeSnapshot(wallMs: number): Snapshot {
    const snapshot = buildSnapshot({
      run: this.run, options: this.options, devices: [...this.devices.values()], wallMs, tick: this.tickCount,
      totals: this.ledger.totals, collectors: this.runners.map((r) => r.status), tickLagSeconds: this.tickLagSeconds,
      status: this.stopped ? 'ended' : 'running', progress: this.progress, work: this.ledger.work, phases: this.ledger.phases.all(),
    });
    return this.options.participant?.snapshot(snapshot, wallMs) ?? snapshot;
  }

  /** stop ends the loop, takes a final reading so energy up to now counts, closes the run and returns its report. */
  async stop(exitCode?: number): Promise<Report> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    try {
      await this.tick(true);
    } catch (err) {
      this.noteTickError(err, true);
      this.storageError = err as Error;
    }
    try {
      const endedAtMs = this.clock.wallMs();
      const progress = progressAt(this.progress, (endedAtMs - this.run.startedAtMs) / 1000, this.options.expectedDurationSeconds);
      try {
        if (progress) this.options.store.saveProgress(this.run.runKey, progress);
        this.options.store.endRun(this.run.runKey, endedAtMs, exitCode);
      } catch (err) {
        // The run stays open in the database ('running'): `report` then says its figures stop at the last tick.
        this.storageError ??= err as Error;
      }
      this.lastSnapshot = undefined;
      this.snapshotWallMs = endedAtMs;
      const report = loadReport(this.options.store, this.options.store.findRun(this.run.runId)!);
      if (this.storageError) {
        report.notes.push(`the database refused writes at the end of the run (${this.storageError.message}): ` +
          `${this.pending ? `${this.pending.minutes.length} minute rows of energy measured but not stored; ` : ''}` +
          `this report holds what was stored; the live totals were ${(this.ledger.totals.itJoules / 3.6e6).toPrecision(6)} kWh IT`);
      }
      return report;
    } finally {
      this.attribution?.close();
      this.options.participant?.close();
      for (const c of this.options.collectors) c.close();
    }
  }
}

export type { DeviceRow };
