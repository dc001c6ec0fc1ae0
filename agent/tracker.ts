import type { Collector } from '../collectors/types.js';
import { accountMinutes, type MinuteEnergy } from '../src/ledger/accounting.js';
import type { MarketInstruments } from '../src/carbon/carbon.js';
import { GAP_INTERVALS, Integrator } from '../src/ledger/integrator.js';
import { MINUTE_MS, splitByTime } from '../src/ledger/split.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { loadReport } from '../src/report/load.js';
import type { Report } from '../src/report/types.js';
import type { Snapshot } from '../src/snapshot.js';
import type { DeviceRow, RunRow, TickWrite } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { Reading } from '../src/types.js';
import { systemClock, type Clock } from './clock.js';
import { CollectorRunner } from './collector-runner.js';
import { assertNotTrackedElsewhere, resumeDevices, type PendingGap } from './resume.js';
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
  clock?: Clock;
  onTick?: (snapshot: Snapshot) => void;
}

/**
 * Tracker runs one tracking session: poll collectors, integrate, account, commit, publish a snapshot.
 * Each tick's energy and the integrator state are committed in one transaction, so a crash loses at most
 * the tick in flight and a resume (same run id) continues without double counting.
 */
export class Tracker {
  readonly run: RunRow;
  readonly resumed: boolean;
  snapshot: Snapshot;
  private readonly clock: Clock;
  private readonly integrator: Integrator;
  private readonly runners: CollectorRunner[];
  private readonly devices: Map<string, LiveDevice>;
  /** Devices of a resumed run that no collector offers in this session. */
  private readonly absent: Set<string>;
  private pendingGaps: PendingGap[];
  /** The stored run as it was before this session reopened it. */
  readonly previous?: RunRow;
  private readonly resumedAtMs: number;
  private co2e = { location: 0, market: 0 };
  /** Facility energy accumulated period by period, so a PUE change on resume never lowers the total. */
  private facilityJoules = 0;
  private tickErrors = 0;
  private lastErrorReportMs = -Infinity;
  private tickCount = 0;
  private tickLagSeconds = 0;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private stopped = false;
  private progress?: { fraction: number; source: string };

  constructor(private readonly options: TrackerOptions) {
    const { store } = options;
    this.clock = options.clock ?? systemClock;
    this.integrator = new Integrator({
      intervalSeconds: options.intervalSeconds,
      maxPowerWatts: (id) => maxPlausibleWatts(this.devices.get(id)?.row),
    });
    this.runners = options.collectors.map((c) => new CollectorRunner(c, Math.max(500, options.intervalSeconds * 800)));
    const existing = store.findRun(options.runId);
    this.previous = existing;
    this.resumed = existing !== undefined;
    this.resumedAtMs = this.clock.wallMs();
    const settings = {
      pue: options.pue.value, pueSource: options.pue.source, zone: options.zone, intensitySource: options.intensity.name,
      market: options.market, labels: options.labels,
    };
    if (existing) {
      assertNotTrackedElsewhere(existing, options.hostname);
      store.reopenRun(existing.runKey, settings);
      this.run = store.findRun(options.runId)!;
      this.co2e = { location: existing.co2eLocationGrams, market: existing.co2eMarketGrams };
      this.facilityJoules = store.facilityJoulesOf(existing.runKey);
    } else {
      this.run = store.createRun({
        runId: options.runId, hostname: options.hostname, startedAtMs: this.clock.wallMs(), ...settings, command: options.command,
      });
    }
    store.claimRun(this.run.runKey, options.hostname, process.pid);
    const resumed = resumeDevices(store, this.run, existing, options.collectors.flatMap((c) => c.devices), this.integrator, this.resumedAtMs);
    this.devices = resumed.devices;
    this.absent = resumed.absent;
    this.pendingGaps = resumed.gaps;
    this.snapshot = this.makeSnapshot(this.clock.wallMs());
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
  }

  /**
   * recordSilentDevices closes the run's account of devices that stopped answering (a GPU that fell off the
   * bus, a collector failing to the end): a gap from their last reading to the end, so the report shows it.
   */
  private recordSilentDevices(endedAtMs: number): void {
    const limitMs = GAP_INTERVALS * this.options.intervalSeconds * 1000;
    for (const device of this.devices.values()) {
      if (this.absent.has(device.row.id)) {
        this.options.store.addGap(device.row.devKey, this.resumedAtMs, endedAtMs, 'not found when the run resumed: its energy in this session is not counted');
        continue;
      }
      const lastMs = this.integrator.state(device.row.id)?.wallMs ?? this.resumedAtMs;
      if (endedAtMs - lastMs > limitMs) {
        this.options.store.addGap(device.row.devKey, lastMs, endedAtMs, 'no readings until the end of the run (device lost or collector failing)');
      }
    }
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
    process.stderr.write(`wattprint: tick failed (${this.tickErrors} so far): ${(err as Error).message}; retrying every interval\n`);
  }

  /** progressAt is the job's progress: reported by the job, else elapsed over --expected-duration. */
  private progressAt(wallMs: number): { fraction: number; source: string } | undefined {
    if (this.progress) return this.progress;
    const expected = this.options.expectedDurationSeconds;
    if (!expected) return undefined;
    return { fraction: Math.min(1, (wallMs - this.run.startedAtMs) / 1000 / expected), source: `elapsed over --expected-duration ${expected} s` };
  }

  /** tick polls every collector once and commits what it measured. */
  async tick(final = false): Promise<void> {
    // Fetching providers refresh in the background; lookups below never wait on the network.
    this.options.intensity.refresh?.(this.clock.wallMs()).catch(() => undefined);
    const results = await Promise.all(this.runners.map((r) => r.read(final)));
    const monoSeconds = this.clock.monoSeconds();
    const wallMs = this.clock.wallMs();
    const write: TickWrite = {
      runKey: this.run.runKey, wallMs, minutes: [], periods: [], devices: [], samples: [], gaps: [...this.pendingGaps],
      co2eLocationGrams: 0, co2eMarketGrams: 0,
    };
    // What this tick changes in memory is undone if its commit fails: the next tick's counter deltas and
    // samples then cover both intervals, so nothing is lost and nothing is counted without being stored.
    const saved = {
      states: this.integrator.saveStates(), co2e: { ...this.co2e }, facilityJoules: this.facilityJoules,
      devices: [...this.devices.values()].map((d) => [d, d.energyJoules, d.samples, d.powerWatts] as const),
    };
    const itByMinute = new Map<number, number>();
    for (const result of results) {
      for (const reading of result.readings) this.ingest(reading, monoSeconds, wallMs, write, itByMinute);
    }
    // Every device's total and state goes into each commit, read this tick or not: the state is one value.
    for (const device of this.devices.values()) {
      if (this.absent.has(device.row.id)) continue;
      const state = this.integrator.state(device.row.id);
      write.devices.push({
        devKey: device.row.devKey, energyJoules: device.energyJoules, samples: device.samples, counterJoules: state?.counterJoules,
        counterEpoch: state?.counterEpoch, powerWatts: state?.powerWatts, stateWallMs: state?.wallMs,
      });
    }
    const minutes: MinuteEnergy[] = [...itByMinute].map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules }));
    write.periods = accountMinutes(minutes, { pue: this.options.pue.value, market: this.options.market, intensity: this.options.intensity });
    for (const p of write.periods) {
      this.co2e.location += p.co2eLocationGrams;
      this.co2e.market += p.co2eMarketGrams;
      this.facilityJoules += p.facilityJoules;
    }
    write.co2eLocationGrams = this.co2e.location;
    write.co2eMarketGrams = this.co2e.market;
    try {
      this.options.store.commitTick(write);
    } catch (err) {
      this.integrator.restoreStates(saved.states);
      this.co2e = saved.co2e;
      this.facilityJoules = saved.facilityJoules;
      for (const [d, energyJoules, samples, powerWatts] of saved.devices) Object.assign(d, { energyJoules, samples, powerWatts });
      throw err;
    }
    this.pendingGaps = [];
    this.tickCount++;
    if (this.tickCount % 60 === 0) this.options.store.pruneSamples(this.run.runKey, wallMs - this.options.sampleRetentionSeconds * 1000);
    this.snapshot = this.makeSnapshot(wallMs);
    this.options.onTick?.(this.snapshot);
  }

  private ingest(reading: Reading, monoSeconds: number, wallMs: number, write: TickWrite, itByMinute: Map<number, number>): void {
    const device = this.devices.get(reading.deviceId);
    if (!device) return;
    const contribution = this.integrator.ingest(reading, device.row.method, monoSeconds, wallMs);
    const devKey = device.row.devKey;
    if (contribution) {
      const { energyJoules, startMs, endMs, event } = contribution;
      if (event === 'gap' || event === 'epoch-change' || event === 'recovered' || event === 'reset') {
        write.gaps!.push({ devKey, startMs, endMs, reason: gapReason(event), ...(event === 'recovered' ? { recoveredJoules: energyJoules } : {}) });
      }
      if (energyJoules > 0) {
        for (const piece of splitByTime(startMs, endMs, energyJoules, MINUTE_MS)) {
          write.minutes.push({ devKey, minute: piece.bucketStartMs / MINUTE_MS, energyJoules: piece.energyJoules });
          itByMinute.set(piece.bucketStartMs, (itByMinute.get(piece.bucketStartMs) ?? 0) + piece.energyJoules);
        }
        device.energyJoules += energyJoules;
      }
      const seconds = (endMs - startMs) / 1000;
      device.powerWatts = device.row.method === 'counter' && event !== 'recovered' && seconds > 0 ? energyJoules / seconds : reading.powerWatts ?? device.powerWatts;
    } else if (reading.powerWatts !== undefined) {
      device.powerWatts = reading.powerWatts;
    }
    device.samples++;
    write.samples!.push({ devKey, tMs: wallMs, powerWatts: device.powerWatts, counterJoules: reading.counterJoules });
  }

  private makeSnapshot(wallMs: number): Snapshot {
    return buildSnapshot({
      run: this.run, options: this.options, devices: [...this.devices.values()], wallMs, tick: this.tickCount,
      co2e: this.co2e, facilityJoules: this.facilityJoules, collectors: this.runners.map((r) => r.status), tickLagSeconds: this.tickLagSeconds,
      status: this.stopped ? 'ended' : 'running', progress: this.progress,
    });
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
    }
    try {
      const endedAtMs = this.clock.wallMs();
      this.recordSilentDevices(endedAtMs);
      const progress = this.progressAt(endedAtMs);
      if (progress) this.options.store.saveProgress(this.run.runKey, progress);
      this.options.store.endRun(this.run.runKey, endedAtMs, exitCode);
      this.snapshot = this.makeSnapshot(endedAtMs);
      return loadReport(this.options.store, this.options.store.findRun(this.run.runId)!);
    } finally {
      for (const c of this.options.collectors) c.close();
    }
  }
}

/**
 * maxPlausibleWatts bounds a device's power, to tell a counter wrap from a reset and to know when downtime
 * could hide a wrap: twice its power limit, else 1 kW for a CPU package or DRAM, 5 kW for anything else.
 */
function maxPlausibleWatts(row: DeviceRow | undefined): number {
  if (row?.powerLimitWatts) return 2 * row.powerLimitWatts;
  return row?.kind === 'cpu' || row?.kind === 'dram' ? 1_000 : 5_000;
}

function gapReason(event: 'gap' | 'epoch-change' | 'recovered' | 'reset'): string {
  if (event === 'reset') return 'counter reset (driver reload): energy since the reset counted, before it in this interval unknown';
  if (event === 'recovered') return 'agent downtime: energy recovered from the hardware counter';
  if (event === 'epoch-change') return 'counter restarted (reboot or driver reload): energy in between unknown';
  return 'no readings for more than 5 intervals: not bridged';
}

export type { DeviceRow };
