import { join } from 'node:path';
import { TPU_POWER_PER_CHIP, type TpuGeneration } from '../src/carbon/cloud-tables.js';
import type { DeviceInfo, ReadResult } from '../src/types.js';
import { DEFAULT_METADATA_URL, fetchMetadata, providerFromDmi } from '../agent/cloud.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { listDir, readTextOr } from './lib/sysfs.js';

/** GOOGLE_PCI_VENDOR is Google's PCI vendor id, carried by Cloud TPU chips. */
export const GOOGLE_PCI_VENDOR = '0x1ae0';

/** ACCELERATOR_TYPE_ENV is honoured before asking the metadata service for the accelerator type. */
export const ACCELERATOR_TYPE_ENV = 'TPU_ACCELERATOR_TYPE';

/**
 * tpuFromPciIds maps PCI device (and subsystem) ids to a generation and PCI functions per chip.
 * Ids as listed by Google's tpu-info (AI-Hypercomputer/cloud-accelerator-diagnostics, tpu_info/device.py):
 * v2 and v3 share device 0x0027 (subsystem 0x004e / 0x004f) and show two PCI devices per chip.
 */
export function tpuFromPciIds(deviceId: string, subsystemId: string | undefined): { generation: TpuGeneration; devicesPerChip: 1 | 2 } | undefined {
  if (deviceId === '0x0027') {
    if (subsystemId === '0x004e') return { generation: 'v2', devicesPerChip: 2 };
    if (subsystemId === '0x004f') return { generation: 'v3', devicesPerChip: 2 };
    return undefined;
  }
  const byDevice: Record<string, { generation: TpuGeneration; devicesPerChip: 1 | 2 }> = {
    '0x005e': { generation: 'v4', devicesPerChip: 1 },
    '0x0063': { generation: 'v5e', devicesPerChip: 1 },
    '0x0062': { generation: 'v5p', devicesPerChip: 1 },
    '0x006f': { generation: 'v6e', devicesPerChip: 1 },
    '0x0076': { generation: 'v7x', devicesPerChip: 2 },
  };
  return byDevice[deviceId];
}

/** AcceleratorType is a parsed GCP accelerator-type such as 'v4-8' or 'v5litepod-8'. */
export interface AcceleratorType {
  generation: TpuGeneration;
  /** Chips in the whole slice. */
  sliceChips: number;
  /** Chips attached to this host: min(slice, chips per host). */
  hostChips: number;
}

/**
 * parseAcceleratorType reads 'v2-8', 'v3-32', 'v4-8', 'v5p-8' (the number counts TensorCores: two per chip)
 * and 'v5litepod-8', 'v6e-8' (the number counts chips). Hosts carry 4 chips (v2–v5p) or up to 8 (v5e, v6e).
 */
export function parseAcceleratorType(type: string): AcceleratorType | undefined {
  const m = /^(v2|v3|v4|v5p|v5litepod|v5e|v6e)-(\d+)$/.exec(type.trim());
  if (!m) return undefined;
  const n = Number(m[2]);
  const generation = (m[1] === 'v5litepod' ? 'v5e' : m[1]) as TpuGeneration;
  const countsCores = generation === 'v2' || generation === 'v3' || generation === 'v4' || generation === 'v5p';
  const sliceChips = countsCores ? Math.max(1, Math.floor(n / 2)) : n;
  if (sliceChips < 1) return undefined;
  return { generation, sliceChips, hostChips: Math.min(sliceChips, countsCores ? 4 : 8) };
}

/** findTpuPci counts Google TPU PCI functions under `<sysfs>/bus/pci/devices` and names their generation. */
export function findTpuPci(sysfsRoot: string): { generation?: TpuGeneration; chips: number; unknownIds: string[] } {
  const dir = join(sysfsRoot, 'bus', 'pci', 'devices');
  const counts = new Map<TpuGeneration, { functions: number; perChip: number }>();
  const unknownIds: string[] = [];
  for (const dev of listDir(dir)) {
    if (readTextOr(join(dir, dev, 'vendor'))?.toLowerCase() !== GOOGLE_PCI_VENDOR) continue;
    const deviceId = readTextOr(join(dir, dev, 'device')) ?? '';
    const hit = tpuFromPciIds(deviceId, readTextOr(join(dir, dev, 'subsystem_device')));
    if (!hit) {
      unknownIds.push(`${dev}:${deviceId}`);
      continue;
    }
    const c = counts.get(hit.generation) ?? { functions: 0, perChip: hit.devicesPerChip };
    c.functions += 1;
    counts.set(hit.generation, c);
  }
  const [first] = [...counts.entries()].sort((a, b) => b[1].functions - a[1].functions);
  if (!first) return { chips: 0, unknownIds };
  return { generation: first[0], chips: Math.ceil(first[1].functions / first[1].perChip), unknownIds };
}

/** TpuCollector reports each chip's modelled power: constant per chip, as no duty cycle is readable. */
class TpuCollector implements Collector {
  readonly name = 'tpu' as const;
  constructor(
    readonly devices: DeviceInfo[],
    private readonly powerWatts: number,
  ) {}

  read(): ReadResult {
    return { readings: this.devices.map((d) => ({ deviceId: d.id, powerWatts: this.powerWatts })) };
  }

  close(): void {}
}

/** tpuDevices builds one modelled device per chip with the power source and the duty-cycle caveat in notes. */
export function tpuDevices(generation: TpuGeneration, chips: number): DeviceInfo[] {
  const power = TPU_POWER_PER_CHIP[generation];
  const notes = [
    `modelled from published average power per chip: ${power.powerWatts} W (${power.source})`,
    'no duty cycle is readable outside libtpu (tpu-info reads it from the running workload), so the full average is used',
  ];
  return Array.from({ length: chips }, (_, i) => ({
    id: `tpu${i}`,
    kind: 'tpu' as const,
    name: `Google Cloud TPU ${generation}`,
    method: 'modelled' as const,
    collector: 'tpu',
    notes,
  }));
}

/** probeTpu finds TPU chips by PCI id, else by accelerator type (env, then GCP metadata after GCE DMI evidence). */
export async function probeTpu(ctx: CollectorContext): Promise<ProbeResult> {
  const pci = findTpuPci(ctx.sysfsRoot);
  const details: Record<string, string | number> = {};
  if (pci.unknownIds.length > 0) details.otherGooglePciDevices = pci.unknownIds.join(', ');
  let generation = pci.generation;
  let chips = pci.chips;
  if (generation) details.evidence = `PCI vendor ${GOOGLE_PCI_VENDOR}: ${chips} ${generation} chip(s)`;
  else {
    let accel = ctx.env[ACCELERATOR_TYPE_ENV]?.trim() || undefined;
    let from = `env ${ACCELERATOR_TYPE_ENV}`;
    // The metadata service is asked only on a GCE host (DMI evidence), never blindly.
    if (!accel && providerFromDmi(ctx.sysfsRoot).provider === 'gcp') {
      const base = ctx.metadataUrl ?? DEFAULT_METADATA_URL.gcp;
      try {
        accel = (await fetchMetadata('gcp', base, 500)).acceleratorType;
        from = 'GCP metadata accelerator-type';
      } catch (cause) {
        details.metadataError = (cause as Error).message;
      }
    }
    const parsed = accel ? parseAcceleratorType(accel) : undefined;
    if (accel && !parsed) details.acceleratorType = `${accel} (not a known TPU type)`;
    if (parsed) {
      generation = parsed.generation;
      chips = parsed.hostChips;
      details.acceleratorType = accel!;
      details.evidence = `${from} ${accel}: ${parsed.sliceChips} chip(s) in the slice, ${chips} on this host`;
    }
  }
  if (!generation || chips < 1) {
    return {
      found: false,
      devices: [],
      details,
      why: `no Google TPU (PCI vendor ${GOOGLE_PCI_VENDOR}) under ${join(ctx.sysfsRoot, 'bus', 'pci', 'devices')} and no TPU accelerator type`,
    };
  }
  const devices = tpuDevices(generation, chips);
  details.powerWattsPerChip = TPU_POWER_PER_CHIP[generation].powerWatts;
  return { found: true, devices, details, collector: new TpuCollector(devices, TPU_POWER_PER_CHIP[generation].powerWatts) };
}

/** tpuFactory registers the TPU collector: real chips detected, energy modelled from per-chip average watts. */
export const tpuFactory: CollectorFactory = {
  name: 'tpu',
  role: 'measure',
  kinds: ['tpu'],
  probe: probeTpu,
};
