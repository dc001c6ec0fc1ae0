import type { IntensityValue } from './types.js';
import type { EmissionFactor } from './csv.js';
import { commonOptions, createApiProvider, type ApiIntensityProvider, type FetchingProviderOptions } from './api-provider.js';
import { HttpError, requestJson } from './http.js';
import { asArray, asObject, optionalNumber, timeMs } from './json-shape.js';

/** ELECTRICITYMAPS_BASE_URL is the public API v3 base (never contacted by tests). */
export const ELECTRICITYMAPS_BASE_URL = 'https://api.electricitymap.org/v3';

/** ELECTRICITYMAPS_MAX_RANGE_MS is past-range's longest span at hourly granularity: 10 days (API v3 docs). */
export const ELECTRICITYMAPS_MAX_RANGE_MS = 10 * 86_400_000;

/** ElectricityMapsOptions configures the Electricity Maps API v3 provider. */
export interface ElectricityMapsOptions extends FetchingProviderOptions {
  /** API token, sent as the 'auth-token' header; redacted everywhere. */
  token?: string;
  zone: string;
  emissionFactor?: EmissionFactor;
}

/**
 * parseElectricityMapsPoints reads a v3 'latest' object ({zone, carbonIntensity, datetime, isEstimated…}),
 * or the 'history' / 'forecast' / v4 'data' arrays of such points, into hourly IntensityValues (gCO2e/kWh).
 * Points with a null carbonIntensity are skipped.
 */
export function parseElectricityMapsPoints(body: unknown, quality: 'actual' | 'forecast', source: string): IntensityValue[] {
  const obj = asObject(body, 'electricitymaps response');
  const list = obj['history'] ?? obj['forecast'] ?? obj['data'];
  const points = list === undefined ? [obj] : asArray(list, 'electricitymaps points');
  const out: IntensityValue[] = [];
  for (const point of points) {
    const p = asObject(point, 'electricitymaps point');
    const gramsPerKwh = optionalNumber(p['carbonIntensity'], 'electricitymaps carbonIntensity');
    if (gramsPerKwh === undefined) continue;
    out.push({ gramsPerKwh, source, periodStartMs: timeMs(p['datetime'], 'electricitymaps datetime'), periodSeconds: 3600, quality });
  }
  return out;
}

/**
 * createElectricityMapsProvider fetches carbon-intensity/latest and /history (actual) and /forecast
 * (forecast; a plan without forecasts (403/404) is remembered and not asked again) for one zone, and any
 * past span from /past-range (prepare). Lookups are synchronous; see createApiProvider for cache, backoff
 * and fallback.
 */
export function createElectricityMapsProvider(opts: ElectricityMapsOptions): ApiIntensityProvider {
  const base = (opts.baseUrl ?? ELECTRICITYMAPS_BASE_URL).replace(/\/+$/, '');
  const emissionFactor = opts.emissionFactor ?? 'lifecycle';
  const source = `electricitymaps ${opts.zone} (${emissionFactor})`;
  const query = `zone=${encodeURIComponent(opts.zone)}&emissionFactorType=${emissionFactor}`;
  const secrets = [opts.token];
  const get = (path: string): Promise<unknown> =>
    requestJson(`${base}/carbon-intensity/${path}?${query}`, { headers: opts.token ? { 'auth-token': opts.token } : {}, secrets, proxy: opts.proxy });
  let forecastAvailable = true;

  const fetchAll = async (): Promise<IntensityValue[]> => {
    const latest = parseElectricityMapsPoints(await get('latest'), 'actual', source);
    const history = parseElectricityMapsPoints(await get('history'), 'actual', source);
    let forecast: IntensityValue[] = [];
    if (forecastAvailable) {
      try {
        forecast = parseElectricityMapsPoints(await get('forecast'), 'forecast', source);
      } catch (err) {
        if (!(err instanceof HttpError && (err.kind === 'forbidden' || err.kind === 'client'))) throw err;
        forecastAvailable = false;
      }
    }
    return [...forecast, ...history, ...latest];
  };

  // History: past-range, hourly, at most 10 days per request.
  const fetchRange = async (fromMs: number, toMs: number): Promise<IntensityValue[]> => {
    const span = `start=${new Date(fromMs).toISOString()}&end=${new Date(toMs).toISOString()}`;
    const body = await requestJson(`${base}/carbon-intensity/past-range?${query}&${span}`, { headers: opts.token ? { 'auth-token': opts.token } : {}, secrets });
    return parseElectricityMapsPoints(body, 'actual', source);
  };

  return createApiProvider({
    name: 'electricitymaps',
    zone: opts.zone,
    periodSeconds: 3600,
    fetch: fetchAll,
    fetchRange,
    maxRangeMs: ELECTRICITYMAPS_MAX_RANGE_MS,
    fallback: opts.fallback,
    secrets,
    ...commonOptions(opts),
  });
}
