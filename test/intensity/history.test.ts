import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createIntensityCache } from '../../src/store/intensity-cache.js';
import { createElectricityMapsProvider } from '../../src/intensity/electricitymaps.js';
import { historyPages } from '../../src/intensity/history.js';
import { tableProvider } from '../../src/intensity/table.js';
import { createUkProvider } from '../../src/intensity/uk.js';
import { createWattTimeProvider } from '../../src/intensity/watttime.js';
import type { IntensityProvider } from '../../src/intensity/types.js';
import { restateMinutes } from '../../src/sources/restate.js';
import { fallbackNote, restatementSource, summariseFallbacks } from '../../src/report/fallbacks.js';
import { lbsPerMwhToGramsPerKwh } from '../../src/units.js';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { electricityMapsHistoryFake, ukHistoryFake, wattTimeHistoryFake } from './history-fakes.js';

const DAY = 86_400_000;
const HALF_HOUR = 1_800_000;
const HOUR = 3_600_000;
/** "now" is 2024-06-01; the spans asked for are months before it: the pt24h/fw24h windows cannot cover them. */
const NOW = Date.UTC(2024, 5, 1, 12, 0);
const MARCH = Date.UTC(2024, 2, 14, 10, 17);

/** Per-minute IT energy of a past run: 10:17 to 16:43, 1000–1924 J a minute, values that cannot cancel. */
const minutes = Array.from({ length: 386 }, (_, i) => ({ minuteStartMs: MARCH + i * 60_000, itJoules: 1000 + (i % 13) * 77 }));
const PUE = 1.25;

/** handGrams is Σ facility kWh × the period's intensity, written out independently of the accounting code. */
function handGrams(periodMs: number, gramsAt: (periodStartMs: number) => number): number {
  let grams = 0;
  for (const m of minutes) grams += ((m.itJoules * PUE) / 3.6e6) * gramsAt(Math.floor(m.minuteStartMs / periodMs) * periodMs);
  return grams;
}

const restate = (intensity: IntensityProvider) => restateMinutes(minutes, { pue: PUE, pueSource: 'set with --pue', market: {}, intensity });

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('historyPages', () => {
  it('pages a span by the API limit on period boundaries and skips settled periods', () => {
    expect(historyPages(Date.UTC(2024, 0, 1, 0, 10), Date.UTC(2024, 0, 1, 2, 0), 1800, 3600_000, () => false)).toEqual([
      { fromMs: Date.UTC(2024, 0, 1, 0, 0), toMs: Date.UTC(2024, 0, 1, 1, 0) },
      { fromMs: Date.UTC(2024, 0, 1, 1, 0), toMs: Date.UTC(2024, 0, 1, 2, 0) },
    ]);
    const t0 = Date.UTC(2024, 0, 1);
    expect(historyPages(t0, t0 + 4 * HOUR, 3600, 10 * DAY, (t) => t === t0 + HOUR)).toEqual([
      { fromMs: t0, toMs: t0 + HOUR }, { fromMs: t0 + 2 * HOUR, toMs: t0 + 4 * HOUR },
    ]);
    expect(historyPages(t0, t0, 3600, DAY, () => false)).toEqual([]);
  });
});

describe('prepare: past spans from each API\'s history endpoint, against loopback fakes of the real shapes', () => {
  const ukGrams = (t: number) => 100 + ((t / HALF_HOUR) % 9) * 25;
  it('uk national: /intensity/{from}/{to}, 14 days a request; a replay-equivalent restatement equals the half-hourly hand computation', async () => {
    fake = await startFakeServer(ukHistoryFake(ukGrams));
    const db = new Database(':memory:');
    const cache = createIntensityCache(db);
    const uk = createUkProvider({ baseUrl: fake.baseUrl, fallback: tableProvider('GB'), cache, now: () => NOW });
    // The run's span only: one request, no pt24h/fw24h around "now".
    await uk.prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen.map((r) => r.url)).toEqual(['/intensity/2024-03-14T10:00Z/2024-03-14T17:00Z']);
    const facts = restate(uk);
    expect(facts.periods).toHaveLength(14);
    expect(facts.periods.every((p) => p.periodSeconds === 1800 && p.quality === 'actual' && p.source === 'uk: carbonintensity.org.uk national')).toBe(true);
    const expected = handGrams(HALF_HOUR, ukGrams);
    expect(Math.abs(facts.co2eLocationGrams - expected) / expected).toBeLessThan(1e-9);
    expect(summariseFallbacks(facts.periods)).toBeUndefined();

    // Cached actuals are not asked again (a second replay); a restatement asks again (refetch).
    await createUkProvider({ baseUrl: fake.baseUrl, fallback: tableProvider('GB'), cache, now: () => NOW }).prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen).toHaveLength(1);
    await uk.prepare(MARCH, MARCH + 386 * 60_000, { refetch: true });
    expect(fake.seen).toHaveLength(2);

    // 20 days: two requests, 14 days and 6.
    fake.seen.length = 0;
    const from = Date.UTC(2024, 0, 1);
    await createUkProvider({ baseUrl: fake.baseUrl, fallback: tableProvider('GB'), now: () => NOW }).prepare(from, from + 20 * DAY);
    expect(fake.seen.map((r) => r.url)).toEqual(['/intensity/2024-01-01T00:00Z/2024-01-15T00:00Z', '/intensity/2024-01-15T00:00Z/2024-01-21T00:00Z']);
    db.close();
  });

  it('uk regional: /regional/intensity/{from}/{to}/regionid/{id} (forecast figures, the only kind regions have)', async () => {
    fake = await startFakeServer(ukHistoryFake(ukGrams));
    const uk = createUkProvider({ baseUrl: fake.baseUrl, regionId: 13, fallback: tableProvider('GB'), now: () => NOW });
    await uk.prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen.map((r) => r.url)).toEqual(['/regional/intensity/2024-03-14T10:00Z/2024-03-14T17:00Z/regionid/13']);
    const facts = restate(uk);
    expect(facts.periods.every((p) => p.quality === 'forecast' && p.source === 'uk: carbonintensity.org.uk region 13')).toBe(true);
    const expected = handGrams(HALF_HOUR, ukGrams);
    expect(Math.abs(facts.co2eLocationGrams - expected) / expected).toBeLessThan(1e-9);
  });

  it('electricitymaps: /v3/carbon-intensity/past-range, 10 days a request, hourly', async () => {
    const emGrams = (t: number) => 250 + ((t / HOUR) % 5) * 61;
    fake = await startFakeServer(electricityMapsHistoryFake(emGrams, 'em-token-77'));
    const em = createElectricityMapsProvider({ baseUrl: `${fake.baseUrl}/v3`, token: 'em-token-77', zone: 'DE', fallback: tableProvider('DE'), now: () => NOW });
    await em.prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen.map((r) => r.url)).toEqual([
      '/v3/carbon-intensity/past-range?zone=DE&emissionFactorType=lifecycle&start=2024-03-14T10:00:00.000Z&end=2024-03-14T17:00:00.000Z',
    ]);
    const facts = restate(em);
    expect(facts.periods.map((p) => p.intensityGramsPerKwh)).toEqual([10, 11, 12, 13, 14, 15, 16].map((h) => emGrams(Date.UTC(2024, 2, 14, h))));
    const expected = handGrams(HOUR, emGrams);
    expect(Math.abs(facts.co2eLocationGrams - expected) / expected).toBeLessThan(1e-9);

    fake.seen.length = 0;
    const from = Date.UTC(2024, 0, 1);
    await createElectricityMapsProvider({ baseUrl: `${fake.baseUrl}/v3`, token: 'em-token-77', zone: 'DE', fallback: tableProvider('DE'), now: () => NOW }).prepare(from, from + 20 * DAY + HOUR);
    expect(fake.seen.map((r) => new URL(r.url, 'http://x').searchParams.get('start'))).toEqual(['2024-01-01T00:00:00.000Z', '2024-01-11T00:00:00.000Z', '2024-01-21T00:00:00.000Z']);
  });

  it('watttime: /v3/historical, 32 days a request, 5-minute MOER in lbs/MWh', async () => {
    const wtLbs = (t: number) => 700 + ((t / 300_000) % 11) * 13;
    fake = await startFakeServer(wattTimeHistoryFake(wtLbs, 'ana', 'pw-77'));
    const wt = createWattTimeProvider({ baseUrl: fake.baseUrl, username: 'ana', password: 'pw-77', zone: 'CAISO_NORTH', fallback: tableProvider('US-CAL-CISO'), now: () => NOW });
    await wt.prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen.map((r) => r.url)).toEqual([
      '/login', '/v3/historical?region=CAISO_NORTH&start=2024-03-14T10:15:00.000Z&end=2024-03-14T16:45:00.000Z&signal_type=co2_moer',
    ]);
    const facts = restate(wt);
    expect(facts.periods).toHaveLength(78);
    const expected = handGrams(300_000, (t) => lbsPerMwhToGramsPerKwh(wtLbs(t)));
    expect(Math.abs(facts.co2eLocationGrams - expected) / expected).toBeLessThan(1e-9);

    fake.seen.length = 0;
    const from = Date.UTC(2024, 0, 1);
    await createWattTimeProvider({ baseUrl: fake.baseUrl, username: 'ana', password: 'pw-77', zone: 'CAISO_NORTH', fallback: tableProvider('US-CAL-CISO'), now: () => NOW }).prepare(from, from + 40 * DAY);
    expect(fake.seen.map((r) => r.url.replace(/&signal_type.*/, ''))).toEqual([
      '/login', '/v3/historical?region=CAISO_NORTH&start=2024-01-01T00:00:00.000Z&end=2024-02-02T00:00:00.000Z',
      '/v3/historical?region=CAISO_NORTH&start=2024-02-02T00:00:00.000Z&end=2024-02-10T00:00:00.000Z',
    ]);
  });
});

describe('periods the history lacks fall back, counted and named', () => {
  it('2 of 14 half hours missing: each is its own half-hour row from the annual table, and the report note counts them', async () => {
    const gb = tableProvider('GB').lookup(MARCH).gramsPerKwh;
    const missing = new Set([Date.UTC(2024, 2, 14, 12, 0), Date.UTC(2024, 2, 14, 12, 30)]);
    const ukGrams = (t: number) => (missing.has(t) ? undefined : 100 + ((t / HALF_HOUR) % 9) * 25);
    fake = await startFakeServer(ukHistoryFake(ukGrams));
    const uk = createUkProvider({ baseUrl: fake.baseUrl, fallback: tableProvider('GB'), now: () => NOW });
    await uk.prepare(MARCH, MARCH + 386 * 60_000);
    const facts = restate(uk);
    expect(facts.periods).toHaveLength(14);
    expect(facts.periods.filter((p) => p.quality === 'annual').map((p) => [p.periodStartMs, p.periodSeconds])).toEqual([...missing].map((t) => [t, 1800]));
    const expected = handGrams(HALF_HOUR, (t) => ukGrams(t) ?? gb);
    expect(Math.abs(facts.co2eLocationGrams - expected) / expected).toBeLessThan(1e-9);
    const summary = summariseFallbacks(facts.periods)!;
    expect(fallbackNote(summary)).toBe(`intensity: 2 of 14 half hours from the annual table (${tableProvider('GB').lookup(MARCH).source}), not the intensity source: uk has no value for this period`);
    expect(restatementSource('uk GB', facts.periods)).toBe('uk GB (2 of 14 half hours from the annual table)');
  });

  it('an API that answers nothing: the restatement is labelled with the fallback, never with the API', async () => {
    fake = await startFakeServer(() => ({ status: 502, text: 'Bad Gateway' }));
    const uk = createUkProvider({ baseUrl: fake.baseUrl, fallback: tableProvider('GB'), now: () => NOW });
    await uk.prepare(MARCH, MARCH + 386 * 60_000);
    expect(fake.seen).toHaveLength(1);
    const facts = restate(uk);
    expect(facts.periods.every((p) => p.quality === 'annual')).toBe(true);
    expect(restatementSource('uk GB', facts.periods)).toBe(`fallback only: ${tableProvider('GB').lookup(MARCH).source} (the source asked answered no period)`);
    expect(fallbackNote(summariseFallbacks(facts.periods)!)).toMatch(/^intensity: 14 of 14 half hours from the annual table .*: uk: GET http:\/\/127\.0\.0\.1:\d+\/intensity\/2024-03-14T10:00Z\/2024-03-14T17:00Z: HTTP 502: Bad Gateway$/);
  });
});
