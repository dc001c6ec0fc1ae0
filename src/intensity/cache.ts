import type { IntensityValue } from './types.js';

/** CachedQuality is what an API said about a period: measured ('actual') or predicted ('forecast'). */
export type CachedQuality = 'forecast' | 'actual';

/** CachedIntensity is one fetched period as stored: provider and zone, gCO2e/kWh, CFE 0..1, fetch time (ms). */
export interface CachedIntensity {
  provider: string;
  zone: string;
  periodStartMs: number;
  periodSeconds: number;
  gramsPerKwh: number;
  cfe?: number;
  source: string;
  fetchedAtMs: number;
  quality: CachedQuality;
  marginal?: boolean;
}

/** IntensityCache stores fetched intensities in SQLite so a restart or an outage still has data. */
export interface IntensityCache {
  /** put upserts values in one transaction; an 'actual' is never replaced by a 'forecast' of the same period. */
  put(values: readonly CachedIntensity[]): void;
  /** get returns the stored period of provider/zone that holds atMs (ms, UTC), or undefined. */
  get(provider: string, zone: string, atMs: number): CachedIntensity | undefined;
  /** range returns stored periods of provider/zone starting in [fromMs, toMs), oldest first. */
  range(provider: string, zone: string, fromMs: number, toMs: number): CachedIntensity[];
}

/** toIntensityValue turns a cached period into the value a provider answers, saying it came from the cache. */
export function toIntensityValue(cached: CachedIntensity, sourceSuffix = ''): IntensityValue {
  return {
    gramsPerKwh: cached.gramsPerKwh,
    ...(cached.cfe === undefined ? {} : { cfe: cached.cfe }),
    source: `${cached.source}${sourceSuffix}`,
    periodStartMs: cached.periodStartMs,
    periodSeconds: cached.periodSeconds,
    quality: cached.quality,
    ...(cached.marginal ? { marginal: true } : {}),
  };
}
