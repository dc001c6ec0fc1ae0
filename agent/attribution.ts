import { Attributor, type JobScopeSpec } from '../collectors/lib/attributor.js';
import { SmiComputeApps, type GpuProcessSource } from '../collectors/lib/gpu-processes.js';
import type { Collector, CollectorContext } from '../collectors/types.js';
import type { Session, TrackingFlags } from './session.js';

/**
 * jobAttributor measures the share of the node's devices that the job `run` spawned uses (--attribution):
 * its own cgroup when it has one (SLURM job, pod, container) or the named --cgroup, else its process tree;
 * --attribution node charges whole devices. GPU processes come from NVML's process calls, else nvidia-smi.
 */
export function jobAttributor(session: Session, flags: TrackingFlags, rootPid: number): Attributor {
  const mode = flags.attribution ?? 'auto';
  const scope: JobScopeSpec = mode === 'node' ? { kind: 'node' }
    : mode === 'cgroup' ? { kind: 'cgroup', ...(flags.cgroup ? { name: flags.cgroup } : {}), rootPid, reaperPid: process.pid }
      : mode === 'process-tree' ? { kind: 'process-tree', rootPid, reaperPid: process.pid }
        : flags.cgroup ? { kind: 'cgroup', name: flags.cgroup, rootPid, reaperPid: process.pid } : { kind: 'auto', rootPid, reaperPid: process.pid };
  const devices = session.collectors.flatMap((c) => c.devices);
  return new Attributor({
    scope, policy: flags.idleAttribution ?? 'proportional', devices, procfsRoot: session.ctx.procfsRoot,
    cgroupRoot: flags.cgroupRoot ?? '/sys/fs/cgroup', gpuProcesses: gpuProcessesOf(session.collectors, session.ctx),
    warn: (line) => { if (!flags.quiet) process.stderr.write(`wattprint: ${line}\n`); },
  });
}

/** gpuProcessesOf lists the processes on each GPU: NVML's process calls when a collector offers them, else nvidia-smi. */
export function gpuProcessesOf(collectors: Collector[], ctx: CollectorContext): GpuProcessSource | undefined {
  for (const c of collectors) {
    const reader = (c as Collector & { processReader?: () => GpuProcessSource }).processReader;
    if (typeof reader === 'function') return reader.call(c);
  }
  const smi = collectors.find((c) => c.name === 'nvidia-smi');
  return smi ? new SmiComputeApps(ctx.nvidiaSmiPath, smi.devices, ctx.env) : undefined;
}
