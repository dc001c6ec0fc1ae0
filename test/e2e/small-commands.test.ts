import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

let dir: string;
let db: string;
beforeAll(async () => {
  dir = tempDir('e2e-small');
  db = join(dir, 'w.db');
  // Two simulated GPUs with energy counters, about 2 s at 0.2 s intervals, in zone FR.
  const r = await runCli(['run', '--db', db, '--no-listen', '--quiet', '--collectors', 'sim', '--sim-devices', '2', '--interval', '0.2',
    '--zone', 'FR', '--run-id', 'small-1', '--', process.execPath, '-e', 'setTimeout(() => {}, 2000)']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wattprint zones SEARCH', () => {
  it('filters by code prefix, by name, and by any spelling of a zone', async () => {
    const byName = await runCli(['zones', 'germ']);
    expect(byName.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['DE']);
    const byCode = JSON.parse((await runCli(['zones', 'us-cal', '--json'])).stdout) as { zone: string }[];
    expect(byCode.length).toBeGreaterThan(2);
    expect(byCode.every((z) => z.zone.startsWith('US-CAL-'))).toBe(true);
    const alpha3 = JSON.parse((await runCli(['zones', 'DEU', '--json'])).stdout) as { zone: string }[];
    expect(alpha3[0]!.zone).toBe('DE');
    const none = await runCli(['zones', 'xyzzy']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("wattprint: no zone matches 'xyzzy': try part of a country name or a code prefix (`wattprint zones` lists all)\n");
  });
});

describe('wattprint runs', () => {
  it('shows host, zone, status and CO2e of each run', async () => {
    const r = await runCli(['runs', '--db', db]);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header).toMatch(/^RUN ID +HOST +ZONE +STATUS +EXIT +STARTED \(UTC\) +DURATION +FACILITY ENERGY +CO2e +COMMAND$/);
    expect(row).toMatch(new RegExp(`^small-1 +${hostname()} +FR +ended +0 +\\S+ \\S+ +\\d+s +[\\d.]+ (mWh|Wh) +[\\d.]+ (mg|g) +`));
    const [json] = JSON.parse((await runCli(['runs', '--db', db, '--json'])).stdout) as { hostname: string; zone: string; status: string; co2eLocationKg: number }[];
    expect(json).toMatchObject({ hostname: hostname(), zone: 'FR', status: 'ended' });
    expect(json!.co2eLocationKg).toBeGreaterThan(0);
  });
});

describe('wattprint report --samples csv', () => {
  it('exports the raw samples, which replay reads back to the stored energy', async () => {
    const r = await runCli(['report', 'small-1', '--db', db, '--samples', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('timestamp,device,kind,watts,joules_total');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBeGreaterThanOrEqual(2 * 5);
    expect(new Set(rows.map((c) => c[1]))).toEqual(new Set(['sim0', 'sim1']));
    for (const c of rows) {
      expect(Date.parse(c[0]!)).not.toBeNaN();
      expect(c[2]).toBe('gpu');
      expect(Number(c[3])).toBeGreaterThan(0);
      expect(Number(c[4])).toBeGreaterThan(0);
    }
    // Keep the counter column: replay integrates it exactly, the energy the run stored.
    const counters = join(dir, 'counters.csv');
    writeFileSync(counters, ['timestamp,device,joules_total', ...rows.map((c) => `${c[0]},${c[1]},${c[4]}`)].join('\n') + '\n');
    const replayed = JSON.parse((await runCli(['replay', counters, '--zone', 'FR', '--format', 'json'])).stdout) as { energy: { itKwh: number } };
    const stored = JSON.parse((await runCli(['report', 'small-1', '--db', db, '--format', 'json'])).stdout) as { energy: { itKwh: number } };
    expect(replayed.energy.itKwh).toBeCloseTo(stored.energy.itKwh, 12);
    const noSamples = await runCli(['report', 'small-1', '--db', db, '--samples', 'xml']);
    expect(noSamples.code).toBe(2);
  });
});

describe('wattprint replay --report-file', () => {
  it('writes the report in the format of the file\'s extension, as run does', async () => {
    const trace = join(dir, 'trace.csv');
    writeFileSync(trace, 'timestamp,device,watts\n2026-03-01T10:00:00Z,gpu0,300\n2026-03-01T10:00:10Z,gpu0,300\n');
    const json = join(dir, 'replay.json');
    const md = join(dir, 'replay.md');
    const a = await runCli(['replay', trace, '--intensity', '100', '--format', 'json', '--report-file', json]);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual(JSON.parse(a.stdout));
    const b = await runCli(['replay', trace, '--intensity', '100', '--report-file', md]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(md, 'utf8')).toMatch(/^# wattprint report: run `replay-trace`/);
    const bad = await runCli(['replay', trace, '--intensity', '100', '--report-file', join(dir, 'no', 'such', 'r.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^wattprint: cannot write --report-file .*r\.json: its folder does not exist; pass a writable path\n$/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
