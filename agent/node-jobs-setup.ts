import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { detectCgroupLayout } from '../collectors/lib/cgroup-reader.js';
import { NodeAttributor } from '../collectors/lib/node-attributor.js';
import type { Collector, CollectorContext } from '../collectors/types.js';
import { gpuProcessesOf } from './attribution.js';
import { UsageError } from './errors.js';
import { NodeJobs } from './node-jobs.js';
import type { TrackingFlags } from './session.js';

/** NodeJobFlags are `agent`'s options for charging the node's jobs. */
export interface NodeJobFlags extends TrackingFlags {
  /** auto: on when the cgroup tree holds SLURM or Kubernetes jobs, or --scope is given; on; off. */
  attributeJobs?: 'auto' | 'on' | 'off';
  /** systemd scopes to treat as jobs (unit names or paths under the cgroup root). */
  scope?: string[];
  /** Seconds a finished job's series stay in /metrics. */
  jobSeriesGrace?: number;
}

/** DEFAULT_JOB_SERIES_GRACE_SECONDS is long enough for a final scrape at Prometheus's slowest usual interval. */
export const DEFAULT_JOB_SERIES_GRACE_SECONDS = 300;

/**
 * hasJobHierarchy says whether the cgroup tree is a scheduler's: SLURM (v2 system.slice/slurmstepd.scope, v1
 * <cpuacct>/slurm) or Kubernetes (kubepods.slice with the systemd driver, kubepods with cgroupfs).
 */
export function hasJobHierarchy(cgroupRoot: string): boolean {
  const layout = detectCgroupLayout(cgroupRoot);
  const v2 = layout.v2Root ? ['system.slice/slurmstepd.scope', 'kubepods.slice', 'kubepods'].map((p) => join(layout.v2Root!, p)) : [];
  const v1 = layout.cpuV1Root ? ['slurm', 'kubepods.slice', 'kubepods'].map((p) => join(layout.cpuV1Root!, p)) : [];
  return [...v2, ...v1].some((dir) => existsSync(dir));
}

/**
 * nodeJobsFor builds the agent's per-job accounts, or nothing when job attribution is off (--attribute-jobs off,
 * or auto on a node with no scheduler's cgroups and no --scope). With `on`, a node whose totals cannot be read
 * is a usage error; with `auto`, one line and the agent goes on without jobs.
 */
export function nodeJobsFor(flags: NodeJobFlags, collectors: Collector[], ctx: CollectorContext): NodeJobs | undefined {
  const mode = flags.attributeJobs ?? 'auto';
  const cgroupRoot = flags.cgroupRoot ?? '/sys/fs/cgroup';
  const scopes = flags.scope ?? [];
  if (mode === 'off' || (mode === 'auto' && scopes.length === 0 && !hasJobHierarchy(cgroupRoot))) return undefined;
  const policy = flags.idleAttribution ?? 'proportional';
  const warn = (line: string): void => { if (!flags.quiet) process.stderr.write(`${line}\n`); };
  let source: NodeAttributor;
  try {
    source = new NodeAttributor({
      policy, devices: collectors.flatMap((c) => c.devices), procfsRoot: ctx.procfsRoot, cgroupRoot, scopes,
      gpuProcesses: gpuProcessesOf(collectors, ctx), warn,
    });
  } catch (err) {
    const why = `cannot read the node's CPU and memory totals under ${ctx.procfsRoot} (${(err as Error).message})`;
    if (mode === 'on') throw new UsageError(`--attribute-jobs: ${why}; pass --procfs with the host's /proc, or --attribute-jobs off`);
    process.stderr.write(`wattprint: jobs are not attributed: ${why}\n`);
    return undefined;
  }
  return new NodeJobs({ source, policy, graceSeconds: flags.jobSeriesGrace ?? DEFAULT_JOB_SERIES_GRACE_SECONDS, warn });
}
