import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, redact, requestJson } from '../../src/intensity/http.js';
import { createIntensityCache } from '../../src/store/intensity-cache.js';
import { startFakeServer, type FakeReply, type FakeServer } from './fake-server.js';

const TOKEN = 'sekret-token-1234';

describe('requestJson', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer((req): FakeReply => {
      if (req.url.startsWith('/ok')) return { json: { echo: req.headers['auth-token'] ?? null } };
      if (req.url.startsWith('/401')) return { status: 401, json: { message: `token ${TOKEN} is invalid` } };
      if (req.url.startsWith('/429')) return { status: 429, text: 'slow down', headers: { 'retry-after': '120' } };
      if (req.url.startsWith('/503')) return { status: 503, text: '' };
      if (req.url.startsWith('/302')) return { status: 302, text: '', headers: { location: 'http://127.0.0.1:1/' } };
      return { text: 'not json' };
    });
  });
  afterAll(() => fake.close());

  it('sends headers and parses JSON', async () => {
    expect(await requestJson(`${fake.baseUrl}/ok`, { headers: { 'auth-token': TOKEN } })).toEqual({ echo: TOKEN });
  });

  it('types 401, 429 with Retry-After, 5xx, redirects and bad bodies; never shows the token', async () => {
    const failure = async (path: string): Promise<HttpError> => {
      try {
        await requestJson(`${fake.baseUrl}${path}?token=${TOKEN}`, { secrets: [TOKEN] });
      } catch (err) {
        return err as HttpError;
      }
      throw new Error('expected a failure');
    };
    const unauthorized = await failure('/401');
    expect([unauthorized.kind, unauthorized.status]).toEqual(['unauthorized', 401]);
    expect(unauthorized.message).toBe(`GET ${fake.baseUrl}/401: HTTP 401: {"message":"token *** is invalid"}`);
    const limited = await failure('/429');
    expect([limited.kind, limited.retryAfterSeconds, limited.message]).toEqual(['rate-limited', 120, `GET ${fake.baseUrl}/429: HTTP 429: slow down`]);
    expect((await failure('/503')).kind).toBe('server');
    expect((await failure('/302')).kind).toBe('redirect');
    expect((await failure('/junk')).kind).toBe('bad-response');
  });

  it('reports a refused connection as a network error', async () => {
    const closed = await startFakeServer(() => ({}));
    const url = closed.baseUrl;
    await closed.close();
    await expect(requestJson(`${url}/x`)).rejects.toMatchObject({ kind: 'network' });
  });
});

describe('redact', () => {
  it('hides every form of every secret', () => {
    expect(redact('a sek/ret b sek%2Fret c', ['sek/ret', undefined])).toBe('a *** b *** c');
    expect(redact('short ab stays', ['ab'])).toBe('short ab stays');
  });
});

describe('createIntensityCache', () => {
  const H = (hour: number): number => Date.UTC(2024, 0, 1, hour);
  const base = { provider: 'electricitymaps', zone: 'DE', periodSeconds: 3600, source: 'electricitymaps DE (lifecycle)' };

  it('stores, finds by instant, and lets actual replace forecast but not the reverse', () => {
    const db = new Database(':memory:');
    const cache = createIntensityCache(db);
    createIntensityCache(db); // idempotent
    cache.put([
      { ...base, periodStartMs: H(0), gramsPerKwh: 300, fetchedAtMs: 1, quality: 'forecast' },
      { ...base, periodStartMs: H(1), gramsPerKwh: 250, cfe: 0.5, fetchedAtMs: 1, quality: 'actual' },
    ]);
    cache.put([
      { ...base, periodStartMs: H(0), gramsPerKwh: 280, fetchedAtMs: 2, quality: 'actual' },
      { ...base, periodStartMs: H(1), gramsPerKwh: 999, fetchedAtMs: 2, quality: 'forecast' },
    ]);
    expect(cache.get('electricitymaps', 'DE', H(0) + 59 * 60_000)).toEqual({ ...base, periodStartMs: H(0), gramsPerKwh: 280, fetchedAtMs: 2, quality: 'actual' });
    expect(cache.get('electricitymaps', 'DE', H(1))).toEqual({ ...base, periodStartMs: H(1), gramsPerKwh: 250, cfe: 0.5, fetchedAtMs: 1, quality: 'actual' });
    expect(cache.get('electricitymaps', 'DE', H(2))).toBeUndefined();
    expect(cache.get('watttime', 'DE', H(0))).toBeUndefined();
    expect(cache.range('electricitymaps', 'DE', H(0), H(2)).map((c) => c.gramsPerKwh)).toEqual([280, 250]);
    db.close();
  });
});
