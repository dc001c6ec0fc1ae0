/**
 * NodeAttributor: `agent` on a shared node. Each tick it discovers every job in the cgroup tree (SLURM jobs,
 * Kubernetes pods, systemd scopes named on the command line), reads their counters and splits each device among
 * them; what no job used is `unattributed`, so for every device Σ jobs + unattributed = 1.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IdleAttribution, UsageSplit } from '../../src/attribution/types.js';
import { carrySplit, counterDelta, splitUsage } from '../../src/attribution/shares.js';
import { gpuBasisNote, gpuUsage, migUsage } from '../../src/attribution/gpu-usage.js';
import type { DeviceInfo } from '../../src/types.js';
import { detectCgroupLayout, resolveJobCgroup, CgroupCounters, type CgroupLayout, type CgroupPaths } from './cgroup-reader.js';
import { discoverPods, discoverSlurm, findScope, scopeJobId, type DiscoveredJob, type JobKind } from './cgroup-discovery.js';
import type { GpuProcessSnapshot, GpuProcessSource } from './gpu-processes.js';
import { cgroupPathsOfPid, inCgroup } from './job-readers.js';
import { ProcNodeUsage, type NodeSample, type NodeUsageSource } from './node-usage.js';
import { ProcfsSource, type ProcSource } from './proc-source.js';

/** SCOPE_SEARCH_TICKS is how many ticks a named scope that was not found waits before the tree is searched again. */
const SCOPE_SEARCH_TICKS = 10;

/** NodeAttributorOptions: which job kinds to look for, and the injectable roots. */
export interface NodeAttributorOptions {
  policy: IdleAttribution;
  devices: readonly DeviceInfo[];
  procfsRoot: string;
  cgroupRoot: string;
  /** systemd scopes to treat as jobs: unit names ('train.scope') or paths under the cgroup root. */
  scopes?: readonly string[];
  /** Look for SLURM jobs and Kubernetes pods (default true for both). */
  slurm?: boolean;
  pods?: boolean;
  gpuProcesses?: GpuProcessSource;
  warn: (line: string) => void;
  nodeUsage?: NodeUsageSource;
  procSource?: ProcSource;
  clockTicksPerSecond?: number;
}

/** NodeJobShares is one job's shares this tick. */
export interface NodeJobShares {
  id: string;
  kind: JobKind;
  /** Device id → share of that device's energy in the tick, in [0, 1]. */
  shares: Map<string, number>;
}

/** NodeAttributionTick is one tick on a shared node. Per device: Σ jobs' shares + unattributed = 1. */
export interface NodeAttributionTick {
  policy: IdleAttribution;
  jobs: Map<string, NodeJobShares>;
  unattributed: Map<string, number>;
  /** Jobs first seen this tick, and jobs gone since the previous one. */
  started: string[];
  ended: string[];
  notes: string[];
  baseline: boolean;
}

interface JobState {
  job: DiscoveredJob;
  counters: CgroupCounters;
  procPaths: string[];
  lastCpuMicros?: number;
}

/** NodeAttributor keeps each job's counter files open while the job exists. */
export class NodeAttributor {
  private readonly layout: CgroupLayout;
  private readonly node: NodeUsageSource;
  private readonly source: ProcSource;
  private readonly hz: number;
  private readonly jobs = new Map<string, JobState>();
  private readonly unreadable = new Set<string>();
  private readonly notes = new Set<string>();
  private readonly previous = new Map<string, UsageSplit>();
  private lastNode?: NodeSample;
  private readonly scopes = new Map<string, { paths?: CgroupPaths; wait: number }>();

  constructor(private readonly options: NodeAttributorOptions) {
    this.layout = detectCgroupLayout(options.cgroupRoot);
    this.node = options.nodeUsage ?? new ProcNodeUsage(options.procfsRoot);
    this.source = options.procSource ?? new ProcfsSource(options.procfsRoot);
    this.hz = options.clockTicksPerSecond ?? 100;
  }

  /** discover lists the jobs present now (SLURM, pods, named scopes). */
  discover(): DiscoveredJob[] {
    const { slurm = true, pods = true, scopes = [] } = this.options;
    const found: DiscoveredJob[] = [];
    if (slurm) found.push(...discoverSlurm(this.layout));
    if (pods) found.push(...discoverPods(this.layout));
    for (const name of scopes) {
      const paths = this.scopePaths(name);
      if (paths) found.push({ id: scopeJobId(name), kind: 'scope', paths });
    }
    return found;
  }

  /**
   * scopePaths finds a named scope: where it was last found if it is still there, else by a search of the tree,
   * which runs at most every SCOPE_SEARCH_TICKS ticks for a scope not found (a search walks every cgroup).
   */
  private scopePaths(name: string): CgroupPaths | undefined {
    const known = this.scopes.get(name);
    if (known?.paths) {
      const dir = known.paths.v2 !== undefined ? join(this.layout.v2Root!, known.paths.v2) : join(this.layout.cpuV1Root!, known.paths.cpuV1!);
      if (existsSync(dir)) return known.paths;
    }
    if (known && !known.paths && known.wait-- > 0) return undefined;
    const v2 = findScope(this.layout.v2Root, name);
    const v1 = v2 ? undefined : findScope(this.layout.cpuV1Root, name);
    const paths = v2 ? { v2 } : v1 ? { cpuV1: v1, memoryV1: v1 } : undefined;
    this.scopes.set(name, { paths, wait: SCOPE_SEARCH_TICKS });
    return paths;
  }

  /** tick discovers the jobs, reads them and the node, and splits every device. */
  tick(): NodeAttributionTick {
    const { started, ended } = this.refreshJobs();
    const node = this.node.read();
    const cpu = new Map<string, number>();
    const memory = new Map<string, number>();
    for (const [id, state] of this.jobs) {
      let sample;
      try {
        sample = state.counters.read();
      } catch (err) {
        this.dropUnreadable(id, state, err);
        continue;
      }
      // A job first seen after the first tick was created since the previous one: all its CPU time is new.
      const since = state.lastCpuMicros ?? (this.lastNode ? 0 : undefined);
      const delta = counterDelta(since, sample.cpuMicros);
      state.lastCpuMicros = sample.cpuMicros;
      cpu.set(id, delta === undefined ? 0 : delta / 1e6);
      memory.set(id, sample.memoryBytes);
    }
    const last = this.lastNode;
    this.lastNode = node;
    const tick: NodeAttributionTick = {
      policy: this.options.policy, jobs: new Map(), unattributed: new Map(), started, ended, notes: [], baseline: !last,
    };
    for (const job of this.jobs.values()) tick.jobs.set(job.job.id, { id: job.job.id, kind: job.job.kind, shares: new Map() });
    if (!last) {
      tick.notes = [...this.notes];
      return tick;
    }
    const gpus = this.options.gpuProcesses?.read();
    const present = new Set(this.jobs.keys());
    for (const device of this.options.devices) {
      const split = this.splitFor(device, cpu, memory, node, last, gpus?.get(device.id));
      const used = split ?? carrySplit(this.previous.get(device.id), present) ?? { shares: new Map(), unattributed: 1 };
      if (split) this.previous.set(device.id, split);
      for (const [id, share] of used.shares) tick.jobs.get(id)?.shares.set(device.id, share);
      for (const job of tick.jobs.values()) if (!job.shares.has(device.id)) job.shares.set(device.id, 0);
      tick.unattributed.set(device.id, used.unattributed);
    }
    tick.notes = [...this.notes];
    return tick;
  }

  private splitFor(device: DeviceInfo, cpu: Map<string, number>, memory: Map<string, number>, node: NodeSample, last: NodeSample,
    gpu: GpuProcessSnapshot | undefined): UsageSplit | undefined {
    const policy = this.options.policy;
    switch (device.kind) {
      case 'cpu':
        return splitUsage({
          consumers: cpu, activity: (node.busyTicks - last.busyTicks) / this.hz, capacity: (node.totalTicks - last.totalTicks) / this.hz,
        }, policy);
      case 'dram':
        return splitUsage({ consumers: memory, activity: node.memUsedBytes, capacity: node.memTotalBytes }, policy);
      case 'gpu': {
        // No process list, or no process: nobody can be charged; the GPU's energy stays unattributed.
        if (!gpu || gpu.processes.length === 0) return { shares: new Map(), unattributed: 1 };
        const owners = new Map<number, string | undefined>();
        const ownerOf = (pid: number): string | undefined => {
          if (!owners.has(pid)) {
            const paths = cgroupPathsOfPid(this.source, pid);
            owners.set(pid, paths && [...this.jobs.values()].find((j) => inCgroup(paths, j.procPaths))?.job.id);
          }
          return owners.get(pid);
        };
        const usage = gpu.mig ? migUsage(gpu.processes, ownerOf, gpu.instanceSlices) : gpuUsage(gpu.processes, ownerOf);
        const note = gpuBasisNote(device.id, usage.basis, policy);
        if (note) this.notes.add(note);
        return splitUsage(usage.usage, policy);
      }
      default:
        this.notes.add(`${device.id}: ${device.kind} energy is not attributed to jobs; all of it is unattributed`);
        return { shares: new Map(), unattributed: 1 };
    }
  }

  /** refreshJobs opens the counters of new jobs and closes those of jobs gone. */
  private refreshJobs(): { started: string[]; ended: string[] } {
    const found = this.discover();
    const ids = new Set(found.map((j) => j.id));
    for (const id of this.unreadable) if (!ids.has(id)) this.unreadable.delete(id);
    const started: string[] = [];
    const ended: string[] = [];
    for (const [id, state] of this.jobs) {
      if (ids.has(id)) continue;
      state.counters.close();
      this.jobs.delete(id);
      ended.push(id);
    }
    for (const job of found) {
      if (this.jobs.has(job.id) || this.unreadable.has(job.id)) continue;
      const resolved = resolveJobCgroup(this.layout, job.paths);
      try {
        this.jobs.set(job.id, { job, counters: new CgroupCounters(resolved, this.hz), procPaths: resolved.procPaths });
        started.push(job.id);
      } catch (err) {
        this.markUnreadable(job.id, err);
      }
    }
    return { started, ended };
  }

  private dropUnreadable(id: string, state: JobState, err: unknown): void {
    state.counters.close();
    this.jobs.delete(id);
    this.markUnreadable(id, err);
  }

  private markUnreadable(id: string, err: unknown): void {
    this.unreadable.add(id);
    const line = `attribution: job ${id}: cgroup unreadable (${(err as Error).message}); its use counts as unattributed`;
    this.notes.add(line);
    this.options.warn(`wattprint: ${line}`);
  }

  close(): void {
    for (const state of this.jobs.values()) state.counters.close();
    this.jobs.clear();
    this.node.close();
    if (!this.options.procSource) this.source.close();
  }
}
