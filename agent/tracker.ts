import type { Collector } from '../collectors/types.js';
import { accountMinutes, type MinuteEnergy } from '../src/accounting.js';
import type { MarketInstruments } from '../src/carbon.js';
import { GAP_INTERVALS, Integrator } from '../src/energy/integrator.js';
import { MINUTE_MS, splitByTime } from '../src/energy/split.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { loadReport } from '../src/report/load.js';
import type { Report } from '../src/report/types.js';
import type { Snapshot } from '../src/snapshot.js';
import type { DeviceRow, RunRow, TickWrite } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { Reading } from '../src/types.js';
import { systemClock, type Clock } from './clock.js';
import { CollectorRunner } from './collector-runner.js';
import { RunBusyError } from './errors.js';
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
  private readonly devices = new Map<string, LiveDevice>();
  private co2e = { location: 0, market: 0 };
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
      maxPowerWatts: (id) => Math.max(2 * (this.devices.get(id)?.row.powerLimitWatts ?? 0), 5_000),
    });
    this.runners = options.collectors.map((c) => new CollectorRunner(c, Math.max(500, options.intervalSeconds * 800)));
    const existing = store.findRun(options.runId);
    this.resumed = existing !== undefined;
    const settings = { pue: options.pue.value, pueSource: options.pue.source, zone: options.zone, intensitySource: options.intensity.name };
    if (existing) {
      assertNotTrackedElsewhere(existing, options.hostname);
      store.reopenRun(existing.runKey, settings);
      this.run = store.findRun(options.runId)!;
      this.co2e = { location: existing.co2eLocationGrams, market: existing.co2eMarketGrams };
    } else {
      this.run = store.createRun({
        runId: options.runId, hostname: options.hostname, startedAtMs: this.clock.wallMs(), ...settings,
        market: options.market, labels: options.labels, command: options.command,
      });
    }
    store.claimRun(this.run.runKey, options.hostname, process.pid);
    for (const collector of options.collectors) {
      for (const info of collector.devices) {
        const row = store.upsertDevice(this.run.runKey, info);
        this.devices.set(info.id, { row, energyJoules: row.energyJoules, samples: row.samples, powerWatts: 0 });
        if (this.resumed && row.stateWallMs !== undefined) {
          this.integrator.restore(info.id, {
            counterJoules: row.counterJoules, counterEpoch: row.counterEpoch, powerWatts: row.powerWatts, wallMs: row.stateWallMs,
          });
        }
      }
    }
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
        this.inFlight = this.tick().finally(() => {
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
      const lastMs = this.integrator.state(device.row.id)?.wallMs ?? this.run.startedAtMs;
      if (endedAtMs - lastMs > limitMs) {
        this.options.store.addGap(device.row.devKey, lastMs, endedAtMs, 'no readings until the end of the run (device lost or collector failing)');
      }
    }
  }

  /** progressAt is the job's progress: reported by the job, else elapsed over --expected-duration. */
  private progressAt(wallMs: number): { fraction: number; source: string } | undefined {
    if (this.progress) return this.progress;
    const expected = this.options.expectedDurationSeconds;
    if (!expected) return undefined;
    return { fraction: Math.min(1, (wallMs - this.run.startedAtMs) / 1000 / expected), source: `elapsed over --expected-duration ${expected} s` };
  }

  /** tick polls every collector once and commits what it measured. */
  async tick(): Promise<void> {
    // Fetching providers refresh in the background; lookups below never wait on the network.
    this.options.intensity.refresh?.(this.clock.wallMs()).catch(() => undefined);
    const results = await Promise.all(this.runners.map((r) => r.read()));
    const monoSeconds = this.clock.monoSeconds();
    const wallMs = this.clock.wallMs();
    const write: TickWrite = {
      runKey: this.run.runKey, wallMs, minutes: [], periods: [], devices: [], samples: [], gaps: [], co2eLocationGrams: 0, co2eMarketGrams: 0,
    };
    const itByMinute = new Map<number, number>();
    for (const result of results) {
      for (const reading of result.readings) this.ingest(reading, monoSeconds, wallMs, write, itByMinute);
    }
    // Every device's total and state goes into each commit, read this tick or not: the state is one value.
    for (const device of this.devices.values()) {
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
    }
    write.co2eLocationGrams = this.co2e.location;
    write.co2eMarketGrams = this.co2e.market;
    this.options.store.commitTick(write);
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
      if (event === 'gap' || event === 'epoch-change' || event === 'recovered') {
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
      co2e: this.co2e, collectors: this.runners.map((r) => r.status), tickLagSeconds: this.tickLagSeconds,
      status: this.stopped ? 'ended' : 'running', progress: this.progress,
    });
  }

  /** stop ends the loop, takes a final reading so energy up to now counts, closes the run and returns its report. */
  async stop(exitCode?: number): Promise<Report> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    await this.tick();
    const endedAtMs = this.clock.wallMs();
    this.recordSilentDevices(endedAtMs);
    const progress = this.progressAt(endedAtMs);
    if (progress) this.options.store.saveProgress(this.run.runKey, progress);
    this.options.store.endRun(this.run.runKey, endedAtMs, exitCode);
    this.snapshot = this.makeSnapshot(endedAtMs);
    for (const c of this.options.collectors) c.close();
    return loadReport(this.options.store, this.options.store.findRun(this.run.runId)!);
  }
}

/**
 * assertNotTrackedElsewhere refuses to resume a run that a live process on this host is tracking: two
 * trackers writing one run would count its energy twice (several ranks sharing one SLURM job id, say).
 */
function assertNotTrackedElsewhere(run: RunRow, host: string): void {
  if (run.status !== 'running' || run.ownerHost !== host || !run.ownerPid || run.ownerPid === process.pid) return;
  if (!processAlive(run.ownerPid)) return;
  throw new RunBusyError(`run '${run.runId}' is being tracked by process ${run.ownerPid} on this host: pass another --run-id ` +
    '(one tracker per node: wrap the launcher, not each rank), or stop that process first', run.ownerPid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function gapReason(event: 'gap' | 'epoch-change' | 'recovered'): string {
  if (event === 'recovered') return 'agent downtime: energy recovered from the hardware counter';
  if (event === 'epoch-change') return 'counter restarted (reboot or driver reload): energy in between unknown';
  return 'no readings for more than 5 intervals: not bridged';
}

export type { DeviceRow };
