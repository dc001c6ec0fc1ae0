import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableProvider } from '../../src/intensity/table.js';
import { baseEnv as cleanEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/replay/${name}`, import.meta.url));
const DE_TABLE = tableProvider('DE').lookup(Date.UTC(2024, 0, 1)).gramsPerKwh;
const TABLE_2024 = 'table: Electricity Maps 2024 yearly, lifecycle (ODbL)';
const node = process.execPath;

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  dir = tempDir('e2e-replay');
  writeTree(dir, { 'sys/class/.keep': '' });
  env = cleanEnv({ XDG_DATA_HOME: join(dir, 'data') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const replayJson = async (args: string[]) => {
  const r = await runCli(['replay', ...args, '--json'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('wattprint replay', () => {
  const carbon = ['--intensity-file', fixture('intensity_de_3h.csv'), '--zone', 'DE', '--pue', '1.1'];

  it('accounts a 3 h watts trace across three hour boundaries at three file intensities, the missing hour flagged', async () => {
    const r = await replayJson([fixture('watts_3h.csv'), ...carbon]);
    expect(r).toMatchObject({ runId: 'replay-watts_3h', startedAt: '2024-01-01T00:30:00.000Z', endedAt: '2024-01-01T03:30:00.000Z', durationSeconds: 10_800, pue: 1.1 });
    expect(r.energy.itKwh).toBeCloseTo(1.2, 12);
    expect(r.energy.facilityKwh).toBeCloseTo(1.32, 12);
    expect(r.hourly.map((h: { intensityGramsPerKwh: number; quality: string }) => [h.intensityGramsPerKwh, h.quality])).toEqual([[300, 'actual'], [200, 'actual'], [100, 'actual'], [DE_TABLE, 'annual']]);
    expect(r.hourly[3].source).toContain('(fallback: no row in intensity_de_3h.csv for this period)');
    expect(r.co2e.locationKg * 1000).toBeCloseTo(66 + 88 + 44 + 0.22 * DE_TABLE, 9);
    expect(r.co2e.marketKg * 1000).toBeCloseTo(33 + 88 + 33 + 0.22 * DE_TABLE, 9);
  });

  it('gives the same energy and CO2e for the counter trace of the same run', async () => {
    const [watts, counters] = await Promise.all([replayJson([fixture('watts_3h.csv'), ...carbon]), replayJson([fixture('counters_3h.csv'), ...carbon])]);
    expect(counters.energy.byDevice.map((d: { method: string }) => d.method)).toEqual(['counter', 'counter']);
    expect(counters.energy.itKwh).toBe(watts.energy.itKwh);
    expect(counters.co2e).toEqual(watts.co2e);
    expect(counters.hourly.map((h: { itKwh: number }) => h.itKwh)).toEqual(watts.hourly.map((h: { itKwh: number }) => h.itKwh));
  });

  it('accounts half-hour periods, and market-based from --market-intensity next to location-based', async () => {
    const r = await replayJson([fixture('watts_half_hours.csv'), '--intensity-file', fixture('intensity_gb_half_hour.csv'), '--pue', '1', '--market-intensity', '20']);
    expect(r.hourly.map((h: { periodSeconds: number; intensityGramsPerKwh: number }) => [h.periodSeconds, h.intensityGramsPerKwh])).toEqual([[1800, 100], [1800, 200], [1800, 50]]);
    expect(r.co2e.locationKg * 1000).toBeCloseTo(55, 9);
    expect(r.co2e.marketKg * 1000).toBeCloseTo(0.4 * 20, 9);
    expect(r.intensity.marketBasis).toBe('market intensity 20 gCO2e/kWh (--market-intensity)');
  });

  it('adds counterfactual zones with --compare', async () => {
    const r = await replayJson([fixture('watts_3h.csv'), '--intensity', '250', '--pue', '1.1', '--compare', 'FR,ZA']);
    expect(r.counterfactuals).toEqual([
      { zone: 'FR', name: 'France', avgGramsPerKwh: expect.closeTo(33, 9), co2eLocationKg: expect.closeTo(1.32 * 33 / 1000, 12), source: TABLE_2024 },
      { zone: 'ZA', name: 'South Africa', avgGramsPerKwh: expect.closeTo(712, 9), co2eLocationKg: expect.closeTo(1.32 * 712 / 1000, 12), source: TABLE_2024 },
    ]);
    const defaults = await replayJson([fixture('watts_3h.csv'), '--compare']);
    expect(defaults.counterfactuals.map((c: { zone: string }) => c.zone)).toEqual(['NO', 'FR', 'GB', 'US-CAL-CISO', 'DE', 'US', 'IN', 'ZA']);
  });

  it('prints the table report with the hourly rows', async () => {
    const r = await runCli(['replay', fixture('watts_3h.csv'), ...carbon], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('By hour (UTC)');
    expect(r.stdout).toContain('2024-01-01 02:00:00Z   400.0 Wh         440.0 Wh        100         44.0 g       33.0 g  csv: intensity_de_3h.csv (plain) (actual)');
  });

  it('answers bad input with one line naming file, line and column, and exit 2', async () => {
    const cases: [string[], string][] = [
      [[fixture('bad_cell.csv')], "wattprint: bad_cell.csv:3:27: column 'watts': '3o0' is not a number (or pass --skip-bad-rows to leave such rows out)\n"],
      [[fixture('watts_3h.csv'), '--intensity-file', fixture('overlap_intensity.csv')], 'wattprint: overlap_intensity.csv:4: overlapping periods: lines 3 and 4 both cover 2024-01-01T01:00:00.000Z for zone DE\n'],
      [[fixture('watts_3h.csv'), '--zone', 'DEE'], "wattprint: unknown zone 'DEE': did you mean DE, EE? (see `wattprint zones`)\n"],
      [[fixture('watts_3h.csv'), '--compare', 'FR,XX'], "wattprint: --compare: unknown zone 'XX': did you mean AX, MX, XK? (see `wattprint zones`)\n"],
      [[fixture('watts_3h.csv'), '--cfe', '0.3', '--market-intensity', '10'], 'wattprint: --market-intensity and --cfe both set the market-based figure: give one of them\n'],
      [[join(dir, 'missing.csv')], `wattprint: cannot read trace ${join(dir, 'missing.csv')}: no such file; give a CSV with a header 'timestamp,device,watts' or 'timestamp,device,joules_total'\n`],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCli(['replay', ...args], env);
      expect([r.code, r.stderr, r.stdout]).toEqual([2, stderr, '']);
    }
  });
});

describe('wattprint report --restate and --compare on a tracked run', () => {
  it('recomputes from the stored per-minute energy, shows old and new side by side and keeps both', async () => {
    const db = join(dir, 'w.db');
    const common = ['--db', db, '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--quiet'];
    const run = await runCli(['run', ...common, '--intensity', '400', '--pue', '1.1', '--run-id', 'r1', '--', node, '-e', 'setTimeout(() => {}, 600)'], env);
    expect(run.code).toBe(0);
    const tracked = JSON.parse((await runCli(['report', 'r1', '--db', db, '--format', 'json'], env)).stdout);
    expect(tracked.restatement).toBeUndefined();

    const restated = await runCli(['report', 'r1', '--db', db, '--format', 'json', '--restate', '--intensity', '100'], env);
    expect(restated.stderr).toBe('');
    const r = JSON.parse(restated.stdout);
    expect(r.restatement.source).toBe('constant 100 gCO2e/kWh');
    expect(r.restatement.before).toEqual({ co2eLocationKg: expect.closeTo(tracked.co2e.locationKg, 15), co2eMarketKg: expect.closeTo(tracked.co2e.marketKg, 15), avgGramsPerKwh: expect.closeTo(400, 9), intensitySource: 'constant (--intensity)' });
    expect(r.restatement.after.co2eLocationKg).toBeCloseTo(tracked.co2e.locationKg / 4, 15);
    expect(r.restatement.after.avgGramsPerKwh).toBeCloseTo(100, 9);
    expect(r.co2e.locationKg).toBe(r.restatement.after.co2eLocationKg);
    expect(r.energy.itKwh).toBeCloseTo(tracked.energy.itKwh, 15);

    // Later reports show the restated figures; the tracked ones stay in the database too.
    const later = JSON.parse((await runCli(['report', 'r1', '--db', db, '--format', 'json', '--compare', 'FR'], env)).stdout);
    expect(later.restatement).toEqual(r.restatement);
    const fr = tableProvider('FR').lookup(Date.parse(tracked.startedAt));
    expect(later.counterfactuals).toEqual([{ zone: 'FR', name: 'France', avgGramsPerKwh: expect.closeTo(fr.gramsPerKwh, 9), co2eLocationKg: expect.closeTo(tracked.energy.facilityKwh * fr.gramsPerKwh / 1000, 12), source: fr.source }]);
    const sqlite = new Database(db, { readonly: true });
    const rows = sqlite.prepare('SELECT source, old_json, new_json FROM restatements').all() as { source: string; old_json: string; new_json: string }[];
    const periodGrams = sqlite.prepare('SELECT SUM(co2e_location_g) AS g FROM energy_period').get() as { g: number };
    sqlite.close();
    expect(rows.map((x) => x.source)).toEqual(['constant 100 gCO2e/kWh']);
    expect(JSON.parse(rows[0]!.old_json).co2eLocationGrams).toBeCloseTo(periodGrams.g, 12);
    expect(JSON.parse(rows[0]!.new_json).co2eLocationGrams).toBeCloseTo(periodGrams.g / 4, 12);

    const none = await runCli(['report', 'r1', '--db', db, '--restate'], env);
    expect([none.code, none.stderr]).toEqual([2, 'wattprint: --restate needs the new intensity data: --intensity-file F, --zone Z, --intensity G or --intensity-source S (run r1 was tracked with constant)\n']);
  });
});

describe('wattprint replay --skip-bad-rows', () => {
  it('stops at a malformed row without it, and with it leaves bad rows out and says how many in the notes', async () => {
    const trace = join(dir, 'bad-rows.csv');
    writeTree(dir, { 'bad-rows.csv': 'timestamp,device,watts\r\n2024-01-01T00:00:00Z,gpu0,100\r\n2024-01-01T00:00:01Z,gpu0\r\n' +
      '2024-01-01T00:00:02Z,gpu0,100,1\r\n2024-01-01T00:00:03Z,gpu0,100\r\n' });
    const strict = await runCli(['replay', trace, '--intensity', '100'], env);
    expect([strict.code, strict.stdout, strict.stderr]).toEqual([2, '',
      "wattprint: bad-rows.csv:3:26: 2 fields where the header has 3: no 'watts' (write an empty field for a missing value) " +
      '(or pass --skip-bad-rows to leave such rows out)\n']);
    const r = await replayJson([trace, '--intensity', '100', '--skip-bad-rows']);
    expect(r.notes).toContain("2 bad rows of bad-rows.csv left out (--skip-bad-rows); the first: bad-rows.csv:3:26: 2 fields where the header has 3: no 'watts' (write an empty field for a missing value)");
    expect(r.energy.itKwh * 3.6e6).toBeCloseTo(300, 9);
  });
});
