import type { IntensityValue } from './types.js';
import { commonOptions, createApiProvider, type ApiIntensityProvider, type FetchingProviderOptions } from './api-provider.js';
import { requestJson } from './http.js';
import { asArray, asObject, optionalNumber, timeMs } from './json-shape.js';
import { periodStartMs } from '../units.js';

/** UK_BASE_URL is the National Grid ESO carbon intensity API (no key; never contacted by tests). */
export const UK_BASE_URL = 'https://api.carbonintensity.org.uk';

/** UK_MAX_RANGE_MS is the API's longest /intensity/{from}/{to} span: 14 days (carbonintensity.org.uk docs). */
export const UK_MAX_RANGE_MS = 14 * 86_400_000;

/** UkOptions configures the GB provider: national by default, or one of the API's regions 1..17. */
export interface UkOptions extends Omit<FetchingProviderOptions, 'onReport'> {
  /** carbonintensity.org.uk region id (1 North Scotland … 13 London … 17 Scotland); absent = national. */
  regionId?: number;
}

/**
 * parseUkIntensity reads a national response ({data: [{from, to, intensity: {forecast, actual, index}}]})
 * or a regional one ({data: {regionid, shortname, data: [...]}} or the same wrapped in an array) into
 * half-hourly IntensityValues (gCO2/kWh): 'actual' where the API has an actual, else 'forecast'.
 */
export function parseUkIntensity(body: unknown, source: string): IntensityValue[] {
  const top = asObject(body, 'carbonintensity response')['data'];
  let periods: unknown[];
  if (Array.isArray(top) && top.length > 0 && typeof top[0] === 'object' && top[0] !== null && 'regionid' in top[0]) {
    periods = asArray((top[0] as Record<string, unknown>)['data'], 'carbonintensity regional data');
  } else if (Array.isArray(top)) {
    periods = top;
  } else {
    periods = asArray(asObject(top, 'carbonintensity data')['data'], 'carbonintensity regional data');
  }
  const out: IntensityValue[] = [];
  for (const entry of periods) {
    const period = asObject(entry, 'carbonintensity period');
    const fromMs = timeMs(period['from'], 'carbonintensity from');
    const toMs = timeMs(period['to'], 'carbonintensity to');
    const intensity = asObject(period['intensity'], 'carbonintensity intensity');
    const actual = optionalNumber(intensity['actual'], 'carbonintensity actual');
    const forecast = optionalNumber(intensity['forecast'], 'carbonintensity forecast');
    const gramsPerKwh = actual ?? forecast;
    if (gramsPerKwh === undefined) continue;
    out.push({
      gramsPerKwh,
      source,
      periodStartMs: fromMs,
      periodSeconds: (toMs - fromMs) / 1000,
      quality: actual === undefined ? 'forecast' : 'actual',
    });
  }
  return out;
}

/** ukTime formats ms as the API's path time 'YYYY-MM-DDThh:mmZ'. */
export function ukTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + 'Z';
}

/**
 * createUkProvider fetches the past 24 h (pt24h: actuals nationally) and the next 24 h (fw24h: forecasts)
 * of half-hourly GB intensity, national or for one region (regional figures are always forecasts); prepare
 * fetches any past span from /intensity/{from}/{to}, 14 days per request.
 */
export function createUkProvider(opts: UkOptions): ApiIntensityProvider {
  const base = (opts.baseUrl ?? UK_BASE_URL).replace(/\/+$/, '');
  const regional = opts.regionId !== undefined;
  if (regional && !(Number.isInteger(opts.regionId) && opts.regionId! >= 1 && opts.regionId! <= 17)) {
    throw new RangeError(`UK region id must be 1..17 (see carbonintensity.org.uk), got ${opts.regionId}`);
  }
  const zone = regional ? `GB-region-${opts.regionId}` : 'GB';
  const source = regional ? `uk: carbonintensity.org.uk region ${opts.regionId}` : 'uk: carbonintensity.org.uk national';
  const url = (fromMs: number, window: 'pt24h' | 'fw24h'): string =>
    regional
      ? `${base}/regional/intensity/${ukTime(fromMs)}/${window}/regionid/${opts.regionId}`
      : `${base}/intensity/${ukTime(fromMs)}/${window}`;

  const fetchAll = async (nowMs: number): Promise<IntensityValue[]> => {
    const fromMs = periodStartMs(nowMs, 1800);
    const past = parseUkIntensity(await requestJson(url(fromMs, 'pt24h'), { proxy: opts.proxy }), source);
    const ahead = parseUkIntensity(await requestJson(url(fromMs, 'fw24h'), { proxy: opts.proxy }), source);
    return [...ahead, ...past];
  };
  // History: /intensity/{from}/{to} (national actuals) or /regional/intensity/{from}/{to}/regionid/{id}.
  const fetchRange = async (fromMs: number, toMs: number): Promise<IntensityValue[]> => {
    const span = `${ukTime(fromMs)}/${ukTime(toMs)}`;
    const rangeUrl = regional ? `${base}/regional/intensity/${span}/regionid/${opts.regionId}` : `${base}/intensity/${span}`;
    return parseUkIntensity(await requestJson(rangeUrl), source);
  };

  return createApiProvider({
    name: 'uk',
    zone,
    periodSeconds: 1800,
    fetch: fetchAll,
    fetchRange,
    maxRangeMs: UK_MAX_RANGE_MS,
    fallback: opts.fallback,
    ...commonOptions(opts),
  });
}
