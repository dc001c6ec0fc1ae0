/**
 * GPU use per consumer, from the processes on one GPU (NVML or nvidia-smi). The split follows SM utilisation
 * (NVML per-process samples over the tick); when no process had any SM time in the tick, it falls back to GPU
 * memory held, then to one equal part per process. A MIG GPU is split by the instances its processes run on.
 */
import type { DeviceUsage } from './shares.js';
import type { IdleAttribution } from './types.js';

/** GpuProcessUse is one process on one GPU during a tick. */
export interface GpuProcessUse {
  pid: number;
  /** Mean SM (3D/compute) utilisation of this process over the tick, percent 0..100; undefined = no sample. */
  smUtilPercent?: number;
  /** GPU memory the process holds, bytes; undefined where the driver does not say (WDDM). */
  usedMemoryBytes?: number;
  /** MIG GPU instance the process runs on (NVML gpuInstanceId); undefined without MIG. */
  gpuInstanceId?: number;
}

/** GpuUsageBasis is what the split was weighted by: it goes into the report's notes. */
export type GpuUsageBasis = 'sm' | 'memory' | 'count' | 'mig-slices';

/** GpuUsage is a DeviceUsage plus the weight it used. */
export interface GpuUsage {
  usage: DeviceUsage;
  basis: GpuUsageBasis;
}

/**
 * OwnerOf maps a pid to its consumer id (a job), or undefined for a process that belongs to no consumer;
 * those still count in the GPU's activity, so their part goes to unattributed.
 */
export type OwnerOf = (pid: number) => string | undefined;

const positive = (v: number | undefined): number => (v !== undefined && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * gpuUsage weighs a non-MIG GPU's processes. Basis 'sm': activity = Σ SM % of all processes and capacity =
 * max(100, Σ SM %) (processes sharing the GPU through MPS can add up past 100). Without SM time in the tick
 * the weights are memory (or one per process) and capacity equals activity: policy none cannot tell the
 * dynamic part then and behaves like proportional (gpuBasisNote says so).
 */
export function gpuUsage(processes: readonly GpuProcessUse[], ownerOf: OwnerOf): GpuUsage {
  const sm = processes.reduce((s, p) => s + positive(p.smUtilPercent), 0);
  const memory = processes.reduce((s, p) => s + positive(p.usedMemoryBytes), 0);
  const basis: GpuUsageBasis = sm > 0 ? 'sm' : memory > 0 ? 'memory' : 'count';
  const weight = (p: GpuProcessUse): number =>
    basis === 'sm' ? positive(p.smUtilPercent) : basis === 'memory' ? positive(p.usedMemoryBytes) : 1;
  const consumers = new Map<string, number>();
  let activity = 0;
  for (const p of processes) {
    const w = weight(p);
    activity += w;
    const owner = ownerOf(p.pid);
    if (owner !== undefined) consumers.set(owner, (consumers.get(owner) ?? 0) + w);
  }
  const capacity = basis === 'sm' ? Math.max(100, activity) : activity;
  return { usage: { consumers, activity, capacity }, basis };
}

/** MIG_COMPUTE_SLICES is the compute slices of a whole A100/H100/H200 in MIG mode (7g = the full GPU). */
export const MIG_COMPUTE_SLICES = 7;

/**
 * migUsage splits a MIG GPU (per-process SM samples do not exist in MIG mode) by instance: each occupied GPU
 * instance weighs its compute slices (instanceSlices; 1 each when unknown), shared among the consumers of its
 * processes by memory held (equal parts without it). Activity = the occupied instances' slices; capacity =
 * every slice of the GPU (MIG_COMPUTE_SLICES unless the sizes of all instances are known and larger).
 */
export function migUsage(
  processes: readonly GpuProcessUse[],
  ownerOf: OwnerOf,
  instanceSlices?: ReadonlyMap<number, number>,
  totalSlices = MIG_COMPUTE_SLICES,
): GpuUsage {
  const byInstance = new Map<number, GpuProcessUse[]>();
  for (const p of processes) {
    const gi = p.gpuInstanceId ?? -1;
    const list = byInstance.get(gi) ?? [];
    list.push(p);
    byInstance.set(gi, list);
  }
  const consumers = new Map<string, number>();
  let activity = 0;
  for (const [gi, list] of byInstance) {
    const slices = positive(instanceSlices?.get(gi)) || 1;
    activity += slices;
    const memory = list.reduce((s, p) => s + positive(p.usedMemoryBytes), 0);
    for (const p of list) {
      const owner = ownerOf(p.pid);
      if (owner === undefined) continue;
      const part = memory > 0 ? positive(p.usedMemoryBytes) / memory : 1 / list.length;
      consumers.set(owner, (consumers.get(owner) ?? 0) + slices * part);
    }
  }
  return { usage: { consumers, activity, capacity: Math.max(totalSlices, activity) }, basis: 'mig-slices' };
}

/** gpuBasisNote is the report note for a split that was not by SM time, or undefined for 'sm'. */
export function gpuBasisNote(deviceId: string, basis: GpuUsageBasis, policy: IdleAttribution): string | undefined {
  switch (basis) {
    case 'sm':
      return undefined;
    case 'memory':
    case 'count': {
      const by = basis === 'memory' ? 'GPU memory held' : 'process count';
      const none = policy === 'none' ? '; --idle-attribution none cannot separate idle power without SM samples, so it splits the whole power here' : '';
      return `${deviceId}: no per-process SM utilisation in some ticks, shared by ${by}${none}`;
    }
    case 'mig-slices':
      return `${deviceId}: MIG enabled, energy is the whole physical GPU's: shared by the compute slices of the GPU instances each job's processes run on`;
  }
}
