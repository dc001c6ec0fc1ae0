import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embodiedEmissions, parseEmbodiedList } from '../../src/carbon/embodied.js';
import { baseEnv as cleanEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';

const node = [
  { id: 'gpu0', kind: 'gpu' }, { id: 'gpu1', kind: 'gpu' }, { id: 'cpu', kind: 'cpu' }, { id: 'ram', kind: 'dram' },
] as const;
const HOURS_PER_YEAR = 8760;

describe('embodiedEmissions by hand', () => {
  it('a 3 h run on a 2-GPU node: 2 × 150 kg over 6 years, and the node\'s 2,500 kg host over 6 years', () => {
    const e = embodiedEmissions(node, 3);
    expect(e.lines.map((l) => [l.component, l.units, l.kgPerUnit, l.lifetimeYears])).toEqual([['gpu', 2, 150, 6], ['host', 1, 2500, 6]]);
    expect(e.lines[0]!.kg).toBeCloseTo((2 * 150 * 3) / (6 * HOURS_PER_YEAR), 15);
    expect(e.lines[1]!.kg).toBeCloseTo((2500 * 3) / (6 * HOURS_PER_YEAR), 15);
    expect(e.kgCo2e).toBeCloseTo((300 + 2500) * 3 / (6 * HOURS_PER_YEAR), 15);
    expect(e.lines[0]!.source).toContain('Luccioni et al. 2023');
  });

  it('a CPU-only server: 1,000 kg over 4 years (CCF baseline)', () => {
    const e = embodiedEmissions([{ id: 'cpu', kind: 'cpu' }, { id: 'ram', kind: 'dram' }], 10);
    expect(e.lines).toEqual([expect.objectContaining({ component: 'host', units: 1, kgPerUnit: 1000, lifetimeYears: 4, kg: expect.closeTo(10_000 / (4 * HOURS_PER_YEAR), 15) })]);
  });

  it('overrides per component, for all lives, or one figure for the node; one host per node of a multi-node report', () => {
    const e = embodiedEmissions(node, 3, { kg: { gpu: 200 }, lifetimeYears: { all: 5 } });
    expect(e.kgCo2e).toBeCloseTo((2 * 200 + 2500) * 3 / (5 * HOURS_PER_YEAR), 15);
    expect(e.lines[1]!.source).toBe('--lifetime-years; kg from Luccioni et al. 2023, "Estimating the Carbon Footprint of BLOOM" (JMLR 24(253), arXiv:2211.02001): HPE Apollo 6500 Gen10 Plus node without GPUs');
    const whole = embodiedEmissions(node, 3, { kg: { all: 3000 } });
    expect(whole.lines).toEqual([expect.objectContaining({ component: 'node', units: 1, kgPerUnit: 3000, lifetimeYears: 6, kg: expect.closeTo(9000 / (6 * HOURS_PER_YEAR), 15) })]);
    const two = embodiedEmissions([{ id: 'a/gpu0', kind: 'gpu' }, { id: 'b/gpu0', kind: 'gpu' }], 1);
    expect(two.lines.map((l) => [l.component, l.units])).toEqual([['gpu', 2], ['host', 2]]);
  });

  it('parses the flags', () => {
    expect(parseEmbodiedList('gpu=200, host=1800', '--embodied-kg')).toEqual({ gpu: 200, host: 1800 });
    expect(parseEmbodiedList('5', '--lifetime-years')).toEqual({ all: 5 });
    expect(() => parseEmbodiedList('disk=3', '--embodied-kg')).toThrow("--embodied-kg takes a number or gpu=N,tpu=N,host=N, got 'disk=3'");
    expect(() => parseEmbodiedList('gpu=-1', '--embodied-kg')).toThrow("--embodied-kg needs positive numbers, got 'gpu=-1'");
  });
});

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/replay/${name}`, import.meta.url));
let dir: string;
beforeAll(() => {
  dir = tempDir('embodied');
  writeTree(dir, { 'sys/class/.keep': '' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embodied emissions in the reports, apart from the operational figures', () => {
  it('replay: JSON embodied, a separate section, CSV rows; co2e and Table 4 unchanged by it', async () => {
    // watts_3h.csv: gpu0 and cpu over 3 h.
    const args = ['replay', fixture('watts_3h.csv'), '--intensity', '250', '--pue', '1.1'];
    const env = cleanEnv({ XDG_DATA_HOME: join(dir, 'data') });
    const plain = JSON.parse((await runCli([...args, '--json'], env)).stdout);
    const r = await runCli([...args, '--embodied-kg', 'gpu=200', '--lifetime-years', '5', '--json'], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const json = JSON.parse(r.stdout);
    expect(json.embodied.kgCo2e).toBeCloseTo((200 + 2500) * 3 / (5 * HOURS_PER_YEAR), 15);
    expect(plain.embodied.kgCo2e).toBeCloseTo((150 + 2500) * 3 / (6 * HOURS_PER_YEAR), 15);
    expect(json.co2e).toEqual(plain.co2e);
    expect(json.disclosure).toEqual(plain.disclosure);
    const table = (await runCli([...args, '--embodied-kg', 'gpu=200', '--lifetime-years', '5'], env)).stdout;
    expect(table).toContain('Embodied emissions (Scope 3: hardware manufacturing, amortised; not in the figures above or Table 4)');
    const csv = (await runCli([...args, '--format', 'csv'], env)).stdout.split('\n');
    const total = csv.find((l) => l.startsWith('embodied,') && l.includes(',total,'))!;
    expect(Number(total.split(',').at(-1))).toBeCloseTo((150 + 2500) * 3 / (6 * HOURS_PER_YEAR), 9);
    expect(csv.find((l) => l.startsWith('total,'))!.split(',').at(-1)).toBe('');
  });

  it('run stores --embodied-kg with the run; a later report shows the same', async () => {
    const env = cleanEnv({ XDG_DATA_HOME: join(dir, 'data') });
    const db = join(dir, 'w.db');
    const r = await runCli(['run', '--db', db, '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--quiet',
      '--intensity', '300', '--embodied-kg', 'host=1200', '--', process.execPath, '-e', 'setTimeout(() => {}, 300)'], env);
    expect(r.code).toBe(0);
    const report = JSON.parse((await runCli(['report', '--db', db, '--format', 'json'], env)).stdout);
    expect(report.embodied.lines).toEqual([expect.objectContaining({ component: 'host', units: 1, kgPerUnit: 1200, lifetimeYears: 4 })]);
    expect(report.embodied.kgCo2e).toBeCloseTo((1200 * report.durationSeconds / 3600) / (4 * HOURS_PER_YEAR), 15);
    const shown = JSON.parse((await runCli(['report', '--db', db, '--format', 'json', '--embodied-kg', '900'], env)).stdout);
    expect(shown.embodied.lines).toEqual([expect.objectContaining({ component: 'node', kgPerUnit: 900 })]);
  });
});
