import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createElectricityMapsProvider } from '../../src/intensity/electricitymaps.js';
import type { IntensityCache } from '../../src/intensity/cache.js';
import { createIntensityCache } from '../../src/store/intensity-cache.js';
import { tableProvider } from '../../src/intensity/table.js';
import { startFakeServer, type FakeReply, type FakeServer } from './fake-server.js';

const TOKEN = 'em-token-abcdef';
const H = (hour: number, minute = 0): number => Date.UTC(2024, 0, 1, hour, minute);
const NOW = H(12, 20);
const point = (hour: number, carbonIntensity: number | null, isEstimated = false) => ({
  zone: 'DE', carbonIntensity, datetime: new Date(H(hour)).toISOString(), updatedAt: '2024-01-01T12:05:00.000Z',
  createdAt: '2023-12-29T12:00:00.000Z', emissionFactorType: 'lifecycle', isEstimated, estimationMethod: isEstimated ? 'TIME_SLICER_AVERAGE' : null,
});
/** Real v3 shapes: latest is a bare object, history {zone, history: [...]}, forecast {zone, forecast, updatedAt}. */
const ok = (url: string): FakeReply => {
  if (url.startsWith('/v3/carbon-intensity/latest')) return { json: point(12, 320, true) };
  if (url.startsWith('/v3/carbon-intensity/history')) return { json: { zone: 'DE', history: [point(10, 300), point(11, 310), point(9, null)] } };
  if (url.startsWith('/v3/carbon-intensity/forecast')) {
    return { json: { zone: 'DE', forecast: [{ carbonIntensity: 330, datetime: '2024-01-01T13:00:00.000Z' }, { carbonIntensity: 340, datetime: '2024-01-01T14:00:00.000Z' }], updatedAt: '2024-01-01T12:00:00.000Z' } };
  }
  return { status: 404, json: { error: 'not found' } };
};

describe('electricitymaps provider against a loopback fake', () => {
  let fake: FakeServer;
  let db: Database.Database;
  let cache: IntensityCache;
  beforeEach(async () => {
    fake = await startFakeServer((req) => ok(req.url));
    db = new Database(':memory:');
    cache = createIntensityCache(db);
  });
  afterEach(async () => {
    await fake.close();
    db.close();
  });
  // random: () => 0 takes the jitter out (each delay at its base), so the timings below are exact.
  const make = (reports: string[] = [], random: () => number = () => 0) =>
    createElectricityMapsProvider({
      baseUrl: `${fake.baseUrl}/v3`, token: TOKEN, zone: 'DE', cache, now: () => NOW,
      fallback: tableProvider('DE'), onReport: (line) => reports.push(line), random,
    });

  it('fetches latest, history and forecast with the auth-token header and answers per hour', async () => {
    const provider = make();
    expect(provider.lookup(H(11, 30)).source).toBe('table: Electricity Maps 2024 yearly, lifecycle (ODbL) (fallback: electricitymaps has no value for this period)');
    await provider.refresh(NOW);
    expect(fake.seen.map((r) => r.url)).toEqual([
      '/v3/carbon-intensity/latest?zone=DE&emissionFactorType=lifecycle',
      '/v3/carbon-intensity/history?zone=DE&emissionFactorType=lifecycle',
      '/v3/carbon-intensity/forecast?zone=DE&emissionFactorType=lifecycle',
    ]);
    expect(fake.seen.every((r) => r.headers['auth-token'] === TOKEN)).toBe(true);
    expect(provider.lookup(H(11, 30))).toEqual({ gramsPerKwh: 310, source: 'electricitymaps DE (lifecycle)', periodStartMs: H(11), periodSeconds: 3600, quality: 'actual' });
    expect(provider.lookup(H(12, 20)).gramsPerKwh).toBe(320);
    expect(provider.lookup(H(14, 59))).toMatchObject({ gramsPerKwh: 340, quality: 'forecast' });
    expect(provider.lookup(H(9)).gramsPerKwh).toBe(341); // null point: table fallback
    expect(provider.series(H(10), H(15)).map((v) => v.gramsPerKwh)).toEqual([300, 310, 320, 330, 340]);
    expect(provider.status()).toMatchObject({ state: 'ok', failures: 0, lastSuccessMs: NOW, nextTryMs: NOW + 15 * 60_000 });
    // A second refresh inside the interval does not call the API.
    await provider.refresh(NOW + 60_000);
    expect(fake.seen).toHaveLength(3);
    // Everything fetched is cached: a fresh provider with the API down answers from the cache.
    fake.handler = () => ({ status: 503, text: 'down' });
    const restarted = make();
    expect(restarted.lookup(H(13, 10))).toMatchObject({ gramsPerKwh: 330, quality: 'forecast' });
    expect(cache.get('electricitymaps', 'DE', H(10))?.gramsPerKwh).toBe(300);
  });

  it('backs off on 429 honouring Retry-After, then falls back to the table, flagged', async () => {
    fake.handler = () => ({ status: 429, json: { message: 'rate limited' }, headers: { 'retry-after': '600' } });
    const provider = make();
    await provider.refresh(NOW);
    const status = provider.status();
    expect(status.state).toBe('backing-off');
    expect(status.nextTryMs).toBe(NOW + 600_000);
    expect(status.message).toBe(
      `electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 429: {"message":"rate limited"}; retrying at 2024-01-01T12:30:00.000Z; using cache, then table`,
    );
    await provider.refresh(NOW + 599_000);
    expect(fake.seen).toHaveLength(1);
    expect(provider.lookup(H(12, 30))).toEqual({
      gramsPerKwh: 341, periodStartMs: H(12), periodSeconds: 3600, quality: 'annual',
      source: `table: Electricity Maps 2024 yearly, lifecycle (ODbL) (fallback: electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 429: {"message":"rate limited"})`,
    });
    fake.handler = (req) => ok(req.url);
    await provider.refresh(NOW + 600_000);
    expect(provider.status().state).toBe('ok');
    expect(provider.lookup(H(12, 30)).gramsPerKwh).toBe(320);
  });

  it('spreads retries and refreshes with jitter, never earlier than Retry-After or the backoff', async () => {
    fake.handler = () => ({ status: 429, json: { message: 'rate limited' }, headers: { 'retry-after': '600' } });
    // Eight nodes of one job, hitting the rate limit at the same second, with real random numbers.
    const nodes = Array.from({ length: 8 }, () => make([], Math.random));
    for (const node of nodes) await node.refresh(NOW);
    const retries = nodes.map((n) => n.status().nextTryMs! - NOW);
    for (const ms of retries) {
      expect(ms).toBeGreaterThanOrEqual(600_000);
      expect(ms).toBeLessThan(900_000); // at most half the delay again
    }
    expect(new Set(retries).size).toBeGreaterThan(4); // not in step
    // The bounds of the jitter, exactly: random 0 is the delay itself, random → 1 is 1.5 × the delay.
    const late = make([], () => 0.999999);
    await late.refresh(NOW);
    expect(late.status().nextTryMs).toBe(NOW + 900_000);
    // A successful refresh comes back after 15 min plus up to a tenth.
    fake.handler = (req) => ok(req.url);
    const fine = make([], () => 0.5);
    await fine.refresh(NOW);
    expect(fine.status().nextTryMs).toBe(NOW + 15 * 60_000 * 1.05);
  });

  it('doubles the backoff on repeated 5xx', async () => {
    fake.handler = () => ({ status: 502, text: '' });
    const provider = make();
    await provider.refresh(NOW);
    expect(provider.status().nextTryMs).toBe(NOW + 60_000);
    await provider.refresh(NOW + 60_000);
    expect(provider.status()).toMatchObject({ failures: 2, nextTryMs: NOW + 60_000 + 120_000 });
  });

  it('stops on 401, reports once, and never shows the token', async () => {
    fake.handler = () => ({ status: 401, json: { message: `Invalid token ${TOKEN}` } });
    const reports: string[] = [];
    const provider = make(reports);
    await provider.refresh(NOW);
    await provider.refresh(NOW + 3_600_000);
    expect(fake.seen).toHaveLength(1);
    expect(reports).toEqual([
      `electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 401: {"message":"Invalid token ***"} (check the token); stopped fetching, using cache, then table`,
    ]);
    expect(provider.status().state).toBe('stopped');
    expect(JSON.stringify(provider.status())).not.toContain(TOKEN);
    expect(provider.lookup(NOW).source).not.toContain(TOKEN);
  });

  it('keeps going without forecasts when the plan has none (403 on /forecast)', async () => {
    fake.handler = (req) => (req.url.includes('/forecast') ? { status: 403, json: { message: 'not in plan' } } : ok(req.url));
    const provider = make();
    await provider.refresh(NOW);
    await provider.refresh(NOW + 15 * 60_000);
    expect(fake.seen.filter((r) => r.url.includes('/forecast'))).toHaveLength(1);
    expect(provider.status().state).toBe('ok');
    expect(provider.lookup(H(13)).quality).toBe('annual');
  });
});
