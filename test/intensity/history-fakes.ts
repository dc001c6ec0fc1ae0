import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FakeReply, SeenRequest } from './fake-server.js';

/**
 * Loopback fakes of the three APIs' history endpoints. Each answers in the shape of a real captured
 * response from ../shared/fixtures/intensity-api (an element of the capture is the template; only times and
 * values change), refuses spans longer than the API's limit as the API does (HTTP 400), and answers any other
 * path with 404 — the fake server's `seen` log then shows exactly which URLs a provider asked.
 */

const API = fileURLToPath(new URL('../../../shared/fixtures/intensity-api/', import.meta.url));
/** HAVE_API_FIXTURES is false where ../shared is missing (not CI): the shapes below are then the same, written out. */
export const HAVE_API_FIXTURES = existsSync(API);
if (!HAVE_API_FIXTURES && process.env.CI === 'true') throw new Error(`${API} is missing: the history fakes serve the real captured shapes from it`);
const capture = (name: string, fallback: unknown): unknown =>
  HAVE_API_FIXTURES ? JSON.parse(readFileSync(`${API}${name}`, 'utf8')) : fallback;

const ukNational = capture('stuartharris-carbon-intensity__uk__intensity-range__2023-07-04.json', {
  data: [{ from: '2023-07-04T23:30Z', to: '2023-07-05T00:00Z', intensity: { forecast: 142, actual: 129, index: 'moderate' } }],
}) as { data: { from: string; to: string; intensity: { forecast: number; actual: number | null; index: string } }[] };
const ukRegional = capture('carbonintensity-api-rs__uk__regional-intensity-range-postcode__BS7_2023-01-01.json', {
  data: { regionid: 11, shortname: 'South West England', postcode: 'BS7', data: [{ from: '2022-12-31T23:30Z', to: '2023-01-01T00:00Z', intensity: { forecast: 152, index: 'moderate' }, generationmix: [] }] },
}) as { data: { regionid: number; shortname: string; data: { from: string; to: string; intensity: { forecast: number; index: string } }[] } };
const emHistory = capture('aioelectricitymaps__emaps__carbon-intensity-history__DE.json', {
  zone: 'DE', history: [{ zone: 'DE', carbonIntensity: 599, datetime: '2024-03-05T20:00:00.000Z', updatedAt: '2024-03-06T15:48:54.012Z', createdAt: '2024-03-02T20:47:49.346Z', emissionFactorType: 'lifecycle', isEstimated: false, estimationMethod: null }],
}) as { zone: string; history: Record<string, unknown>[] };
const wtHistorical = capture('aiowatttime__watttime__v3-historical__docs-example.json', {
  data: [{ point_time: '2022-07-15T00:00:00+00:00', value: 870, last_updated: '2023-10-01T00:00:00+00:00', imputed_data_used: true }],
  meta: { data_point_period_seconds: 300, region: 'CAISO_NORTH', warnings: [], signal_type: 'co2_moer', model: { type: 'binned_regression', date: '2023-03-01' }, units: 'lbs_co2_per_mwh' },
}) as { data: Record<string, unknown>[]; meta: Record<string, unknown> };

const DAY_MS = 86_400_000;
const ukTime = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';
const ukParse = (text: string): number => Date.parse(text.replace(/Z$/, ':00Z'));
const badRequest = (message: string): FakeReply => ({ status: 400, json: { error: { code: '400 Bad Request', message } } });

/** Each fake takes a function of a period's start (ms) giving its value, or undefined for a period the API lacks. */
export type ValueAt = (periodStartMs: number) => number | undefined;

/** periodsOverlapping lists period starts of periodMs overlapping [fromMs, toMs). */
function periodsOverlapping(fromMs: number, toMs: number, periodMs: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(fromMs / periodMs) * periodMs; t < toMs; t += periodMs) out.push(t);
  return out;
}

/** ukHistoryFake answers /intensity/{from}/{to} (national: forecast and actual) and /regional/intensity/{from}/{to}/regionid/{id}. */
export function ukHistoryFake(valueAt: ValueAt): (req: SeenRequest) => FakeReply {
  return (req) => {
    const national = /^\/intensity\/([^/]+Z)\/([^/]+Z)$/.exec(req.url);
    const regional = /^\/regional\/intensity\/([^/]+Z)\/([^/]+Z)\/regionid\/(\d+)$/.exec(req.url);
    const m = national ?? regional;
    if (!m) return { status: 404, json: { error: { code: '404 Not Found', message: 'unknown path' } } };
    const [fromMs, toMs] = [ukParse(m[1]!), ukParse(m[2]!)];
    if (!(toMs > fromMs) || toMs - fromMs > 14 * DAY_MS) return badRequest('The date range is limited to 14 days');
    const starts = periodsOverlapping(fromMs, toMs, 1_800_000).filter((t) => valueAt(t) !== undefined);
    if (national) {
      const template = ukNational.data[0]!;
      return {
        json: {
          data: starts.map((t) => ({ ...template, from: ukTime(t), to: ukTime(t + 1_800_000), intensity: { ...template.intensity, forecast: valueAt(t)! + 7, actual: valueAt(t)! } })),
        },
      };
    }
    const template = ukRegional.data.data[0]!;
    return {
      json: {
        data: {
          ...ukRegional.data, regionid: Number(m[3]),
          data: starts.map((t) => ({ ...template, from: ukTime(t), to: ukTime(t + 1_800_000), intensity: { ...template.intensity, forecast: valueAt(t)! } })),
        },
      },
    };
  };
}

/** electricityMapsHistoryFake answers /v3/carbon-intensity/past-range?zone&emissionFactorType&start&end (≤ 10 days) with the token. */
export function electricityMapsHistoryFake(valueAt: ValueAt, token: string): (req: SeenRequest) => FakeReply {
  return (req) => {
    if (req.headers['auth-token'] !== token) return { status: 401, json: { message: 'Invalid authentication token' } };
    const url = new URL(req.url, 'http://fake');
    if (url.pathname !== '/v3/carbon-intensity/past-range') return { status: 404, json: { message: 'Not found' } };
    const zone = url.searchParams.get('zone') ?? '';
    const [fromMs, toMs] = [Date.parse(url.searchParams.get('start') ?? ''), Date.parse(url.searchParams.get('end') ?? '')];
    if (!(toMs > fromMs) || toMs - fromMs > 10 * DAY_MS) return { status: 400, json: { message: 'Range too long: maximum 10 days for hourly data' } };
    const template = emHistory.history[0]!;
    const starts = periodsOverlapping(fromMs, toMs, 3_600_000).filter((t) => valueAt(t) !== undefined);
    return {
      json: {
        zone,
        data: starts.map((t) => ({ ...template, zone, carbonIntensity: valueAt(t), datetime: new Date(t).toISOString(), emissionFactorType: url.searchParams.get('emissionFactorType') ?? 'lifecycle' })),
      },
    };
  };
}

/** wattTimeHistoryFake answers /login (basic auth) and /v3/historical?region&start&end&signal_type=co2_moer (≤ 32 days), values in lbs/MWh. */
export function wattTimeHistoryFake(valueAt: ValueAt, user: string, password: string): (req: SeenRequest) => FakeReply {
  return (req) => {
    if (req.url === '/login') {
      return req.headers.authorization === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` ? { json: { token: 'wt-bearer-1' } } : { status: 401, json: {} };
    }
    if (req.headers.authorization !== 'Bearer wt-bearer-1') return { status: 401, json: {} };
    const url = new URL(req.url, 'http://fake');
    if (url.pathname !== '/v3/historical' || url.searchParams.get('signal_type') !== 'co2_moer') return { status: 404, json: { error: 'not found' } };
    const [fromMs, toMs] = [Date.parse(url.searchParams.get('start') ?? ''), Date.parse(url.searchParams.get('end') ?? '')];
    if (!(toMs > fromMs) || toMs - fromMs > 32 * DAY_MS) return { status: 400, json: { error: 'time range exceeds 32 days' } };
    const template = wtHistorical.data[0]!;
    const starts = periodsOverlapping(fromMs, toMs, 300_000).filter((t) => valueAt(t) !== undefined);
    return {
      json: {
        data: starts.map((t) => ({ ...template, point_time: new Date(t).toISOString().replace('.000Z', '+00:00'), value: valueAt(t) })),
        meta: { ...wtHistorical.meta, region: url.searchParams.get('region') },
      },
    };
  };
}
