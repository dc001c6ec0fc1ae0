import { join } from 'node:path';
import type { DeviceInfo, DroppedReading, Reading, ReadResult } from '../src/types.js';
import { microjoulesToJoules } from '../src/units.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { failureOf, listDir, parseIntStrict, PreadFile, readBootId, readTextOr, withFaults } from './lib/sysfs.js';

/** RaplZone is one powercap zone directory as found under `<sysfs>/class/powercap`. */
export interface RaplZone {
  /** Directory name: 'intel-rapl:0', 'intel-rapl:0:1'. */
  dir: string;
  /** Content of `name`: 'package-0', 'dram', 'core', 'uncore', 'psys'. */
  name: string;
  /** Top-level zone index (N of intel-rapl:N[:M]). */
  socket: number;
  /** True for a subzone (intel-rapl:N:M). */
  sub: boolean;
}

/** RaplChoice is a zone picked for tracking, with its device id and kind. */
export interface RaplChoice {
  zone: RaplZone;
  deviceId: string;
  kind: 'cpu' | 'dram';
}

const ZONE_DIR = /^intel-rapl:(\d+)(?::(\d+))?$/;

/**
 * chooseRaplZones avoids double counting: psys alone when present (it covers the whole SoC platform),
 * else every package plus every dram zone. core and uncore are inside package and are skipped.
 */
export function chooseRaplZones(zones: RaplZone[]): RaplChoice[] {
  const psys = zones.filter((z) => z.name === 'psys');
  if (psys.length > 0) {
    return psys.map((zone, i) => ({ zone, kind: 'cpu', deviceId: psys.length === 1 ? 'psys' : `psys-${i}` }));
  }
  const picked: RaplChoice[] = [];
  for (const zone of zones) {
    if (/^package-\d+$/.test(zone.name)) picked.push({ zone, kind: 'cpu', deviceId: zone.name });
    else if (zone.name === 'dram') picked.push({ zone, kind: 'dram', deviceId: `dram-${zone.socket}` });
  }
  return picked;
}

/** listRaplZones reads the zone directories; `intel-rapl-mmio:*` duplicates of the MSR zones never match. */
export function listRaplZones(powercapDir: string): RaplZone[] {
  const zones: RaplZone[] = [];
  for (const dir of listDir(powercapDir)) {
    const m = ZONE_DIR.exec(dir);
    if (!m) continue;
    const name = readTextOr(join(powercapDir, dir, 'name'));
    if (!name) continue;
    zones.push({ dir, name, socket: Number(m[1]), sub: m[2] !== undefined });
  }
  return zones;
}

/** raplPermissionFix is the exact fix for root-only energy_uj (Linux ≥ 5.10, CVE-2020-8694). */
export function raplPermissionFix(powercapDir: string): string {
  const files = `${powercapDir}/intel-rapl:*/energy_uj`;
  return (
    `sudo groupadd -f rapl && sudo usermod -aG rapl "$USER" && sudo chgrp rapl ${files} && sudo chmod g+r ${files} ` +
    `(log in again for the group); to keep it across reboots: echo 'ACTION=="add", SUBSYSTEM=="powercap", ` +
    `KERNEL=="intel-rapl:*", RUN+="/bin/chgrp rapl /sys%p/energy_uj", RUN+="/bin/chmod g+r /sys%p/energy_uj"' ` +
    `| sudo tee /etc/udev/rules.d/99-wattprint-rapl.rules`
  );
}

/** cpuModelName returns the first `model name` of `<procfs>/cpuinfo`, if any. */
function cpuModelName(procfsRoot: string): string | undefined {
  const text = readTextOr(join(procfsRoot, 'cpuinfo'));
  const m = text && /^model name\s*:\s*(.+)$/m.exec(text);
  return m ? m[1]!.trim() : undefined;
}

interface OpenZone {
  choice: RaplChoice;
  file: PreadFile;
  rangeJoules?: number;
}

/** RaplCollector reads the chosen zones' energy_uj through descriptors kept open (pread). */
class RaplCollector implements Collector {
  readonly name = 'rapl' as const;
  constructor(
    readonly devices: DeviceInfo[],
    private readonly zones: OpenZone[],
    private readonly epoch: string | undefined,
  ) {}

  read(): ReadResult {
    const readings: Reading[] = [];
    const dropped: DroppedReading[] = [];
    const recovered: DroppedReading[] = [];
    for (const z of this.zones) {
      const deviceId = z.choice.deviceId;
      let energyMicrojoules: number;
      try {
        energyMicrojoules = z.file.readInt();
      } catch (cause) {
        dropped.push({ deviceId, reason: 'lost', message: `read ${z.file.path}: ${(cause as Error).message}` });
        continue;
      }
      const reopened = z.file.takeReopened();
      if (reopened) recovered.push({ deviceId, reason: 'reopened', message: reopened });
      if (Number.isNaN(energyMicrojoules)) {
        dropped.push({ deviceId, reason: 'malformed', message: `${z.file.path} is not an integer` });
        continue;
      }
      if (energyMicrojoules < 0) {
        dropped.push({ deviceId, reason: 'negative', message: `${z.file.path} = ${energyMicrojoules}` });
        continue;
      }
      readings.push({
        deviceId,
        counterJoules: microjoulesToJoules(energyMicrojoules),
        counterRangeJoules: z.rangeJoules,
        counterEpoch: this.epoch,
      });
    }
    return withFaults(readings, dropped, recovered);
  }

  close(): void {
    for (const z of this.zones) z.file.close();
  }
}

function deviceFor(choice: RaplChoice, cpuModel: string | undefined): DeviceInfo {
  const { zone, deviceId, kind } = choice;
  const base = cpuModel ?? 'CPU';
  const name =
    kind === 'dram' ? `DRAM (socket ${zone.socket})` : deviceId === 'psys' ? `${base} (platform)` : `${base} (package ${zone.socket})`;
  const notes = [`RAPL zone ${zone.dir} (${zone.name})`];
  if (zone.name === 'psys') notes.push('psys covers the whole SoC platform (package, graphics, memory controller and more); package and dram are not counted again');
  return { id: deviceId, kind, name, method: 'counter', collector: 'rapl', notes };
}

/** probeRapl finds the RAPL zones, opens each chosen energy_uj once and returns the live collector. */
export async function probeRapl(ctx: CollectorContext): Promise<ProbeResult> {
  const powercapDir = join(ctx.sysfsRoot, 'class', 'powercap');
  const zones = listRaplZones(powercapDir);
  const choices = chooseRaplZones(zones);
  if (choices.length === 0) {
    return { found: false, devices: [], why: `no RAPL zones under ${powercapDir} (not a RAPL-capable CPU, or a VM that hides it)` };
  }
  const cpuModel = cpuModelName(ctx.procfsRoot);
  const devices = choices.map((c) => deviceFor(c, cpuModel));
  const opened: OpenZone[] = [];
  const closeAll = () => opened.forEach((z) => z.file.close());
  for (const choice of choices) {
    const energyPath = join(powercapDir, choice.zone.dir, 'energy_uj');
    let file: PreadFile;
    try {
      file = new PreadFile(energyPath, { nowMs: ctx.nowMs });
      file.readText(); // some kernels deny at read rather than open
    } catch (cause) {
      closeAll();
      const failure = failureOf(cause);
      if (failure === 'denied') {
        return {
          found: false,
          devices,
          why: `permission denied on ${energyPath} (root-only since Linux 5.10, CVE-2020-8694)`,
          fix: raplPermissionFix(powercapDir),
        };
      }
      return { found: false, devices, why: `cannot read ${energyPath}: ${(cause as Error).message}` };
    }
    const range = parseIntStrict(readTextOr(join(powercapDir, choice.zone.dir, 'max_energy_range_uj')) ?? '');
    opened.push({ choice, file, rangeJoules: range > 0 ? microjoulesToJoules(range) : undefined });
  }
  const skipped = zones.filter((z) => !choices.some((c) => c.zone === z)).map((z) => `${z.dir}=${z.name}`);
  const details: Record<string, string> = { zones: choices.map((c) => `${c.zone.dir}=${c.deviceId}`).join(', ') };
  if (skipped.length > 0) details.skipped = `${skipped.join(', ')} (contained in the tracked zones)`;
  return { found: true, devices, details, collector: new RaplCollector(devices, opened, readBootId(ctx.procfsRoot)) };
}

/** raplFactory registers the RAPL collector: CPU package/psys and DRAM energy counters in µJ → J. */
export const raplFactory: CollectorFactory = {
  name: 'rapl',
  role: 'measure',
  kinds: ['cpu', 'dram'],
  probe: probeRapl,
};
