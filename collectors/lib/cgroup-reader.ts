/**
 * Cgroup counters of one job: CPU time and memory, from v2 (cpu.stat usage_usec, memory.current) or v1
 * (cpuacct.usage in ns, else cpuacct.stat ticks; memory.usage_in_bytes), each controller resolved on its own
 * so a hybrid host (cpu on v1, the rest on v2) works. Files are kept open and re-read with pread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PreadFile } from './sysfs.js';
import {
  parseCpuacctStatTicks, parseCpuStatUsageMicros, parseSingleInteger, workingSetBytes, type CgroupVersion,
} from './cgroup-files.js';
import type { ProcCgroup } from './proc-pid.js';

/** CgroupLayout is where each hierarchy is mounted under the cgroup root (default /sys/fs/cgroup). */
export interface CgroupLayout {
  root: string;
  /** The unified (v2) hierarchy: the root itself on a v2 host, <root>/unified on a hybrid one. */
  v2Root?: string;
  /** The v1 hierarchy holding cpuacct (cpuacct, cpu,cpuacct or cpuacct,cpu). */
  cpuV1Root?: string;
  /** The v1 memory hierarchy. */
  memoryV1Root?: string;
}


/** detectCgroupLayout looks at the cgroup root once and finds each hierarchy. */
export function detectCgroupLayout(root: string): CgroupLayout {
  const layout: CgroupLayout = { root };
  if (existsSync(join(root, 'cgroup.controllers'))) layout.v2Root = root;
  else if (existsSync(join(root, 'unified', 'cgroup.controllers'))) layout.v2Root = join(root, 'unified');
  layout.cpuV1Root = ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu'].map((d) => join(root, d)).find((d) => existsSync(d));
  if (existsSync(join(root, 'memory'))) layout.memoryV1Root = join(root, 'memory');
  return layout;
}

/** CgroupTarget is one controller's directory for a job and its hierarchy version. */
export interface CgroupTarget {
  version: CgroupVersion;
  dir: string;
}

/** JobCgroup is where a job's CPU and memory counters live, and the paths /proc/PID/cgroup shows for it. */
export interface JobCgroup {
  cpu?: CgroupTarget;
  memory?: CgroupTarget;
  /** The job's cgroup paths as /proc/PID/cgroup prints them (v2 path, v1 cpuacct path): for pid → job. */
  procPaths: string[];
}

/** CgroupPaths names a job's cgroup per hierarchy, as /proc/PID/cgroup prints paths ('/slurm/uid_1/job_2'). */
export interface CgroupPaths {
  v2?: string;
  cpuV1?: string;
  memoryV1?: string;
}

/** cgroupPathsOf takes a process's /proc/PID/cgroup as the job's cgroup paths. */
export function cgroupPathsOf(cg: ProcCgroup): CgroupPaths {
  return { v2: cg.unified, cpuV1: cg.controllers.get('cpuacct') ?? cg.controllers.get('cpu'), memoryV1: cg.controllers.get('memory') };
}

/**
 * resolveJobCgroup finds each controller's directory: v2 wherever its interface file exists (cpu.stat,
 * memory.current), else v1. A path with '..' (read inside a cgroup namespace) cannot be resolved here.
 */
export function resolveJobCgroup(layout: CgroupLayout, paths: CgroupPaths): JobCgroup {
  const under = (root: string | undefined, rel: string | undefined): string | undefined =>
    root === undefined || rel === undefined || rel.split('/').includes('..') ? undefined : join(root, rel);
  const v2 = under(layout.v2Root, paths.v2);
  const cpuV1 = under(layout.cpuV1Root, paths.cpuV1);
  const memV1 = under(layout.memoryV1Root, paths.memoryV1);
  const job: JobCgroup = { procPaths: [paths.v2, paths.cpuV1].filter((p): p is string => p !== undefined && p !== '/') };
  if (v2 && existsSync(join(v2, 'cpu.stat')) && !cpuV1Bound(cpuV1)) job.cpu = { version: 2, dir: v2 };
  else if (cpuV1 && existsSync(cpuV1)) job.cpu = { version: 1, dir: cpuV1 };
  if (v2 && existsSync(join(v2, 'memory.current'))) job.memory = { version: 2, dir: v2 };
  else if (memV1 && existsSync(memV1)) job.memory = { version: 1, dir: memV1 };
  return job;
}

// On a hybrid host the unified cpu.stat of a group whose cpu controller is on v1 still counts usage_usec,
// but only when the group has processes; the v1 cpuacct group is the one the job was placed in.
function cpuV1Bound(cpuV1: string | undefined): boolean {
  return cpuV1 !== undefined && existsSync(join(cpuV1, 'cpuacct.usage'));
}

/** CgroupSample is one read of a job's cgroup: cumulative CPU µs and current memory bytes. */
export interface CgroupSample {
  cpuMicros: number;
  /** Working set: usage minus inactive file cache (workingSetBytes). */
  memoryBytes: number;
}

/**
 * CgroupCounters keeps a job's counter files open. The constructor throws (ENOENT, EACCES) when a counter it
 * needs cannot be opened, and read() throws when one cannot be read or parsed: the caller falls back.
 */
export class CgroupCounters {
  private readonly files: PreadFile[] = [];
  private readonly cpuFile: PreadFile;
  private readonly cpuKind: 'v2' | 'usage' | 'stat';
  private readonly memFile: PreadFile;
  private readonly memStat?: PreadFile;
  private readonly memVersion: CgroupVersion;

  constructor(job: JobCgroup, private readonly clockTicksPerSecond = 100) {
    if (!job.cpu) throw new Error('no cpu.stat (v2) or cpuacct group (v1) for this cgroup');
    if (!job.memory) throw new Error('no memory.current (v2) or memory group (v1) for this cgroup');
    try {
      if (job.cpu.version === 2) {
        this.cpuFile = this.open(join(job.cpu.dir, 'cpu.stat'), 1024);
        this.cpuKind = 'v2';
      } else if (existsSync(join(job.cpu.dir, 'cpuacct.usage'))) {
        this.cpuFile = this.open(join(job.cpu.dir, 'cpuacct.usage'), 64);
        this.cpuKind = 'usage';
      } else {
        this.cpuFile = this.open(join(job.cpu.dir, 'cpuacct.stat'), 256);
        this.cpuKind = 'stat';
      }
      this.memVersion = job.memory.version;
      this.memFile = this.open(join(job.memory.dir, job.memory.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'), 64);
      // memory.stat is optional: without it the working set is the whole usage.
      try {
        this.memStat = this.open(join(job.memory.dir, 'memory.stat'), 16_384);
      } catch {
        this.memStat = undefined;
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private open(path: string, bytes: number): PreadFile {
    const file = new PreadFile(path, { bufferBytes: bytes });
    this.files.push(file);
    return file;
  }

  /** read returns the cumulative CPU time (µs) and the working set (bytes); throws one line naming the file. */
  read(): CgroupSample {
    const text = readOrThrow(this.cpuFile);
    let cpuMicros: number;
    try {
      cpuMicros =
        this.cpuKind === 'v2' ? parseCpuStatUsageMicros(text)
        : this.cpuKind === 'usage' ? parseSingleInteger(text, 'cpuacct.usage') / 1000
        : (parseCpuacctStatTicks(text) * 1_000_000) / this.clockTicksPerSecond;
    } catch (cause) {
      throw new Error(`parse ${this.cpuFile.path}: ${(cause as Error).message}`, { cause });
    }
    const memText = readOrThrow(this.memFile);
    let usage: number;
    try {
      usage = parseSingleInteger(memText, 'memory usage');
    } catch (cause) {
      throw new Error(`parse ${this.memFile.path}: ${(cause as Error).message}`, { cause });
    }
    // memory.stat is optional: if it cannot be read this tick, the working set is the whole usage.
    let stat: string | undefined;
    try {
      stat = this.memStat?.readText();
    } catch {
      stat = undefined;
    }
    return { cpuMicros, memoryBytes: workingSetBytes(usage, stat, this.memVersion) };
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

/** readOrThrow reads a kept file; a failure (EISDIR, ENODEV after the cgroup was removed) names the file and the code. */
function readOrThrow(file: PreadFile): string {
  try {
    return file.readText();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new Error(`read ${file.path}: ${code}`, { cause });
  }
}
