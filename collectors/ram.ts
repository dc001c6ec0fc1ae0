import type { DeviceInfo } from '../src/types.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { readMemTotalBytes } from './lib/procfs.js';

/**
 * RAM_WATTS_PER_GIB is DRAM power per GiB installed: Cloud Carbon Footprint's memory coefficient,
 * 0.000392 kWh per GB-hour = 0.392 W per GB (@cloud-carbon-footprint/aws AWS_CLOUD_CONSTANTS
 * MEMORY_COEFFICIENT, derived from Crucial/Micron DDR4 figures). CCF applies it to cloud GiB sizes.
 */
export const RAM_WATTS_PER_GIB = 0.392;

const BYTES_PER_GIB = 1024 ** 3;

/** ramPowerWatts is the modelled DRAM power of memTotalBytes of RAM, in watts. */
export function ramPowerWatts(memTotalBytes: number): number {
  return (memTotalBytes / BYTES_PER_GIB) * RAM_WATTS_PER_GIB;
}

/** createRamCollector reports a constant modelled power: installed memory × RAM_WATTS_PER_GIB. */
export function createRamCollector(memTotalBytes: number): Collector {
  const powerWatts = ramPowerWatts(memTotalBytes);
  const gib = memTotalBytes / BYTES_PER_GIB;
  const device: DeviceInfo = {
    id: 'ram',
    kind: 'dram',
    name: `RAM ${gib.toFixed(1)} GiB`,
    method: 'modelled',
    collector: 'ram',
    notes: [
      `DRAM power = ${gib.toFixed(1)} GiB (MemTotal) × ${RAM_WATTS_PER_GIB} W/GiB (Cloud Carbon Footprint memory coefficient)`,
    ],
  };
  const result = { readings: [{ deviceId: 'ram', powerWatts }] };
  return {
    name: 'ram',
    devices: [device],
    // Constant power: return the same frozen-shape object each tick (no per-tick allocation).
    read: () => result,
    close: () => undefined,
  };
}

/** probeRam reads MemTotal from <procfsRoot>/meminfo once. */
export async function probeRam(ctx: CollectorContext): Promise<ProbeResult> {
  let memTotalBytes: number;
  try {
    memTotalBytes = readMemTotalBytes(ctx.procfsRoot);
  } catch (cause) {
    const detail = cause instanceof Error && cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return {
      found: false,
      why: `RAM model unavailable: ${cause instanceof Error ? cause.message : String(cause)}${detail}`,
      fix: 'check that procfs is mounted (--path.procfs)',
      devices: [],
    };
  }
  const collector = createRamCollector(memTotalBytes);
  return { found: true, devices: collector.devices, collector, details: { memTotalBytes } };
}

/** ramFactory registers the W-per-GiB DRAM model (used only where nothing measures DRAM). */
export const ramFactory: CollectorFactory = {
  name: 'ram',
  role: 'model',
  kinds: ['dram'],
  probe: probeRam,
};
