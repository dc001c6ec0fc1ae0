import { rmSync } from 'node:fs';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, afterAll } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import { ukTime } from '../../src/intensity/uk.js';
import { baseEnv as cleanEnv, runCli, tempDir } from '../helpers/cli.js';
import { startFakeServer, type FakeServer } from '../intensity/fake-server.js';

const NOW = '2023-05-04T12:40:00Z';
const at = (hh: number, mm: number): number => Date.UTC(2023, 4, 4, hh, mm);
const period = (fromMs: number, forecast: number, actual: number | null) => ({
  from: ukTime(fromMs), to: ukTime(fromMs + 1_800_000), intensity: { forecast, actual, index: 'moderate' },
});
const AHEAD = [300, 280, 250, 120, 100, 110, 200, 260, 300, 310];
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/replay/${name}`, import.meta.url));

/** baseEnv with a private data home, so no test reads or writes the user's default database. */
const dataHome = tempDir('forecast-data');
afterAll(() => rmSync(dataHome, { recursive: true, force: true }));
const baseEnv = (extra: Record<string, string> = {}) => cleanEnv({ XDG_DATA_HOME: dataHome, ...extra });

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** National carbonintensity.org.uk shapes: pt24h has actuals, fw24h forecasts with actual null. */
async function ukFake(): Promise<FakeServer> {
  return startFakeServer((req) => {
    if (req.url === '/intensity/2023-05-04T12:30Z/pt24h') return { json: { data: [period(at(12, 0), 290, 285)] } };
    if (req.url === '/intensity/2023-05-04T12:30Z/fw24h') return { json: { data: AHEAD.map((g, i) => period(at(12, 30) + i * 1_800_000, g, null)) } };
    return { status: 400, json: { error: { code: '400 Bad Request', message: 'Please enter a valid date' } } };
  });
}

describe('wattprint forecast', () => {
  it('finds the lowest-carbon 1.5 h window in the UK half-hourly forecast, UTC and local, with the saving', async () => {
    fake = await ukFake();
    const env = baseEnv({ TZ: 'Europe/London' });
    const r = await runCli(['forecast', '--zone', 'GB', '--hours', '1.5', '--intensity-url', fake.baseUrl, '--now', NOW, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // From now (12:40): 20 min at 300, 30 at 280, 30 at 250, 10 at 120 → 23100/90; best 14:00–15:30: (120+100+110)/3 = 110.
    expect(out).toMatchObject({
      zone: 'GB', source: 'uk GB', hours: 1.5, nowAt: '2023-05-04T12:40:00.000Z', horizonEndAt: '2023-05-04T17:30:00.000Z',
      startAt: '2023-05-04T14:00:00.000Z', endAt: '2023-05-04T15:30:00.000Z',
      startLocal: '2023-05-04 15:00 UTC+01:00', endLocal: '2023-05-04 16:30 UTC+01:00',
    });
    expect(out.avgGramsPerKwh).toBeCloseTo(110, 9);
    expect(out.nowGramsPerKwh).toBeCloseTo(23100 / 90, 9);
    expect(out.savingPercent).toBeCloseTo((1 - 9900 / 23100) * 100, 9);
    expect(out.waitHours).toBeCloseTo(80 / 60, 12);
    const text = await runCli(['forecast', '--zone', 'uk', '--hours', '1.5', '--intensity-url', fake.baseUrl, '--now', NOW], env);
    expect(text.stdout).toBe([
      'Lowest-carbon 1.5 h window, uk GB (forecast to 2023-05-04 17:30Z)',
      'start    2023-05-04 14:00Z  (local 2023-05-04 15:00 UTC+01:00)',
      'end      2023-05-04 15:30Z  (local 2023-05-04 16:30 UTC+01:00)',
      'average  110 gCO2e/kWh',
      'now      257 gCO2e/kWh if started at 2023-05-04 12:40Z',
      'saving   57.1% by waiting 1.33 h',
      '',
    ].join('\n'));
  });

  it('plans on an intensity file that does not cover now from its first period, and says so', async () => {
    const r = await runCli(['forecast', '--intensity-file', fixture('intensity_de_3h.csv'), '--hours', '1', '--json'], baseEnv({ TZ: 'UTC' }));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ zone: 'DE', startAt: '2024-01-01T02:00:00.000Z', avgGramsPerKwh: 100, nowGramsPerKwh: 300, waitHours: 2 });
    expect(out.savingPercent).toBeCloseTo(200 / 3, 9);
    expect(out.note).toBe('the file covers 2024-01-01T00:00:00.000Z to 2024-01-01T03:00:00.000Z, not now: planned from its first period (use --now to pick another start)');
  });

  it('answers bad input with one line and exit 2', async () => {
    fake = await ukFake();
    const cases: [string[], string][] = [
      [['--zone', 'GB', '--hours', '6', '--intensity-url', fake.baseUrl, '--now', NOW], 'wattprint: no gap-free 6 h window in the forecast (it reaches 4.833333333333333 h ahead): choose fewer hours\n'],
      [['--zone', 'DEE'], "wattprint: unknown zone 'DEE': did you mean DE, EE? (see `wattprint zones`)\n"],
      [['--zone', 'DE'], 'wattprint: no forecast source for DE: set WATTPRINT_ELECTRICITYMAPS_TOKEN, or pass --intensity-source watttime or --intensity-file F\n'],
      [['--zone', 'DE', '--intensity-source', 'table'], 'wattprint: --intensity-source table is one flat figure, so every start is the same: use uk, electricitymaps, watttime or --intensity-file\n'],
      [['--zone', 'GB', '--now', 'yesterday'], "wattprint: --now takes an ISO 8601 time or Unix seconds, got 'yesterday'\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCli(['forecast', ...args], baseEnv());
      expect([r.code, r.stderr, r.stdout]).toEqual([2, stderr, '']);
    }
  });
});

describe('wattprint forecast against Electricity Maps', () => {
  const TOKEN = 'em-secret-token-123';
  const point = (iso: string, carbonIntensity: number) => ({ carbonIntensity, datetime: iso });

  it('plans on /forecast, sends the token only as the auth-token header', async () => {
    fake = await startFakeServer((req) => {
      if (req.headers['auth-token'] !== TOKEN) return { status: 401, json: { message: 'unauthorized' } };
      if (req.url.startsWith('/v3/carbon-intensity/latest')) return { json: { zone: 'DE', ...point('2024-01-01T12:00:00.000Z', 400), isEstimated: false } };
      if (req.url.startsWith('/v3/carbon-intensity/history')) return { json: { zone: 'DE', history: [point('2024-01-01T11:00:00.000Z', 410)] } };
      if (req.url.startsWith('/v3/carbon-intensity/forecast')) {
        return { json: { zone: 'DE', forecast: [350, 200, 150, 300].map((g, i) => point(new Date(Date.UTC(2024, 0, 1, 13 + i)).toISOString(), g)), updatedAt: '2024-01-01T12:00:00.000Z' } };
      }
      return { status: 404, json: { error: 'not found' } };
    });
    const env = baseEnv({ TZ: 'UTC', WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN });
    const r = await runCli(['forecast', '--zone', 'DE', '--hours', '2', '--intensity-url', `${fake.baseUrl}/v3`, '--now', '2024-01-01T12:00:00Z', '--json'], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // now 12:00: (400 + 350)/2 = 375; 13:00 275; 14:00 (200 + 150)/2 = 175; 15:00 225; 16:00 has no 2 h of data.
    expect(out).toMatchObject({ source: 'electricitymaps DE', startAt: '2024-01-01T14:00:00.000Z', endAt: '2024-01-01T16:00:00.000Z', avgGramsPerKwh: 175, nowGramsPerKwh: 375 });
    expect(out.savingPercent).toBeCloseTo((200 / 375) * 100, 9);

    const bad = await runCli(['forecast', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`, '--now', '2024-01-01T12:00:00Z'], baseEnv({ WATTPRINT_ELECTRICITYMAPS_TOKEN: 'wrong-token-456' }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`wattprint: electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 401: {"message":"unauthorized"} (check the token); stopped fetching, using cache, then table\n`);
    expect(bad.stderr + bad.stdout).not.toContain('wrong-token-456');
  });

  it('says to try later on 429 and 5xx (exit 1)', async () => {
    for (const [status, text] of [[429, 'HTTP 429: {"message":"slow down"}'], [503, 'HTTP 503: upstream down']] as const) {
      fake = await startFakeServer(() => (status === 429 ? { status, json: { message: 'slow down' }, headers: { 'retry-after': '60' } } : { status, text: 'upstream down' }));
      const r = await runCli(['forecast', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`], baseEnv({ WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN }));
      expect([r.code, r.stderr]).toEqual([1, `wattprint: electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: ${text}: no cached forecast to plan on; try again later\n`]);
      await fake.close();
      fake = undefined;
    }
  });
});

const CATS = `${SHARED_FIXTURES}grid-intensity/cats__uk_carbonintensity_forecast_24h.csv`;

describeShared('grid-intensity/cats__uk_carbonintensity_forecast_24h.csv')('wattprint forecast on the real 2023-05-04 London regional forecast (CATS capture)', () => {
  it('picks the 3 h window starting 2023-05-05 12:30Z at 7.17 g/kWh', async () => {
    // CATS saved the API's regional 48 h forecast as time,deltaseconds,unix,intensity; serve it in the API's JSON shape.
    const rows = readFileSync(CATS, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
    const periods = rows.map(([time, , , g]) => period(Date.parse(time!), Number(g), null));
    fake = await startFakeServer((req) => req.url === '/regional/intensity/2023-05-04T12:30Z/fw24h/regionid/13'
      ? { json: { data: [{ regionid: 13, dnoregion: 'UKPN London', shortname: 'London', data: periods }] } }
      : { json: { data: [{ regionid: 13, dnoregion: 'UKPN London', shortname: 'London', data: [] }] } });
    const r = await runCli(['forecast', '--zone', 'GB', '--uk-region', '13', '--hours', '3', '--intensity-url', fake.baseUrl, '--now', NOW, '--json'], baseEnv());
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // Six half hours 12:30..15:00 on 5 May: (8+7+7+5+8+8)/6 — the minimum over the 48 h; now: (11·20 + 84·30 + 16·10)/180.
    expect(out).toMatchObject({ zone: 'GB-region-13', startAt: '2023-05-05T12:30:00.000Z', endAt: '2023-05-05T15:30:00.000Z', horizonEndAt: '2023-05-06T12:30:00.000Z' });
    expect(out.avgGramsPerKwh).toBeCloseTo(43 / 6, 9);
    expect(out.nowGramsPerKwh).toBeCloseTo(2900 / 180, 9);
  });
});
