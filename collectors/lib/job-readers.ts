/**
 * A job's use per tick, read from its process tree or from its cgroup, behind one small interface so the
 * attributor can fall from one to the other.
 */
import { counterDelta } from '../../src/attribution/shares.js';
import { CgroupCounters, type JobCgroup } from './cgroup-reader.js';
import { cpuCgroupPath, parseProcCgroup } from './proc-pid.js';
import type { ProcSource } from './proc-source.js';
import { ProcessTree, type ProcessTreeOptions } from './process-tree.js';

/** JobUse is one tick of a job. */
export interface JobUse {
  /** CPU seconds since the previous read; undefined on the first read (baseline) or a counter that went back. */
  cpuSeconds: number | undefined;
  /** Memory held now, bytes (tree: RSS; cgroup: working set). */
  memoryBytes: number;
}

/** JobReader reads one job; read() throws when its source has become unreadable. */
export interface JobReader {
  readonly kind: 'process-tree' | 'cgroup';
  read(): JobUse;
  /** owns says whether pid is the job's (as of the last read). */
  owns(pid: number): boolean;
  close(): void;
}

/** TreeJobReader reads a ProcessTree. */
export class TreeJobReader implements JobReader {
  readonly kind = 'process-tree' as const;
  readonly tree: ProcessTree;
  private first = true;

  constructor(source: ProcSource, options: ProcessTreeOptions, private readonly clockTicksPerSecond = 100) {
    this.tree = new ProcessTree(source, options);
  }

  read(): JobUse {
    const s = this.tree.sample();
    const cpuSeconds = this.first ? undefined : s.cpuTicks / this.clockTicksPerSecond;
    this.first = false;
    return { cpuSeconds, memoryBytes: s.rssBytes };
  }

  owns(pid: number): boolean {
    return this.tree.isMember(pid);
  }

  close(): void {}
}

/**
 * pidInCgroup says whether a process's /proc/PID/cgroup puts it in (or below) one of the paths; undefined
 * when the process cannot be read (gone, or a pid from another pid namespace).
 */
export function pidInCgroup(source: ProcSource, pid: number, procPaths: readonly string[]): boolean | undefined {
  const mine = cgroupPathsOfPid(source, pid);
  return mine === undefined ? undefined : inCgroup(mine, procPaths);
}

/** cgroupPathsOfPid is a process's v2 and v1 cpu cgroup paths from /proc/PID/cgroup; undefined when unreadable. */
export function cgroupPathsOfPid(source: ProcSource, pid: number): string[] | undefined {
  const text = source.readCgroup(pid);
  if (text === undefined) return undefined;
  const cg = parseProcCgroup(text);
  return [cg.unified, cpuCgroupPath(cg)].filter((p): p is string => p !== undefined);
}

/** inCgroup says whether any of a process's cgroup paths is one of the job's paths or below it. */
export function inCgroup(paths: readonly string[], procPaths: readonly string[]): boolean {
  return paths.some((p) => procPaths.some((job) => p === job || p.startsWith(job + '/')));
}

/** CgroupJobReader reads a job's cgroup counters; pids are matched through /proc/PID/cgroup. */
export class CgroupJobReader implements JobReader {
  readonly kind = 'cgroup' as const;
  private readonly counters: CgroupCounters;
  private lastCpuMicros?: number;
  private readonly owned = new Map<number, boolean>();

  constructor(
    readonly job: JobCgroup,
    private readonly source: ProcSource,
    clockTicksPerSecond = 100,
  ) {
    this.counters = new CgroupCounters(job, clockTicksPerSecond);
  }

  read(): JobUse {
    const s = this.counters.read();
    const delta = counterDelta(this.lastCpuMicros, s.cpuMicros);
    this.lastCpuMicros = s.cpuMicros;
    this.owned.clear();
    return { cpuSeconds: delta === undefined ? undefined : delta / 1e6, memoryBytes: s.memoryBytes };
  }

  owns(pid: number): boolean {
    let known = this.owned.get(pid);
    if (known === undefined) {
      known = pidInCgroup(this.source, pid, this.job.procPaths) === true;
      this.owned.set(pid, known);
    }
    return known;
  }

  close(): void {
    this.counters.close();
  }
}
