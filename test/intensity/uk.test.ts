import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import { createUkProvider, parseUkIntensity, ukTime } from '../../src/intensity/uk.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { startFakeServer, type FakeServer } from './fake-server.js';

const T = (day: number, hour: number, minute = 0): number => Date.UTC(2023, 4, day, hour, minute);
const NOW = T(4, 12, 40);
const period = (fromMs: number, forecast: number, actual: number | null) => ({
  from: ukTime(fromMs), to: ukTime(fromMs + 1_800_000), intensity: { forecast, actual, index: 'low' },
});
/** Real national shapes: pt24h carries actuals, fw24h has actual null for the future. */
const national = (url: string) => {
  if (url === '/intensity/2023-05-04T12:30Z/pt24h') return { json: { data: [period(T(4, 11, 30), 20, 18), period(T(4, 12), 19, 17)] } };
  if (url === '/intensity/2023-05-04T12:30Z/fw24h') return { json: { data: [period(T(4, 12, 30), 11, null), period(T(4, 13), 15, null)] } };
  return { status: 400, json: { error: { code: '400 Bad Request', message: 'Please enter a valid date' } } };
};

describe('uk provider against a loopback fake', () => {
  let fake: FakeServer;
  beforeEach(async () => {
    fake = await startFakeServer((req) => national(req.url));
  });
  afterEach(() => fake.close());

  it('answers half-hourly national values, actual where measured', async () => {
    const provider = createUkProvider({ baseUrl: fake.baseUrl, fallback: constantProvider(200) });
    expect(provider.zone).toBe('GB');
    await provider.refresh(NOW);
    expect(fake.seen.map((r) => r.url)).toEqual(['/intensity/2023-05-04T12:30Z/pt24h', '/intensity/2023-05-04T12:30Z/fw24h']);
    expect(provider.lookup(T(4, 12, 10))).toEqual({ gramsPerKwh: 17, source: 'uk: carbonintensity.org.uk national', periodStartMs: T(4, 12), periodSeconds: 1800, quality: 'actual' });
    expect(provider.lookup(T(4, 12, 59))).toEqual({ gramsPerKwh: 11, source: 'uk: carbonintensity.org.uk national', periodStartMs: T(4, 12, 30), periodSeconds: 1800, quality: 'forecast' });
    expect(provider.lookup(T(4, 14)).source).toBe('constant (--intensity) (fallback: uk has no value for this period)');
  });

  it('rejects a region id outside 1..17', () => {
    expect(() => createUkProvider({ regionId: 18, fallback: constantProvider(1) })).toThrow('UK region id must be 1..17');
  });
});

const CATS = `${SHARED_FIXTURES}grid-intensity/cats__uk_carbonintensity_forecast_24h.csv`;

describeShared('grid-intensity/cats__uk_carbonintensity_forecast_24h.csv')('uk regional forecast built from the real CATS capture', () => {
  let fake: FakeServer;
  afterEach(() => fake.close());

  it('serves the 2023-05-04 regional 48 h forecast and answers each half hour', async () => {
    // CATS saved the API's regional forecast as time,deltaseconds,unix,intensity; rebuild the API's JSON.
    const rows = readFileSync(CATS, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
    const periods = rows.map(([time, , , intensity]) => period(Date.parse(time!), Number(intensity), null));
    fake = await startFakeServer((req) =>
      req.url.includes('/fw24h/')
        ? { json: { data: [{ regionid: 13, dnoregion: 'UKPN London', shortname: 'London', data: periods }] } }
        : { json: { data: { regionid: 13, dnoregion: 'UKPN London', shortname: 'London', data: [] } } },
    );
    const provider = createUkProvider({ baseUrl: fake.baseUrl, regionId: 13, fallback: constantProvider(200) });
    await provider.refresh(NOW);
    expect(fake.seen.map((r) => r.url)).toEqual([
      '/regional/intensity/2023-05-04T12:30Z/pt24h/regionid/13',
      '/regional/intensity/2023-05-04T12:30Z/fw24h/regionid/13',
    ]);
    expect(provider.zone).toBe('GB-region-13');
    const series = provider.series(T(4, 12, 30), T(6, 12, 30));
    expect(series).toHaveLength(96);
    expect(series[0]).toEqual({ gramsPerKwh: 11, source: 'uk: carbonintensity.org.uk region 13', periodStartMs: T(4, 12, 30), periodSeconds: 1800, quality: 'forecast' });
    expect(series.at(-1)).toMatchObject({ gramsPerKwh: 40, periodStartMs: T(6, 12) });
    expect(provider.lookup(T(5, 0, 45)).gramsPerKwh).toBe(Number(rows.find(([t]) => t === '2023-05-05T00:30Z')![3]));
  });
});

describe('parseUkIntensity', () => {
  it('rejects a body without data periods', () => {
    expect(() => parseUkIntensity({ data: 'x' }, 's')).toThrow('carbonintensity data: expected a JSON object');
    expect(parseUkIntensity({ data: [] }, 's')).toEqual([]);
  });
});
