import type { IdleAttribution } from '../src/attribution/types.js';
import { ShareTimeline } from '../src/attribution/timeline.js';
import type { MarketInstruments } from '../src/carbon/carbon.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import type { Contribution } from '../src/ledger/integrator.js';
import { Ledger, type LedgerCheckpoint } from '../src/ledger/ledger.js';
import { MINUTE_MS } from '../src/ledger/split.js';
import type { JobSnapshot } from '../src/snapshot.js';
import type { RunAttribution, RunRow, TickWrite } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { DeviceInfo } from '../src/types.js';
import { RunBusyError } from './errors.js';
import { mergeTickWrites } from './pending-writes.js';
import { assertNotTrackedElsewhere } from './resume.js';

/** JobAccountSettings are what every job account on a node shares with the node agent's own run. */
export interface JobAccountSettings {
  store: Store;
  hostname: string;
  /** The node agent's run: its id labels each job's run (node_run), its settings are the jobs' settings. */
  nodeRun: RunRow;
  labels: Record<string, string>;
  intervalSeconds: number;
  pue: { value: number; source: string };
  zone?: string;
  intensity: IntensityProvider;
  market: MarketInstruments;
  policy: IdleAttribution;
  devices: readonly DeviceInfo[];
}

/**
 * JobAccount is one job's account on a shared node: its own ledger and its own run in the agent's database,
 * charged each tick its share of every device's energy. The shares are kept per tick with the interval they
 * cover, so energy integrated over a longer span (a device read every 5 s) is charged the time-weighted share;
 * time before the job was first seen counts as share 0.
 */
export class JobAccount {
  readonly run: RunRow;
  /** Wall time from which the job is charged: the tick before it was first seen (its CPU time since then is its own). */
  readonly startMs: number;
  /** Last tick the job was seen; once it is gone, when it ended. */
  lastSeenMs: number;
  endedAtMs?: number;
  /** Wall time the agent noticed the end: the job's series stay exported for a grace period after it. */
  endNoticedMs?: number;
  /** The run is closed in the database (endRun committed). */
  closed = false;
  private readonly ledger: Ledger;
  private readonly shares: ShareTimeline;
  private readonly devKeys = new Map<string, number>();
  /** The whole device's energy while the job was on the node, joules: the report's node figures. */
  private readonly nodeJoules = new Map<string, number>();
  private notesKey = '';
  private inFlight?: TickWrite;
  private pending?: TickWrite;
  private checkpoint?: { ledger: LedgerCheckpoint; nodeJoules: Map<string, number>; notesKey: string };

  private constructor(readonly id: string, private readonly settings: JobAccountSettings, run: RunRow, startMs: number, resumed: boolean) {
    const { store, devices } = settings;
    this.run = run;
    this.startMs = startMs;
    this.lastSeenMs = startMs;
    // Contributions never span more than the gap limit (5 intervals): keep twice that, at least a minute.
    this.shares = new ShareTimeline(Math.max(60_000, 12_000 * settings.intervalSeconds));
    this.ledger = new Ledger({
      intervalSeconds: settings.intervalSeconds,
      accounting: { pue: settings.pue.value, market: settings.market, intensity: settings.intensity },
      totals: resumed ? { facilityJoules: store.facilityJoulesOf(run.runKey), co2eLocationGrams: run.co2eLocationGrams, co2eMarketGrams: run.co2eMarketGrams } : {},
    });
    for (const info of devices) {
      const row = store.upsertDevice(run.runKey, info);
      this.devKeys.set(info.id, row.devKey);
      this.ledger.addDevice({ id: info.id, kind: info.kind, method: info.method, energyJoules: row.energyJoules, samples: row.samples });
      this.nodeJoules.set(info.id, row.nodeEnergyJoules ?? row.energyJoules);
    }
    // Before it was first seen the job had no share of anything.
    this.shares.record(0, startMs, new Map(devices.map((d) => [d.id, 0])));
  }

  /**
   * open creates the job's run, or continues it when an earlier session of the agent left it running (the agent
   * restarted while the job ran). A run id taken by something else — a `wattprint run` inside the job that uses
   * the same slurm-<id>, an earlier job of the same name that ended — gets a suffix: slurm-4242.1.
   */
  static open(id: string, kind: string, settings: JobAccountSettings, startMs: number, taken: ReadonlySet<string> = new Set()): JobAccount {
    const { store, hostname, nodeRun } = settings;
    const runSettings = {
      pue: settings.pue.value, pueSource: settings.pue.source, zone: settings.zone, intensitySource: settings.intensity.name,
      market: settings.market, labels: { ...settings.labels, job: id, node_run: nodeRun.runId },
    };
    for (let n = 0; ; n++) {
      const runId = n === 0 ? id : `${id}.${n}`;
      const existing = store.findRun(runId);
      if (taken.has(runId) || (existing && !resumable(existing, id, hostname))) continue;
      if (existing) {
        store.reopenRun(existing.runKey, runSettings);
      } else {
        store.createRun({ runId, hostname, startedAtMs: startMs, ...runSettings, command: `${kind} job, agent run ${nodeRun.runId}` });
      }
      const run = store.findRun(runId)!;
      store.claimRun(run.runKey, hostname, process.pid);
      return new JobAccount(id, settings, run, startMs, existing !== undefined);
    }
  }

  /** recordShares keeps the job's share of each device over one tick [startMs, endMs]. */
  recordShares(startMs: number, endMs: number, shares: ReadonlyMap<string, number>): void {
    this.shares.record(startMs, endMs, shares);
  }

  /**
   * charge books the job's part of one integrated span of a device's whole energy and returns it (joules):
   * the time-weighted share of the ticks it spans × its energy. Spans wholly before the job began or after it
   * ended are skipped (they are not its node figures either).
   */
  charge(c: Contribution): number {
    if (c.endMs <= this.startMs || (this.endedAtMs !== undefined && c.startMs >= this.endedAtMs) || !this.devKeys.has(c.deviceId)) return 0;
    const share = this.shares.shareOver(c.deviceId, c.startMs, c.endMs) ?? 0;
    const jobJoules = c.energyJoules * share;
    this.nodeJoules.set(c.deviceId, this.nodeJoules.get(c.deviceId)! + c.energyJoules);
    // The ledger books it as its own: device total, minutes, accounting periods (PUE, CO2e).
    if (jobJoules > 0) this.ledger.creditSpan({ deviceId: c.deviceId, startMs: c.startMs, endMs: c.endMs, energyJoules: jobJoules });
    return jobJoules;
  }

  /** begin saves the account before a tick's charges, so a tick the database refuses can be rolled back. */
  begin(): void {
    this.checkpoint = { ledger: this.ledger.checkpoint(), nodeJoules: new Map(this.nodeJoules), notesKey: this.notesKey };
  }

  /** tickWrite turns what was charged since the last tick into the job run's rows (with any write still held). */
  tickWrite(wallMs: number, notes: readonly string[]): TickWrite {
    const batch = this.ledger.takeBatch();
    const key = (id: string) => this.devKeys.get(id)!;
    const attribution: RunAttribution = {
      scope: 'cgroup', policy: this.settings.policy,
      notes: [`charged by the node agent (run ${this.settings.nodeRun.runId}): its cgroup's share of each device, tick by tick`,
        // Notes about other jobs (one whose cgroup is unreadable) are the node's business, not this job's.
        ...notes.filter((n) => !/\bjob (\S+):/.test(n) || n.includes(`job ${this.id}:`))],
    };
    const notesKey = JSON.stringify(attribution);
    const write: TickWrite = {
      runKey: this.run.runKey, wallMs, periods: batch.periods,
      minutes: batch.minutes.map((m) => ({ devKey: key(m.deviceId), minute: m.minuteStartMs / MINUTE_MS, energyJoules: m.energyJoules })),
      devices: [...this.devKeys].map(([id, devKey]) => ({
        devKey, energyJoules: this.ledger.account(id)!.energyJoules, nodeEnergyJoules: this.nodeJoules.get(id)!, samples: 0,
      })),
      co2eLocationGrams: this.ledger.totals.co2eLocationGrams, co2eMarketGrams: this.ledger.totals.co2eMarketGrams,
      ...(notesKey !== this.notesKey ? { attribution } : {}),
    };
    this.notesKey = notesKey;
    this.inFlight = this.pending ? mergeTickWrites(this.pending, write) : write;
    return this.inFlight;
  }

  /** settle: the tick's write was committed, is held for the next commit, or was rolled back with the node's. */
  settle(outcome: 'committed' | 'held' | 'rolled-back'): void {
    if (outcome === 'committed') this.pending = undefined;
    else if (outcome === 'held') this.pending = this.inFlight;
    else if (this.checkpoint) {
      this.ledger.rollback(this.checkpoint.ledger);
      for (const [id, j] of this.checkpoint.nodeJoules) this.nodeJoules.set(id, j);
      this.notesKey = this.checkpoint.notesKey;
    }
    this.inFlight = undefined;
    this.checkpoint = undefined;
  }

  /** close ends the job's run in the database at the time it was last seen; false when the database refused. */
  close(store: Store): boolean {
    if (this.closed || this.endedAtMs === undefined || this.pending) return this.closed;
    try {
      store.endRun(this.run.runKey, Math.max(this.endedAtMs, this.run.startedAtMs));
      this.closed = true;
    } catch {
      // Retried with the next tick.
    }
    return this.closed;
  }

  /** snapshot is the job's live figures for /metrics. */
  snapshot(): JobSnapshot {
    return {
      id: this.run.runId, status: this.endedAtMs === undefined ? 'running' : 'ended',
      devices: this.settings.devices.map((d) => ({ id: d.id, kind: d.kind, energyJoules: this.ledger.account(d.id)!.energyJoules })),
      co2eGrams: { location: this.ledger.totals.co2eLocationGrams, market: this.ledger.totals.co2eMarketGrams },
    };
  }
}

/** resumable: a stored run this job may continue — one of the node agent's job runs for it, left running by a session that is gone. */
function resumable(run: RunRow, jobId: string, hostname: string): boolean {
  if (run.labels.job !== jobId || run.status !== 'running' || run.hostname !== hostname) return false;
  try {
    assertNotTrackedElsewhere(run, hostname);
    return true;
  } catch (err) {
    if (err instanceof RunBusyError) return false;
    throw err;
  }
}
