import type { DeviceInfo, ReadResult } from '../src/types.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { findCpuTdp } from './lib/cpu-tdp.js';
import { readCpuInventory } from './lib/cpuinfo.js';
import { cpuUtilisation, ProcStatReader, type CpuTicks } from './lib/procfs.js';

/**
 * CPU_IDLE_FRACTION is idle power as a share of full-load power. Cloud Carbon Footprint's SPECpower-derived
 * AWS coefficients average 0.74 W per vCPU at idle and 3.5 W per vCPU at full load
 * (@cloud-carbon-footprint/aws AWS_CLOUD_CONSTANTS MIN_WATTS_AVG / MAX_WATTS_AVG); 0.74 / 3.5 ≈ 0.211.
 * CCF uses the same linear model: min + utilisation × (max − min).
 */
export const CPU_IDLE_FRACTION = 0.74 / 3.5;

/**
 * UNKNOWN_CPU_WATTS_PER_THREAD is the full-load power assumed per hardware thread when the CPU model is
 * not in the table: CCF's average maximum watts per vCPU on AWS (MAX_WATTS_AVG = 3.5 W).
 */
export const UNKNOWN_CPU_WATTS_PER_THREAD = 3.5;

/** CpuInfo is what the model needs about the machine's CPUs (read from procfs and sysfs at probe). */
export interface CpuInfo {
  /** Vendor model string, e.g. 'Intel Xeon® Platinum 8480+'. */
  name: string;
  /** Logical CPUs (hardware threads) this OS sees. */
  threads: number;
  /** Physical cores this OS sees; 0 when unknown. */
  physicalCores: number;
  /** Sockets (CPU packages); at least 1. */
  sockets: number;
  /** Where a figure came from when it was not the usual source (shown in the device's notes). */
  notes?: string[];
}

/** CpuPowerModel is the linear power model for all CPUs this OS sees, in watts. */
export interface CpuPowerModel {
  displayName: string;
  fullLoadWatts: number;
  idleWatts: number;
  notes: string[];
}

/** parseTdpOverrideWatts reads --cpu-tdp / WATTPRINT_CPU_TDP: a positive, finite number of watts, else undefined. */
export function parseTdpOverrideWatts(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = Number(raw.trim());
  return Number.isFinite(v) && v > 0 && v < 100_000 ? v : undefined;
}

/**
 * cpuPowerModel picks the full-load power: --cpu-tdp when given (watts for all CPUs this OS sees), else
 * the table's TDP per socket × the packages present, else UNKNOWN_CPU_WATTS_PER_THREAD × threads.
 * Packages present = physical cores seen / cores per package, capped at the socket count: a VM that sees
 * 8 cores of a 64-core EPYC gets 8/64 of its TDP; a bare 2-socket host gets 2 × TDP.
 */
export function cpuPowerModel(info: CpuInfo, tdpOverrideRaw?: string): CpuPowerModel {
  const notes: string[] = [...(info.notes ?? [])];
  const threads = Math.max(1, info.threads);
  const sockets = Math.max(1, info.sockets);
  const displayName = `${info.name} (${sockets} socket${sockets === 1 ? '' : 's'}, ${threads} threads)`;
  const override = parseTdpOverrideWatts(tdpOverrideRaw);
  if (tdpOverrideRaw !== undefined && tdpOverrideRaw.trim() !== '' && override === undefined) {
    notes.push(`ignoring --cpu-tdp ${JSON.stringify(tdpOverrideRaw)}: not a positive number of watts`);
  }
  let fullLoadWatts: number;
  const row = findCpuTdp(info.name);
  if (override !== undefined) {
    fullLoadWatts = override;
    notes.push(`CPU full-load power ${override} W from --cpu-tdp`);
  } else if (row) {
    const packages =
      info.physicalCores > 0 ? Math.min(sockets, info.physicalCores / row.cores) : Math.min(sockets, threads / row.threads);
    fullLoadWatts = row.tdpWatts * packages;
    notes.push(
      `CPU model ${row.model}: TDP ${row.tdpWatts} W per socket (${row.source}) × ${round3(packages)} package(s) present`,
    );
  } else {
    fullLoadWatts = UNKNOWN_CPU_WATTS_PER_THREAD * threads;
    notes.push(
      `unknown CPU model ${JSON.stringify(info.name)}: ${UNKNOWN_CPU_WATTS_PER_THREAD} W per thread assumed; pass --cpu-tdp W to set it`,
    );
  }
  const idleWatts = fullLoadWatts * CPU_IDLE_FRACTION;
  notes.push(
    `power = idle + (full − idle) × utilisation from /proc/stat; idle = ${round3(CPU_IDLE_FRACTION)} × full (Cloud Carbon Footprint min/max W per vCPU)`,
  );
  return { displayName, fullLoadWatts, idleWatts, notes };
}

/** cpuPowerWatts is the modelled power at a utilisation 0..1, in watts. */
export function cpuPowerWatts(model: CpuPowerModel, utilisation: number): number {
  const u = Math.min(1, Math.max(0, utilisation));
  return model.idleWatts + (model.fullLoadWatts - model.idleWatts) * u;
}

/**
 * createCpuCollector reads <procfsRoot>/stat per tick (one pread) and returns the modelled power over
 * the interval since the previous read. Utilisation carries over when no tick elapsed in between.
 */
export function createCpuCollector(model: CpuPowerModel, procfsRoot: string): Collector {
  const stat = new ProcStatReader(procfsRoot);
  let prev: CpuTicks = stat.read();
  let lastUtilisation = 0;
  const device: DeviceInfo = {
    id: 'cpu',
    kind: 'cpu',
    name: model.displayName,
    method: 'modelled',
    collector: 'cpu',
    notes: model.notes,
  };
  return {
    name: 'cpu',
    devices: [device],
    read(): ReadResult {
      const next = stat.read();
      const u = cpuUtilisation(prev, next);
      if (u !== undefined) lastUtilisation = u;
      // A backwards counter (new boot under a checkpointed agent) restarts the baseline.
      if (u !== undefined || next.totalTicks < prev.totalTicks) prev = next;
      return { readings: [{ deviceId: 'cpu', powerWatts: cpuPowerWatts(model, lastUtilisation) }] };
    },
    close(): void {
      stat.close();
    },
  };
}

/**
 * readSystemCpuInfo reads the CPU inventory from <procfs>/cpuinfo and the <sysfs> CPU topology (once, at
 * probe). Files only: no lscpu, no dmidecode, no shell.
 */
export async function readSystemCpuInfo(procfsRoot: string, sysfsRoot: string): Promise<CpuInfo> {
  return readCpuInventory(procfsRoot, sysfsRoot);
}

/** probeCpu builds the CPU model collector; readInfo is injectable so tests do not depend on the host CPU. */
export async function probeCpu(
  ctx: CollectorContext,
  readInfo: () => Promise<CpuInfo> = () => readSystemCpuInfo(ctx.procfsRoot, ctx.sysfsRoot),
): Promise<ProbeResult> {
  let info: CpuInfo;
  let collector: Collector;
  try {
    info = await readInfo();
    collector = createCpuCollector(cpuPowerModel(info, ctx.env.WATTPRINT_CPU_TDP), ctx.procfsRoot);
  } catch (cause) {
    const why = cause instanceof Error ? `${cause.message}${cause.cause instanceof Error ? `: ${cause.cause.message}` : ''}` : String(cause);
    return { found: false, why: `CPU model unavailable: ${why}`, fix: 'check that procfs is mounted (--path.procfs)', devices: [] };
  }
  return {
    found: true,
    devices: collector.devices,
    collector,
    details: { cpuModel: info.name, threads: info.threads, physicalCores: info.physicalCores, sockets: info.sockets },
  };
}

/** cpuFactory registers the CPU utilisation × TDP model (used only where nothing measures the CPU). */
export const cpuFactory: CollectorFactory = {
  name: 'cpu',
  role: 'model',
  kinds: ['cpu'],
  probe: (ctx) => probeCpu(ctx),
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
