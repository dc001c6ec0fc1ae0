import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpuPowerModel, probeCpu } from '../../collectors/cpu.js';
import { armCoreName, parseCpuinfo, readCpuInventory, smbiosProcessorVersion } from '../../collectors/lib/cpuinfo.js';
import type { CollectorContext } from '../../collectors/types.js';
import { writeTree } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/cpuinfo/', import.meta.url));
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'wattprint-cpuinfo-')); });
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A procfs/sysfs tree of `sockets` × `cores` × `threadsPerCore` CPUs, numbered as Linux does (threads last). */
function machine(block: string, sockets: number, cores: number, threadsPerCore: number, opts: { topology?: boolean } = {}): void {
  const files: Record<string, string> = {};
  let cpuinfo = '';
  const total = sockets * cores * threadsPerCore;
  for (let cpu = 0; cpu < total; cpu++) {
    const thread = Math.floor(cpu / (sockets * cores));
    const socket = Math.floor((cpu % (sockets * cores)) / cores);
    const core = cpu % cores;
    cpuinfo += block.replace(/^processor\t: \d+$/m, `processor\t: ${cpu}`)
      .replace(/^physical id\t: \d+$/m, `physical id\t: ${socket}`).replace(/^core id\t\t: \d+$/m, `core id\t\t: ${core}`);
    if (opts.topology === false) continue;
    const siblings = Array.from({ length: threadsPerCore }, (_, t) => t * sockets * cores + socket * cores + core).join(',');
    const dir = `sys/devices/system/cpu/cpu${cpu}/topology`;
    files[`${dir}/physical_package_id`] = `${socket}\n`;
    files[`${dir}/core_id`] = `${core}\n`;
    files[`${dir}/thread_siblings_list`] = `${siblings}\n`;
  }
  files['proc/cpuinfo'] = cpuinfo;
  files['sys/devices/system/cpu/online'] = `0-${total - 1}\n`;
  writeTree(root, files);
}

const inventory = () => readCpuInventory(join(root, 'proc'), join(root, 'sys'));

/** An SMBIOS type 4 (processor) record as /sys/firmware/dmi/entries/4-0/raw holds it. */
function smbiosType4(version: string): Buffer {
  const formatted = Buffer.alloc(0x30);
  formatted[0] = 4; // type: processor
  formatted[1] = 0x30; // length of the formatted area
  formatted[0x04] = 1; // socket designation: string 1
  formatted[0x07] = 2; // manufacturer: string 2
  formatted[0x10] = 3; // version: string 3
  return Buffer.concat([formatted, Buffer.from(`CPU 1\0Ampere(R)\0${version}\0\0`, 'latin1')]);
}

describe('CPU inventory from procfs and sysfs, no shell', () => {
  it('x86: a 2-socket Xeon Platinum 8480+ with hyper-threading: name, 224 threads, 112 cores, 2 sockets', () => {
    machine(fixture('xeon-8480-block.txt'), 2, 56, 2);
    expect(inventory()).toEqual({ name: 'Intel(R) Xeon(R) Platinum 8480+', threads: 224, physicalCores: 112, sockets: 2, notes: [] });
    const model = cpuPowerModel(inventory());
    expect(model.fullLoadWatts).toBe(2 * 350); // the table's 350 W per socket, both sockets present
  });

  it('x86 without a sysfs topology counts from cpuinfo\'s processor, physical id and core id, and says so', () => {
    machine(fixture('xeon-8480-block.txt'), 2, 56, 2, { topology: false });
    const inv = inventory();
    expect([inv.threads, inv.physicalCores, inv.sockets]).toEqual([224, 112, 2]);
    expect(inv.notes).toEqual([`no CPU topology under ${join(root, 'sys', 'devices', 'system', 'cpu')}: counts from ${join(root, 'proc', 'cpuinfo')}`]);
  });

  it('arm64: a 64-core Neoverse-N1 (Graviton2 / Altra), named from CPU implementer and part', () => {
    machine(fixture('neoverse-n1-block.txt'), 1, 64, 1);
    expect(inventory()).toEqual({ name: 'ARM Neoverse-N1', threads: 64, physicalCores: 64, sockets: 1, notes: [] });
  });

  it('arm64 with the SMBIOS processor record: the brand, which the TDP table knows', () => {
    machine(fixture('neoverse-n1-block.txt'), 1, 80, 1);
    writeTree(root, { 'sys/firmware/dmi/entries/4-0/.keep': '' });
    writeFileSync(join(root, 'sys/firmware/dmi/entries/4-0/raw'), smbiosType4('Ampere(R) Altra(R) Processor Q80-30 CPU @ 3.0GHz'));
    const inv = inventory();
    expect(inv.name).toBe('Ampere(R) Altra(R) Processor Q80-30 CPU @ 3.0GHz');
    expect(inv.notes).toEqual(['CPU Ampere(R) Altra(R) Processor Q80-30 CPU @ 3.0GHz (SMBIOS), cores ARM Neoverse-N1']);
    expect(cpuPowerModel(inv).fullLoadWatts).toBe(210);
  });

  it('a Raspberry Pi 4: Cortex-A72 cores and the board from its Model line; package id -1 is one package', () => {
    writeTree(root, { 'proc/cpuinfo': fixture('rpi4-cpuinfo.txt') });
    for (let cpu = 0; cpu < 4; cpu++) {
      writeTree(root, {
        [`sys/devices/system/cpu/cpu${cpu}/topology/physical_package_id`]: '-1\n',
        [`sys/devices/system/cpu/cpu${cpu}/topology/core_id`]: `${cpu}\n`,
        [`sys/devices/system/cpu/cpu${cpu}/topology/core_cpus_list`]: `${cpu}\n`,
      });
    }
    expect(inventory()).toEqual({ name: 'ARM Cortex-A72 (Raspberry Pi 4 Model B Rev 1.1)', threads: 4, physicalCores: 4, sockets: 1, notes: [] });
  });

  it('counts only CPUs with a topology (offline CPUs have none) and names big.LITTLE cores together', () => {
    const big = 'processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\n';
    const little = 'processor\t: 4\nCPU implementer\t: 0x41\nCPU part\t: 0xd05\n\n';
    writeTree(root, { 'proc/cpuinfo': big + little, 'sys/devices/system/cpu/cpu0/topology/physical_package_id': '0\n',
      'sys/devices/system/cpu/cpu4/topology/physical_package_id': '0\n', 'sys/devices/system/cpu/cpu5/online': '0\n' });
    expect(inventory()).toMatchObject({ name: 'ARM Cortex-A76 + Cortex-A55', threads: 2, sockets: 1 });
  });

  it('parses names and keys exactly: x86 "model" is a number, ARM "Model" a board; old ARM kernels\' "Processor"', () => {
    expect(parseCpuinfo('processor\t: 0\nmodel\t\t: 143\nmodel name\t: Intel(R)  Xeon(R)\n').modelName).toBe('Intel(R) Xeon(R)');
    expect(parseCpuinfo('processor\t: 0\nmodel\t\t: 143\n').board).toBeUndefined();
    expect(parseCpuinfo('Processor\t: ARMv7 Processor rev 2 (v7l)\nprocessor\t: 0\nHardware\t: mapphone_UMTS\n'))
      .toMatchObject({ modelName: 'ARMv7 Processor rev 2 (v7l)', processors: 1, board: 'mapphone_UMTS' });
    expect([armCoreName(0x41, 0xd40), armCoreName(0x41, 0xd4f), armCoreName(0xc0, 0xac3), armCoreName(0x41, 0xfff), armCoreName(0x99, 1)])
      .toEqual(['ARM Neoverse-V1', 'ARM Neoverse-V2', 'Ampere Ampere-1', 'ARM part 0xfff', 'implementer 0x99 part 0x001']);
  });

  it('reads the SMBIOS version string and ignores placeholders and other record types', () => {
    expect(smbiosProcessorVersion(smbiosType4('AWS Graviton2'))).toBe('AWS Graviton2');
    expect(smbiosProcessorVersion(smbiosType4('To Be Filled By O.E.M.'))).toBeUndefined();
    const other = smbiosType4('x');
    other[0] = 17;
    expect(smbiosProcessorVersion(other)).toBeUndefined();
    expect(smbiosProcessorVersion(Buffer.alloc(4))).toBeUndefined();
  });

  it('the probe reads --procfs and --sysfs, not the host (before: systeminformation read the host via lscpu)', async () => {
    machine(fixture('neoverse-n1-block.txt'), 1, 64, 1);
    copyFileSync(fileURLToPath(new URL('../fixtures/procfs/xeon-2s/stat', import.meta.url)), join(root, 'proc', 'stat'));
    const ctx = { sysfsRoot: join(root, 'sys'), procfsRoot: join(root, 'proc'), env: {} } as unknown as CollectorContext;
    const probe = await probeCpu(ctx);
    expect(probe.found).toBe(true);
    expect(probe.details).toEqual({ cpuModel: 'ARM Neoverse-N1', threads: 64, physicalCores: 64, sockets: 1 });
    probe.collector!.close();
  });

  it('a missing cpuinfo is an unknown model with a note, not a failed probe', async () => {
    machine(fixture('neoverse-n1-block.txt'), 1, 8, 1);
    rmSync(join(root, 'proc', 'cpuinfo'));
    const inv = inventory();
    expect([inv.name, inv.threads]).toEqual(['unknown CPU', 8]);
    expect(inv.notes).toEqual([`cannot read ${join(root, 'proc', 'cpuinfo')}: CPU model unknown`]);
  });
});

describe('no shell-running dependency', () => {
  it('systeminformation is neither a dependency nor imported anywhere', () => {
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('systeminformation');
    const sources = readdirSync(repo, { recursive: true, encoding: 'utf8' })
      .filter((f) => /^(src|collectors|agent|scripts|bin)\//.test(f) && /\.(ts|js|mjs)$/.test(f));
    expect(sources.length).toBeGreaterThan(50);
    const importers = sources.filter((f) => /from ['"]systeminformation['"]|import\(['"]systeminformation['"]\)|require\(['"]systeminformation['"]\)/
      .test(readFileSync(join(repo, f), 'utf8')));
    expect(importers).toEqual([]);
  });
});
