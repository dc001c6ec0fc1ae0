import { join } from 'node:path';
import type { DeviceInfo, DroppedReading, Reading, ReadResult } from '../src/types.js';
import { microjoulesToJoules, microwattsToWatts } from '../src/units.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { failureOf, listDir, parseIntStrict, PreadFile, readBootId, readTextOr, withFaults } from './lib/sysfs.js';

/** AMD_PCI_VENDOR is AMD/ATI's PCI vendor id as sysfs prints it. */
export const AMD_PCI_VENDOR = '0x1002';

/** AmdGpuSource is the hwmon file a card is read from: an energy counter (µJ) or a power reading (µW). */
export interface AmdGpuSource {
  card: string;
  /** The GPU's unique id (sysfs `device/unique_id`, hex), which ROCm prints as GPU-<id>. */
  uniqueId?: string;
  hwmonDir: string;
  file: 'energy1_input' | 'power1_average' | 'power1_input';
  name: string;
  powerLimitWatts?: number;
}

/** findAmdGpus lists AMD cards (`device/vendor` 0x1002) with a usable hwmon file, in card order. */
export function findAmdGpus(sysfsRoot: string): { sources: AmdGpuSource[]; skipped: string[] } {
  const drmDir = join(sysfsRoot, 'class', 'drm');
  const sources: AmdGpuSource[] = [];
  const skipped: string[] = [];
  for (const card of listDir(drmDir).filter((d) => /^card\d+$/.test(d))) {
    const deviceDir = join(drmDir, card, 'device');
    if (readTextOr(join(deviceDir, 'vendor'))?.toLowerCase() !== AMD_PCI_VENDOR) continue;
    const hwmon = listDir(join(deviceDir, 'hwmon')).find((d) => /^hwmon\d+$/.test(d));
    if (!hwmon) {
      skipped.push(`${card}: no hwmon directory`);
      continue;
    }
    const hwmonDir = join(deviceDir, 'hwmon', hwmon);
    const present = new Set(listDir(hwmonDir));
    // Counter first: exact between reads; then the driver's averaged power, then the instantaneous one.
    const file = (['energy1_input', 'power1_average', 'power1_input'] as const).find((f) => present.has(f));
    if (!file) {
      skipped.push(`${card}: no energy1_input, power1_average or power1_input in ${hwmonDir}`);
      continue;
    }
    const product = readTextOr(join(deviceDir, 'product_name'));
    const pciDevice = readTextOr(join(deviceDir, 'device'));
    const name = product || `AMD GPU ${pciDevice ?? '?'} (${readTextOr(join(hwmonDir, 'name')) ?? 'amdgpu'})`;
    const capMicrowatts = parseIntStrict(readTextOr(join(hwmonDir, 'power1_cap')) ?? '');
    sources.push({
      card,
      uniqueId: readTextOr(join(deviceDir, 'unique_id'))?.toLowerCase(),
      hwmonDir,
      file,
      name,
      powerLimitWatts: capMicrowatts > 0 ? microwattsToWatts(capMicrowatts) : undefined,
    });
  }
  return { sources, skipped };
}

interface OpenCard {
  device: DeviceInfo;
  source: AmdGpuSource;
  file: PreadFile;
}

/** AmdGpuCollector reads each card's hwmon file through a descriptor kept open (pread). */
class AmdGpuCollector implements Collector {
  readonly name = 'amdgpu' as const;
  readonly devices: DeviceInfo[];
  constructor(
    private readonly cards: OpenCard[],
    private readonly epoch: string | undefined,
  ) {
    this.devices = cards.map((c) => c.device);
  }

  read(): ReadResult {
    const readings: Reading[] = [];
    const dropped: DroppedReading[] = [];
    const recovered: DroppedReading[] = [];
    for (const { device, source, file } of this.cards) {
      const deviceId = device.id;
      let value: number;
      try {
        value = file.readInt();
      } catch (cause) {
        dropped.push({ deviceId, reason: 'lost', message: `read ${file.path}: ${(cause as Error).message}` });
        continue;
      }
      const reopened = file.takeReopened();
      if (reopened) recovered.push({ deviceId, reason: 'reopened', message: reopened });
      if (Number.isNaN(value)) dropped.push({ deviceId, reason: 'malformed', message: `${file.path} is not an integer` });
      else if (value < 0) dropped.push({ deviceId, reason: 'negative', message: `${file.path} = ${value}` });
      else if (source.file === 'energy1_input') {
        readings.push({ deviceId, counterJoules: microjoulesToJoules(value), counterEpoch: this.epoch });
      } else {
        const powerWatts = microwattsToWatts(value);
        // Above twice the board's cap is a sensor glitch, not power (the "absurd" rule).
        if (source.powerLimitWatts !== undefined && powerWatts > 2 * source.powerLimitWatts) {
          dropped.push({ deviceId, reason: 'absurd', message: `${powerWatts} W > 2 × ${source.powerLimitWatts} W cap` });
        } else readings.push({ deviceId, powerWatts });
      }
    }
    return withFaults(readings, dropped, recovered);
  }

  close(): void {
    for (const c of this.cards) c.file.close();
  }
}

/** probeAmdGpu finds AMD GPUs' hwmon energy/power files, opens each once and returns the live collector. */
export async function probeAmdGpu(ctx: CollectorContext): Promise<ProbeResult> {
  const found = findAmdGpus(ctx.sysfsRoot);
  const { skipped } = found;
  const requested = visibleAmdGpus(ctx);
  const sources = requested ? selectAmdGpus(found.sources, requested) : found.sources;
  const gpus = requested && found.sources.length > 0
    ? { unmatched: matchAmdGpus(found.sources, requested).unmatched, available: found.sources.map((src, i) => `${i} (${src.card})`) }
    : undefined;
  if (requested && sources.length === 0 && found.sources.length > 0) {
    return { found: false, devices: [], why: `the job's GPUs (${requested.join(',')}) match none of the ${found.sources.length} AMD GPUs`, fix: 'check ROCR_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES / --gpus', gpus };
  }
  const drmDir = join(ctx.sysfsRoot, 'class', 'drm');
  if (sources.length === 0) {
    const why = skipped.length > 0 ? `AMD GPU without power sensor: ${skipped.join('; ')}` : `no AMD GPU (PCI vendor ${AMD_PCI_VENDOR}) under ${drmDir}`;
    return { found: false, devices: [], why, fix: skipped.length > 0 ? 'load the amdgpu kernel driver (modprobe amdgpu) so it exposes hwmon power files' : undefined };
  }
  const cards: OpenCard[] = [];
  for (const source of sources) {
    const path = join(source.hwmonDir, source.file);
    const device: DeviceInfo = {
      id: `amdgpu${source.card.slice('card'.length)}`,
      kind: 'gpu',
      name: source.name,
      method: source.file === 'energy1_input' ? 'counter' : 'sampled',
      collector: 'amdgpu',
      powerLimitWatts: source.powerLimitWatts,
      notes: [`hwmon ${path}`],
    };
    try {
      const file = new PreadFile(path, { nowMs: ctx.nowMs });
      file.readText();
      cards.push({ device, source, file });
    } catch (cause) {
      cards.forEach((c) => c.file.close());
      const denied = failureOf(cause) === 'denied';
      return {
        found: false,
        devices: [],
        why: denied ? `permission denied on ${path}` : `cannot read ${path}: ${(cause as Error).message}`,
        fix: denied ? `sudo chmod o+r ${path} (or run wattprint in the video/render group)` : undefined,
      };
    }
  }
  const details: Record<string, string> = {};
  if (skipped.length > 0) details.skipped = skipped.join('; ');
  return { found: true, devices: cards.map((c) => c.device), details, collector: new AmdGpuCollector(cards, readBootId(ctx.procfsRoot)), ...(gpus ? { gpus } : {}) };
}

/**
 * visibleAmdGpus is the job's AMD GPUs as ROCm sees them: ROCR_VISIBLE_DEVICES, else HIP_VISIBLE_DEVICES, else
 * --gpus / CUDA_VISIBLE_DEVICES (which HIP also honours); undefined = all.
 */
function visibleAmdGpus(ctx: CollectorContext): string[] | undefined {
  const env = ctx.env.ROCR_VISIBLE_DEVICES ?? ctx.env.HIP_VISIBLE_DEVICES;
  if (env !== undefined) return env.split(',').map((x) => x.trim()).filter(Boolean);
  return ctx.gpus;
}

/**
 * selectAmdGpus picks GPUs by ROCm index (AMD GPUs in card order) or by UUID ('GPU-<unique_id>'), in the
 * order requested; an entry that matches nothing ends the list, as ROCm does.
 */
export function selectAmdGpus(sources: AmdGpuSource[], requested: string[]): AmdGpuSource[] {
  return matchAmdGpus(sources, requested).picked;
}

/** matchAmdGpus is selectAmdGpus with the entries it could not use: the first that matched nothing and all after it. */
function matchAmdGpus(sources: AmdGpuSource[], requested: string[]): { picked: AmdGpuSource[]; unmatched: string[] } {
  const picked: AmdGpuSource[] = [];
  for (const [i, entry] of requested.entries()) {
    const uuid = /^GPU-([0-9a-f]+)$/i.exec(entry)?.[1]?.toLowerCase();
    const hit = uuid !== undefined ? sources.find((s) => s.uniqueId?.replace(/^0x/, '') === uuid)
      : /^\d+$/.test(entry) ? sources[Number(entry)] : undefined;
    if (!hit) return { picked, unmatched: requested.slice(i) };
    if (!picked.includes(hit)) picked.push(hit);
  }
  return { picked, unmatched: [] };
}

/** amdgpuFactory registers the AMD GPU collector: hwmon energy (µJ → J) or power (µW → W). */
export const amdgpuFactory: CollectorFactory = {
  name: 'amdgpu',
  role: 'measure',
  kinds: ['gpu'],
  probe: probeAmdGpu,
};
