import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CPU_IDLE_FRACTION,
  cpuFactory,
  cpuPowerModel,
  cpuPowerWatts,
  createCpuCollector,
  parseTdpOverrideWatts,
  probeCpu,
  type CpuInfo,
} from '../../collectors/cpu.js';
import { findCpuTdp, normaliseCpuName } from '../../collectors/lib/cpu-tdp.js';
import { cpuUtilisation, parseCpuTicks } from '../../collectors/lib/procfs.js';
import type { CollectorContext } from '../../collectors/types.js';

const fixture = fileURLToPath(new URL('../fixtures/procfs/xeon-2s/', import.meta.url));
const xeon2s: CpuInfo = { name: 'Intel Xeon® Platinum 8480+', threads: 224, physicalCores: 112, sockets: 2 };

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wattprint-cpu-'));
  copyFileSync(join(fixture, 'stat'), join(root, 'stat'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function ctx(env: Record<string, string> = {}): CollectorContext {
  return { sysfsRoot: '/nonexistent', procfsRoot: root, nvidiaSmiPath: 'x', nvmlLibraryPath: 'x', intervalSeconds: 1, env };
}

describe('procfs /proc/stat parsing', () => {
  it('counts busy and total ticks, ignoring guest columns', () => {
    expect(parseCpuTicks('cpu  1300 0 600 8350 150 0 0 0 200 0\ncpu0 1 2 3 4\n')).toEqual({ busyTicks: 1900, totalTicks: 10400 });
    expect(parseCpuTicks('cpu  10 20 30 40 50 60 70 80 90 100')).toEqual({ busyTicks: 190, totalTicks: 360 });
  });
  it('accepts old kernels with four columns and rejects other text', () => {
    expect(parseCpuTicks('cpu 1 2 3 4\n')).toEqual({ busyTicks: 6, totalTicks: 10 });
    expect(() => parseCpuTicks('intr 1 2 3 4 5')).toThrow(/unexpected \/proc\/stat first line/);
    expect(() => parseCpuTicks('cpu 1 2 x 4')).toThrow(/bad \/proc\/stat field 3/);
  });
  it('utilisation is Δbusy/Δtotal, undefined when no tick elapsed or counters went back', () => {
    expect(cpuUtilisation({ busyTicks: 1500, totalTicks: 9600 }, { busyTicks: 1900, totalTicks: 10400 })).toBe(0.5);
    expect(cpuUtilisation({ busyTicks: 5, totalTicks: 10 }, { busyTicks: 5, totalTicks: 10 })).toBeUndefined();
    expect(cpuUtilisation({ busyTicks: 500, totalTicks: 1000 }, { busyTicks: 5, totalTicks: 10 })).toBeUndefined();
  });
});

describe('CPU name matching', () => {
  it.each([
    ['Intel(R) Xeon(R) Platinum 8480+', 'xeon platinum 8480+'],
    ['Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz', 'xeon gold 6148'],
    ['AMD EPYC 7763 64-Core Processor', 'epyc 7763'],
    ['12th Gen Intel(R) Core(TM) i9-12900K', 'core i9-12900k'],
    ['AMD Ryzen Threadripper PRO 5995WX 64-Cores', 'ryzen threadripper pro 5995wx'],
    ['AMD Ryzen 7 7840U w/ Radeon 780M Graphics', 'ryzen 7 7840u'],
    ['Intel Xeon® Platinum 8480+', 'xeon platinum 8480+'],
    ['Ampere(R) Altra(R) Processor Q80-30 CPU @ 3.0GHz', 'altra q80-30'],
    ['AWS Graviton2 Processor', 'graviton2'],
  ])('%s → %s', (raw, key) => expect(normaliseCpuName(raw)).toBe(key));

  it('finds TDP per socket by model', () => {
    expect(findCpuTdp('AMD EPYC 9654 96-Core Processor')).toMatchObject({ tdpWatts: 360, cores: 96, threads: 192 });
    expect(findCpuTdp('Intel(R) Xeon(R) 6980P')).toMatchObject({ tdpWatts: 500, cores: 128 });
    expect(findCpuTdp('AMD Ryzen 9 7950X3D 16-Core Processor')?.tdpWatts).toBe(120);
    expect(findCpuTdp('AMD Ryzen 9 7950X 16-Core Processor')?.tdpWatts).toBe(170);
    expect(findCpuTdp('AMD EPYC')).toBeUndefined();
  });
});

describe('CPU power model', () => {
  it('idle fraction is CCF 0.74/3.5 W per vCPU', () => expect(CPU_IDLE_FRACTION).toBeCloseTo(0.2114285714, 9));

  it('two-socket Xeon 8480+: 2 × 350 W full, 148 W idle, 424 W at 50 %', () => {
    const m = cpuPowerModel(xeon2s);
    expect(m.fullLoadWatts).toBe(700);
    expect(m.idleWatts).toBeCloseTo(148, 9);
    expect(cpuPowerWatts(m, 0.5)).toBeCloseTo(424, 9);
    expect(cpuPowerWatts(m, 1.7)).toBe(700);
    expect(m.displayName).toBe('Intel Xeon® Platinum 8480+ (2 sockets, 224 threads)');
  });

  it('a VM that sees 4 of 64 EPYC 7763 cores gets 4/64 of the 280 W TDP', () => {
    const m = cpuPowerModel({ name: 'AMD EPYC 7763 64-Core Processor', threads: 8, physicalCores: 4, sockets: 1 });
    expect(m.fullLoadWatts).toBe(17.5);
    expect(m.notes[0]).toContain('TDP 280 W per socket');
  });

  it('falls back to threads when physical cores are unknown', () => {
    const m = cpuPowerModel({ name: 'AMD EPYC 7763', threads: 32, physicalCores: 0, sockets: 1 });
    expect(m.fullLoadWatts).toBe(70);
  });

  it('unknown CPU: 3.5 W per thread, flagged with the fix', () => {
    const m = cpuPowerModel({ name: 'AMD EPYC', threads: 2, physicalCores: 2, sockets: 1 });
    expect(m.fullLoadWatts).toBe(7);
    expect(m.notes[0]).toBe('unknown CPU model "AMD EPYC": 3.5 W per thread assumed; pass --cpu-tdp W to set it');
  });

  it('--cpu-tdp overrides the table; a bad value is reported and ignored', () => {
    expect(cpuPowerModel(xeon2s, ' 250 ').fullLoadWatts).toBe(250);
    const bad = cpuPowerModel(xeon2s, '12abc');
    expect(bad.fullLoadWatts).toBe(700);
    expect(bad.notes[0]).toBe('ignoring --cpu-tdp "12abc": not a positive number of watts');
    expect(parseTdpOverrideWatts('-5')).toBeUndefined();
    expect(parseTdpOverrideWatts('Infinity')).toBeUndefined();
    expect(parseTdpOverrideWatts('')).toBeUndefined();
    expect(parseTdpOverrideWatts('95.5')).toBe(95.5);
  });
});

describe('CPU collector on a procfs fixture', () => {
  it('turns a known /proc/stat delta into known watts, with pread on the open file', async () => {
    const probe = await probeCpu(ctx(), async () => xeon2s);
    expect(probe.found).toBe(true);
    expect(probe.devices).toEqual([
      expect.objectContaining({ id: 'cpu', kind: 'cpu', method: 'modelled', collector: 'cpu' }),
    ]);
    const c = probe.collector!;
    // Same inode rewritten in place: the collector's open fd sees new content through pread at 0.
    writeFileSync(join(root, 'stat'), await import('node:fs').then((fs) => fs.readFileSync(join(fixture, 'stat.next'))));
    const r = await c.read();
    expect(r.readings).toHaveLength(1);
    expect(r.readings[0]!.deviceId).toBe('cpu');
    expect(r.readings[0]!.powerWatts).toBeCloseTo(424, 9);
    expect(Object.keys(r.readings[0]!)).toEqual(['deviceId', 'powerWatts']);
    // No tick elapsed: utilisation carries over.
    expect((await c.read()).readings[0]!.powerWatts).toBeCloseTo(424, 9);
    c.close();
    expect(() => c.read()).toThrow(/closed/);
  });

  it('reads WATTPRINT_CPU_TDP from the context env', async () => {
    const probe = await probeCpu(ctx({ WATTPRINT_CPU_TDP: '100' }), async () => xeon2s);
    const c = probe.collector!;
    writeFileSync(join(root, 'stat'), 'cpu  1000 0 500 8800 100 0 0 0 0 0\n'); // Δbusy 0, Δtotal 800: idle
    expect((await c.read()).readings[0]!.powerWatts).toBeCloseTo(100 * CPU_IDLE_FRACTION, 9);
    c.close();
  });

  it('reports a missing procfs as not found with a fix', async () => {
    const p = await probeCpu({ ...ctx(), procfsRoot: join(root, 'missing') }, async () => xeon2s);
    expect(p.found).toBe(false);
    expect(p.why).toMatch(/^CPU model unavailable: open .*missing\/stat: ENOENT/);
    expect(p.fix).toBeTruthy();
  });

  it('the factory is the CPU model, inventory read from procfs and sysfs at probe', async () => {
    expect(cpuFactory).toMatchObject({ name: 'cpu', role: 'model', kinds: ['cpu'] });
    const p = await cpuFactory.probe(ctx());
    expect(p.found).toBe(true);
    expect(p.devices[0]!.notes!.length).toBeGreaterThanOrEqual(2);
    p.collector!.close();
  });
});

it('createCpuCollector throws with the path when stat is missing', () => {
  expect(() => createCpuCollector(cpuPowerModel(xeon2s), join(root, 'nope'))).toThrow(/open .*nope\/stat/);
});
