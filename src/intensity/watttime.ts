import type { IntensityValue } from './types.js';
import { commonOptions, createApiProvider, type ApiIntensityProvider, type FetchingProviderOptions } from './api-provider.js';
import { HttpError, requestJson } from './http.js';
import { asArray, asObject, optionalNumber, timeMs } from './json-shape.js';
import { MS_PER_HOUR, lbsPerMwhToGramsPerKwh } from '../units.js';

/** WATTTIME_BASE_URL is WattTime's API host (login at /login, data under /v3; never contacted by tests). */
export const WATTTIME_BASE_URL = 'https://api.watttime.org';

/** WATTTIME_MAX_RANGE_MS is /v3/historical's longest span per request: 32 days (WattTime API v3 docs). */
export const WATTTIME_MAX_RANGE_MS = 32 * 86_400_000;

/** WattTimeOptions configures the WattTime v3 marginal (MOER) provider for one balancing-area region. */
export interface WattTimeOptions extends FetchingProviderOptions {
  username: string;
  password: string;
  /** WattTime region, e.g. 'CAISO_NORTH'. */
  zone: string;
}

/**
 * parseWattTimeSignal reads a v3 /forecast or /historical body ({data: [{point_time, value}], meta:
 * {units: 'lbs_co2_per_mwh', data_point_period_seconds}}) into marginal IntensityValues in g/kWh.
 */
export function parseWattTimeSignal(body: unknown, quality: 'actual' | 'forecast', source: string): IntensityValue[] {
  const obj = asObject(body, 'watttime response');
  const meta = asObject(obj['meta'], 'watttime meta');
  if (meta['units'] !== 'lbs_co2_per_mwh') {
    throw new HttpError(`watttime: unexpected units '${String(meta['units'])}', expected lbs_co2_per_mwh`, 'bad-response');
  }
  const periodSeconds = optionalNumber(meta['data_point_period_seconds'], 'watttime data_point_period_seconds') ?? 300;
  const out: IntensityValue[] = [];
  for (const entry of asArray(obj['data'], 'watttime data')) {
    const point = asObject(entry, 'watttime point');
    const lbsPerMwh = optionalNumber(point['value'], 'watttime value');
    if (lbsPerMwh === undefined) continue;
    out.push({
      gramsPerKwh: lbsPerMwhToGramsPerKwh(lbsPerMwh),
      source,
      periodStartMs: timeMs(point['point_time'], 'watttime point_time'),
      periodSeconds,
      quality,
      marginal: true,
    });
  }
  return out;
}

/**
 * createWattTimeProvider logs in with basic auth (GET /login → bearer token; one re-login when a data call
 * says 401), then fetches /v3/historical (last 24 h, actual) and /v3/forecast (forecast) of signal_type
 * co2_moer, and any past span from /v3/historical (prepare, 32 days per request). Values are marginal,
 * converted from lbs/MWh to g/kWh, in WattTime's own periods (300 s).
 */
export function createWattTimeProvider(opts: WattTimeOptions): ApiIntensityProvider {
  const base = (opts.baseUrl ?? WATTTIME_BASE_URL).replace(/\/+$/, '');
  const basic = Buffer.from(`${opts.username}:${opts.password}`).toString('base64');
  const secrets: (string | undefined)[] = [opts.password, basic];
  const source = `watttime ${opts.zone} MOER (marginal)`;
  let token: string | undefined;

  const login = async (): Promise<string> => {
    const body = asObject(await requestJson(`${base}/login`, { headers: { authorization: `Basic ${basic}` }, secrets, proxy: opts.proxy }), 'watttime login');
    if (typeof body['token'] !== 'string' || body['token'] === '') throw new HttpError('watttime login: no token in response', 'bad-response');
    secrets.push(body['token']);
    return body['token'];
  };
  const get = async (path: string): Promise<unknown> => {
    token ??= await login();
    const call = (bearer: string): Promise<unknown> =>
      requestJson(`${base}/v3/${path}`, { headers: { authorization: `Bearer ${bearer}` }, secrets, proxy: opts.proxy });
    try {
      return await call(token);
    } catch (err) {
      // Tokens expire after about 30 minutes: log in again once before giving up.
      if (!(err instanceof HttpError && err.kind === 'unauthorized')) throw err;
      token = await login();
      return call(token);
    }
  };

  const fetchAll = async (nowMs: number): Promise<IntensityValue[]> => {
    const region = encodeURIComponent(opts.zone);
    const start = new Date(nowMs - 24 * MS_PER_HOUR).toISOString();
    const end = new Date(nowMs).toISOString();
    const historical = parseWattTimeSignal(
      await get(`historical?region=${region}&start=${start}&end=${end}&signal_type=co2_moer`), 'actual', source);
    const forecast = parseWattTimeSignal(await get(`forecast?region=${region}&signal_type=co2_moer`), 'forecast', source);
    return [...forecast, ...historical];
  };

  const fetchRange = async (fromMs: number, toMs: number): Promise<IntensityValue[]> => {
    const region = encodeURIComponent(opts.zone);
    const span = `start=${new Date(fromMs).toISOString()}&end=${new Date(toMs).toISOString()}`;
    return parseWattTimeSignal(await get(`historical?region=${region}&${span}&signal_type=co2_moer`), 'actual', source);
  };

  return createApiProvider({
    name: 'watttime',
    zone: opts.zone,
    periodSeconds: 300,
    fetch: fetchAll,
    fetchRange,
    maxRangeMs: WATTTIME_MAX_RANGE_MS,
    fallback: opts.fallback,
    secrets,
    ...commonOptions(opts),
  });
}
