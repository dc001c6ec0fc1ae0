import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRamCollector, RAM_WATTS_PER_GIB, ramFactory, ramPowerWatts } from '../../collectors/ram.js';
import { parseMemTotalBytes, readMemTotalBytes } from '../../collectors/lib/procfs.js';
import type { CollectorContext } from '../../collectors/types.js';

const fixture = fileURLToPath(new URL('../fixtures/procfs/xeon-2s/', import.meta.url));
const ctx = (procfsRoot: string): CollectorContext => ({
  sysfsRoot: '/nonexistent', procfsRoot, nvidiaSmiPath: 'x', nvmlLibraryPath: 'x', intervalSeconds: 1, env: {},
});
const tmp: string[] = [];
afterEach(() => tmp.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('RAM model', () => {
  it('uses CCF 0.392 W per GiB', () => {
    expect(RAM_WATTS_PER_GIB).toBe(0.392);
    expect(ramPowerWatts(16 * 1024 ** 3)).toBeCloseTo(6.272, 12);
    expect(ramPowerWatts(2048 * 1024 ** 3)).toBeCloseTo(802.816, 9);
  });

  it('parses MemTotal in kB (KiB) from meminfo', () => {
    expect(parseMemTotalBytes('MemFree: 1 kB\nMemTotal:       24683656 kB\n')).toBe(24683656 * 1024);
    expect(() => parseMemTotalBytes('MemFree: 1 kB\n')).toThrow(/no "MemTotal: N kB" line/);
    expect(readMemTotalBytes(fixture)).toBe(16 * 1024 ** 3);
  });

  it('probes the fixture tree: one modelled dram device at 6.272 W', async () => {
    const p = await ramFactory.probe(ctx(fixture));
    expect(p.found).toBe(true);
    expect(p.devices).toEqual([
      {
        id: 'ram', kind: 'dram', name: 'RAM 16.0 GiB', method: 'modelled', collector: 'ram',
        notes: ['DRAM power = 16.0 GiB (MemTotal) × 0.392 W/GiB (Cloud Carbon Footprint memory coefficient)'],
      },
    ]);
    const r = await p.collector!.read();
    expect(r.readings).toHaveLength(1);
    expect(r.readings[0]!.deviceId).toBe('ram');
    expect(r.readings[0]!.powerWatts).toBeCloseTo(6.272, 12);
    expect(ramFactory).toMatchObject({ name: 'ram', role: 'model', kinds: ['dram'] });
  });

  it('reports missing or malformed meminfo as not found, with the cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-ram-'));
    tmp.push(dir);
    const missing = await ramFactory.probe(ctx(dir));
    expect(missing.found).toBe(false);
    expect(missing.why).toMatch(/^RAM model unavailable: read .*meminfo: ENOENT/);
    writeFileSync(join(dir, 'meminfo'), 'garbage\n');
    const bad = await ramFactory.probe(ctx(dir));
    expect(bad.why).toMatch(/parse .*meminfo: no "MemTotal: N kB" line/);
  });

  it('createRamCollector names its size', () => {
    expect(createRamCollector(1.5 * 1024 ** 3).devices[0]!.name).toBe('RAM 1.5 GiB');
  });
});
