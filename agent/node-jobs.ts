import type { NodeAttributionTick } from '../collectors/lib/node-attributor.js';
import type { IdleAttribution } from '../src/attribution/types.js';
import type { LedgerBatch } from '../src/ledger/ledger.js';
import type { Snapshot } from '../src/snapshot.js';
import type { RunRow, TickWrite } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { DeviceInfo } from '../src/types.js';
import { JobAccount, type JobAccountSettings } from './job-account.js';
import type { TickParticipant, TrackerOptions } from './tracker.js';
import { processAlive as alive } from './process-alive.js';

/** NodeJobSource is what splits the node's devices between its jobs each tick (collectors/lib/node-attributor.ts). */
export interface NodeJobSource {
  tick(): NodeAttributionTick;
  close(): void;
}

/** NodeJobsOptions: the node attributor, its policy, and how long a finished job's series stay exported. */
export interface NodeJobsOptions {
  source: NodeJobSource;
  policy: IdleAttribution;
  /** A finished job's series leave /metrics this long after its end was noticed (seconds; its run stays in the database). */
  graceSeconds: number;
  warn: (line: string) => void;
}

/**
 * NodeJobs gives every job on a shared node (SLURM job, Kubernetes pod, named scope) its own account and its own
 * run in the agent's database. Each tick it takes the node attributor's shares before the readings are
 * integrated; once the node's ledger has integrated them, it charges each job its share of every span of every
 * device's energy, and the rest is unattributed: per device, Σ jobs + unattributed = the device's energy, exact
 * up to float rounding (unattributed is the remainder). The jobs' rows are committed in the node's transaction.
 */
export class NodeJobs implements TickParticipant {
  private settings?: JobAccountSettings;
  private devices: DeviceInfo[] = [];
  /** Jobs running now, by job id. */
  private readonly running = new Map<string, JobAccount>();
  /** Jobs that ended: kept until their run is closed and the grace period has passed. */
  private ended: JobAccount[] = [];
  private unattributed = new Map<string, number>();
  private unattributedBefore?: Map<string, number>;
  private active: JobAccount[] = [];
  private notes: string[] = [];
  private lastMs?: number;
  private reconciled = false;
  private readonly warned = new Set<string>();
  private zeros: ReadonlyMap<string, number> = new Map();

  constructor(private readonly options: NodeJobsOptions) {}

  bind(run: RunRow, options: TrackerOptions): void {
    this.devices = options.collectors.flatMap((c) => c.devices);
    this.zeros = new Map(this.devices.map((d) => [d.id, 0]));
    this.settings = {
      store: options.store, hostname: options.hostname, nodeRun: run, labels: options.labels, intervalSeconds: options.intervalSeconds,
      pue: options.pue, zone: options.zone, intensity: options.intensity, market: options.market, policy: this.options.policy, devices: this.devices,
    };
    // What no job was charged is kept with the node's run: a resumed run continues it. A run tracked before
    // (without jobs) had all of its energy unattributed.
    const stored = run.attribution?.unattributedJoules;
    this.unattributed = new Map(options.store.devicesOf(run.runKey).map((d) => [d.id, stored?.[d.id] ?? d.nodeEnergyJoules ?? d.energyJoules]));
  }

  measure(wallMs: number): void {
    let tick: NodeAttributionTick;
    try {
      tick = this.options.source.tick();
    } catch (err) {
      // The node's own account must go on: this tick's energy stays unattributed.
      this.warnOnce('tick', `wattprint: job attribution: ${(err as Error).message}; this tick's energy counts as unattributed`);
      this.lastMs = wallMs;
      return;
    }
    const lastMs = this.lastMs;
    this.lastMs = wallMs;
    this.notes = tick.notes;
    this.expire(wallMs);
    if (!this.reconciled) {
      this.reconciled = true;
      this.closeStaleRuns(new Set(tick.jobs.keys()));
    }
    for (const [id, job] of tick.jobs) {
      let account = this.running.get(id);
      if (!account) {
        // A job seen after the first tick was born since the last one: its CPU time since then is its own.
        account = this.open(id, job.kind, tick.baseline || lastMs === undefined ? wallMs : lastMs);
        if (!account) continue;
      }
      account.lastSeenMs = wallMs;
      if (!tick.baseline && lastMs !== undefined) account.recordShares(lastMs, wallMs, job.shares);
    }
    for (const [id, account] of this.running) {
      if (tick.jobs.has(id)) continue;
      // Gone since the last tick: charged nothing from the time it was last seen.
      account.recordShares(account.lastSeenMs, wallMs, this.zeros);
      account.endedAtMs = account.lastSeenMs;
      account.endNoticedMs = wallMs;
      this.running.delete(id);
      this.ended.push(account);
    }
  }

  writes(batch: LedgerBatch, own: TickWrite, wallMs: number): TickWrite[] {
    if (!this.settings) return [];
    this.active = [...this.running.values(), ...this.ended.filter((a) => !a.closed)];
    this.unattributedBefore = new Map(this.unattributed);
    for (const account of this.active) account.begin();
    for (const c of batch.contributions) {
      let charged = 0;
      for (const account of this.active) charged += account.charge(c);
      this.unattributed.set(c.deviceId, (this.unattributed.get(c.deviceId) ?? 0) + (c.energyJoules - charged));
    }
    own.attribution = { scope: 'node', policy: this.options.policy, notes: this.notes, unattributedJoules: Object.fromEntries(this.unattributed) };
    return this.active.map((account) => account.tickWrite(wallMs, this.notes));
  }

  settle(outcome: 'committed' | 'held' | 'rolled-back'): void {
    for (const account of this.active) account.settle(outcome);
    if (outcome === 'rolled-back' && this.unattributedBefore) this.unattributed = this.unattributedBefore;
    this.unattributedBefore = undefined;
    this.active = [];
    if (outcome === 'committed' && this.settings) for (const account of this.ended) account.close(this.settings.store);
  }

  snapshot(snapshot: Snapshot, _wallMs: number): Snapshot {
    if (!this.settings) return snapshot;
    return {
      ...snapshot,
      jobs: [...this.running.values(), ...this.ended].map((a) => a.snapshot()),
      unattributed: this.devices.map((d) => ({ id: d.id, kind: d.kind, energyJoules: this.unattributed.get(d.id) ?? 0 })),
    };
  }

  close(): void {
    // Jobs still running keep their runs open: a restarted agent continues them, or closes those that ended meanwhile.
    this.options.source.close();
  }

  /** jobCount is how many job accounts are held in memory (running, and ended within the grace period). */
  jobCount(): number {
    return this.running.size + this.ended.length;
  }

  private open(id: string, kind: string, startMs: number): JobAccount | undefined {
    const taken = new Set([...this.running.values(), ...this.ended].map((a) => a.run.runId));
    try {
      const account = JobAccount.open(id, kind, this.settings!, startMs, taken);
      this.running.set(id, account);
      return account;
    } catch (err) {
      // A database that refuses the new run (full disk): the job is opened at a later tick.
      this.warnOnce(`open:${id}`, `wattprint: job attribution: cannot open the account of job ${id} (${(err as Error).message}); retrying`);
      return undefined;
    }
  }

  /** expire forgets ended jobs whose run is closed and whose grace period is over: their series leave /metrics. */
  private expire(wallMs: number): void {
    const graceMs = this.options.graceSeconds * 1000;
    this.ended = this.ended.filter((a) => !a.closed || wallMs - (a.endNoticedMs ?? wallMs) < graceMs);
  }

  /**
   * closeStaleRuns ends the job runs an earlier session of the agent left open on this host for jobs that are
   * gone now (they ended while no agent ran), at their last tick. Jobs still here are continued by open().
   */
  private closeStaleRuns(present: ReadonlySet<string>): void {
    const { store, hostname } = this.settings!;
    for (const run of safeList(store)) {
      const job = run.labels.job;
      if (job === undefined || run.labels.node_run === undefined || run.status !== 'running' || run.hostname !== hostname) continue;
      if (present.has(job) || (run.ownerPid !== undefined && run.ownerPid !== process.pid && alive(run.ownerPid))) continue;
      try {
        store.endRun(run.runKey, run.lastTickMs);
      } catch {
        // Left for the next start.
      }
    }
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.warn(line);
  }
}

function safeList(store: Store): RunRow[] {
  try {
    return store.listRuns();
  } catch {
    return [];
  }
}
