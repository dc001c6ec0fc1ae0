/**
 * Attributor: per tick, what share of each device's energy is the job's. It reads the job's scope — its cgroup
 * when it has one, else its process tree — against the node's totals and hands the numbers to the pure share
 * formula (src/attribution/shares.ts). Fallbacks go cgroup → process tree → node, each announced with one line
 * (warn) and kept as a note for the report: never a silent whole-node charge.
 */
import { availableParallelism } from 'node:os';
import type { AttributionScope, AttributionTick, IdleAttribution, UsageSplit } from '../../src/attribution/types.js';
import { carrySplit, splitUsage } from '../../src/attribution/shares.js';
import { gpuBasisNote, gpuUsage, migUsage } from '../../src/attribution/gpu-usage.js';
import type { DeviceInfo } from '../../src/types.js';
import { cgroupPathsOf, detectCgroupLayout, resolveJobCgroup, type CgroupPaths } from './cgroup-reader.js';
import { enclosingJob, findScope } from './cgroup-discovery.js';
import type { GpuProcessSnapshot, GpuProcessSource } from './gpu-processes.js';
import { CgroupJobReader, TreeJobReader, type JobReader } from './job-readers.js';
import { ProcNodeUsage, type NodeSample, type NodeUsageSource } from './node-usage.js';
import { parseProcCgroup } from './proc-pid.js';
import { ProcfsSource, type ProcSource } from './proc-source.js';

/**
 * JobScopeSpec says what the job is. 'auto': the root's own job cgroup (SLURM job, Kubernetes pod, container)
 * when it is in one, else its process tree. 'cgroup': a named cgroup ('train.scope', 'system.slice/x.scope')
 * or explicit paths. 'node': the whole node (today's behaviour, --attribution node).
 */
export type JobScopeSpec =
  | { kind: 'auto'; rootPid: number; reaperPid?: number }
  | { kind: 'process-tree'; rootPid: number; reaperPid?: number }
  | { kind: 'cgroup'; name?: string; paths?: CgroupPaths; rootPid?: number; reaperPid?: number }
  | { kind: 'node' };

/** AttributorOptions: roots are injectable; nodeUsage and procSource let tests define their own node. */
export interface AttributorOptions {
  scope: JobScopeSpec;
  policy: IdleAttribution;
  devices: readonly DeviceInfo[];
  procfsRoot: string;
  cgroupRoot: string;
  gpuProcesses?: GpuProcessSource;
  /** Called once per fallback with one line for stderr. */
  warn: (line: string) => void;
  nodeUsage?: NodeUsageSource;
  procSource?: ProcSource;
  pageSizeBytes?: number;
  /** USER_HZ of /proc/stat and /proc/PID/stat (default 100). */
  clockTicksPerSecond?: number;
}

const JOB = 'job';

/** Attributor measures one job. Construct it right after the job starts; call tick() once per poller tick. */
export class Attributor {
  private reader?: JobReader;
  private readonly source: ProcSource;
  private readonly node?: NodeUsageSource;
  private readonly hz: number;
  private readonly notes = new Set<string>();
  private readonly previous = new Map<string, UsageSplit>();
  private lastNode?: NodeSample;
  private rootPid?: number;
  private reaperPid?: number;
  scope: AttributionScope = 'node';

  constructor(private readonly options: AttributorOptions) {
    this.hz = options.clockTicksPerSecond ?? 100;
    this.source = options.procSource ?? new ProcfsSource(options.procfsRoot);
    const spec = options.scope;
    if (spec.kind === 'node') {
      this.note('attribution off (--attribution node): every device\'s whole energy is charged to the job');
      return;
    }
    try {
      this.node = options.nodeUsage ?? new ProcNodeUsage(options.procfsRoot);
    } catch (err) {
      this.fallBack(`node totals unreadable (${(err as Error).message})`, 'node');
      return;
    }
    this.rootPid = spec.rootPid;
    this.reaperPid = spec.reaperPid;
    const paths = spec.kind === 'cgroup' ? this.namedCgroup(spec) : spec.kind === 'auto' ? this.rootJobCgroup(spec.rootPid) : undefined;
    if (paths) this.useCgroup(paths);
    else if (spec.kind === 'cgroup') this.fallBack(`cgroup ${spec.name ?? JSON.stringify(spec.paths)} not found`, 'process-tree');
    else this.useTree();
  }

  private namedCgroup(spec: { name?: string; paths?: CgroupPaths }): CgroupPaths | undefined {
    if (spec.paths) return spec.paths;
    const layout = detectCgroupLayout(this.options.cgroupRoot);
    const v2 = findScope(layout.v2Root, spec.name ?? '');
    const v1 = v2 ? undefined : findScope(layout.cpuV1Root, spec.name ?? '');
    return v2 ? { v2 } : v1 ? { cpuV1: v1, memoryV1: v1 } : undefined;
  }

  private rootJobCgroup(rootPid: number): CgroupPaths | undefined {
    const text = this.source.readCgroup(rootPid);
    return text === undefined ? undefined : enclosingJob(cgroupPathsOf(parseProcCgroup(text)))?.paths;
  }

  private useCgroup(paths: CgroupPaths): void {
    const job = resolveJobCgroup(detectCgroupLayout(this.options.cgroupRoot), paths);
    try {
      this.reader = new CgroupJobReader(job, this.source, this.hz);
      this.scope = 'cgroup';
    } catch (err) {
      this.fallBack(`cgroup ${paths.v2 ?? paths.cpuV1} unreadable (${(err as Error).message})`, 'process-tree');
    }
  }

  private useTree(): void {
    if (this.rootPid === undefined) {
      this.fallBack('no process to follow', 'node');
      return;
    }
    const reader = new TreeJobReader(this.source, {
      rootPid: this.rootPid, reaperPid: this.reaperPid, cpuCount: availableParallelism(),
      pageSizeBytes: this.options.pageSizeBytes, clockTicksPerSecond: this.hz,
    }, this.hz);
    const probe = reader.tree.probeRoot();
    if (!probe.ok) {
      this.fallBack(`process ${this.rootPid} unreadable (${probe.why})`, 'node');
      return;
    }
    this.reader = reader;
    this.scope = 'process-tree';
  }

  /** fallBack moves one step down (cgroup → process tree → node) with one warning line and a report note. */
  private fallBack(why: string, to: 'process-tree' | 'node'): void {
    this.reader?.close();
    this.reader = undefined;
    if (to === 'process-tree' && this.rootPid !== undefined) {
      this.announce(`attribution: ${why}; measuring the process tree of pid ${this.rootPid} instead`);
      this.useTree();
      return;
    }
    this.scope = 'node';
    this.announce(`attribution: ${why}; charging the job every device's whole energy`);
  }

  private announce(note: string): void {
    if (this.notes.has(note)) return;
    this.note(note);
    this.options.warn(`wattprint: ${note}`);
  }

  private note(text: string): void {
    this.notes.add(text);
  }

  /** tick reads the scope and the node once and returns each device's share for the interval since the last tick. */
  tick(): AttributionTick {
    const { policy, devices } = this.options;
    if (this.scope === 'node' || !this.reader || !this.node) return this.wholeNode();
    let node: NodeSample;
    try {
      node = this.node.read();
    } catch (err) {
      this.fallBack(`node totals unreadable (${(err as Error).message})`, 'node');
      return this.wholeNode();
    }
    let use;
    try {
      use = this.reader.read();
    } catch (err) {
      // The cgroup went away or became unreadable mid-run: the tree's first read is its baseline, so this
      // tick's CPU share is the previous one carried over.
      this.fallBack(`${this.scope} read failed (${(err as Error).message})`, this.scope === 'cgroup' ? 'process-tree' : 'node');
      if ((this.scope as AttributionScope) === 'node' || !this.reader) return this.wholeNode();
      use = this.reader.read();
    }
    const last = this.lastNode;
    this.lastNode = node;
    const measured = { cpuSeconds: use.cpuSeconds, memoryBytes: use.memoryBytes };
    if (!last) return { scope: this.scope, policy, shares: new Map(), notes: [...this.notes], baseline: true, measured };
    const gpus = this.options.gpuProcesses?.read();
    const shares = new Map<string, number>();
    for (const device of devices) {
      const split = this.splitFor(device, use, node, last, gpus?.get(device.id));
      const carried = split ?? carrySplit(this.previous.get(device.id), new Set([JOB]));
      if (split) this.previous.set(device.id, split);
      shares.set(device.id, carried?.shares.get(JOB) ?? 0);
    }
    return { scope: this.scope, policy, shares, notes: [...this.notes], baseline: false, measured };
  }

  private splitFor(device: DeviceInfo, use: { cpuSeconds?: number; memoryBytes: number }, node: NodeSample, last: NodeSample,
    gpu: GpuProcessSnapshot | undefined): UsageSplit | undefined {
    const policy = this.options.policy;
    switch (device.kind) {
      case 'cpu': {
        if (use.cpuSeconds === undefined) return undefined;
        const activity = (node.busyTicks - last.busyTicks) / this.hz;
        const capacity = (node.totalTicks - last.totalTicks) / this.hz;
        return splitUsage({ consumers: new Map([[JOB, use.cpuSeconds]]), activity, capacity }, policy);
      }
      case 'dram':
        return splitUsage({ consumers: new Map([[JOB, use.memoryBytes]]), activity: node.memUsedBytes, capacity: node.memTotalBytes }, policy);
      case 'gpu':
        return this.gpuSplit(device.id, gpu);
      default:
        this.note(`${device.id}: ${device.kind} energy is not attributed; its whole energy is charged to the job`);
        return whole();
    }
  }

  /**
   * gpuSplit: no process list → the whole GPU (noted); no process on it → the job was given it and nobody else
   * uses it: all of it under proportional, nothing under none; processes from another pid namespace → whole
   * GPU (noted); otherwise split by SM time (or MIG instance).
   */
  private gpuSplit(id: string, gpu: GpuProcessSnapshot | undefined): UsageSplit | undefined {
    const policy = this.options.policy;
    if (!gpu) {
      this.announce(`${id}: per-process GPU use unreadable; its whole energy is charged to the job`);
      return whole();
    }
    if (gpu.processes.length === 0) return policy === 'proportional' ? whole() : { shares: new Map([[JOB, 0]]), unattributed: 1 };
    if (!gpu.processes.some((p) => this.source.readCgroup(p.pid) !== undefined)) {
      this.announce(`${id}: its processes are not visible in this pid namespace; its whole energy is charged to the job`);
      return whole();
    }
    const ownerOf = (pid: number): string | undefined => (this.reader?.owns(pid) ? JOB : undefined);
    const usage = gpu.mig ? migUsage(gpu.processes, ownerOf, gpu.instanceSlices) : gpuUsage(gpu.processes, ownerOf);
    const note = gpuBasisNote(id, usage.basis, policy);
    if (note) this.note(note);
    return splitUsage(usage.usage, policy);
  }

  private wholeNode(): AttributionTick {
    const shares = new Map(this.options.devices.map((d) => [d.id, 1]));
    return { scope: 'node', policy: this.options.policy, shares, notes: [...this.notes], baseline: false };
  }

  /** memberPids lists the job's processes now (process-tree scope; empty otherwise), for doctor and tests. */
  memberPids(): number[] {
    return this.reader instanceof TreeJobReader ? this.reader.tree.memberPids() : [];
  }

  close(): void {
    this.reader?.close();
    this.node?.close();
    if (!this.options.procSource) this.source.close();
  }
}

function whole(): UsageSplit {
  return { shares: new Map([[JOB, 1]]), unattributed: 0 };
}
