import type { IntensityProvider, IntensityValue } from './types.js';
import { WORLD_GRAMS_PER_KWH, WORLD_YEAR, zoneValueFor } from './zone-data.js';
import { resolveZone, zoneRecord } from './zones.js';
import { periodStartMs } from '../units.js';

/** WORLD_AVERAGE_SOURCE says the world average was assumed because no zone or intensity was given. */
export const WORLD_AVERAGE_SOURCE =
  `world average, assumed (no --zone or --intensity; Ember ${WORLD_YEAR ?? '(year not stated)'}, lifecycle, CC BY-SA 4.0)`;

/**
 * tableProvider answers a zone's embedded annual average (gCO2e/kWh) for every UTC hour, so hourly
 * accounting works unchanged; quality 'annual'. Each hour gets its own year's figure where the data has that
 * year, else the nearest year's, and its source names the year, the basis and the substitution. zone is any spelling resolveZone accepts. Throws an Error
 * whose message is resolveZone's one-line 'unknown zone …' text when the zone is not in the table.
 */
export function tableProvider(zone: string): IntensityProvider {
  const resolved = resolveZone(zone);
  if ('error' in resolved) throw new Error(resolved.error);
  const record = zoneRecord(resolved.zone);
  if (!record) throw new Error(`unknown zone '${zone}' (see \`wattprint zones\`)`);
  const byYear = new Map<number, IntensityValue>();
  return {
    name: 'table',
    zone: record.zone,
    lookup(atMs: number): IntensityValue {
      const year = new Date(atMs).getUTCFullYear();
      let template = byYear.get(year);
      if (!template) {
        const value = zoneValueFor(record, year);
        template = { gramsPerKwh: value.gramsPerKwh, source: value.source, periodStartMs: 0, periodSeconds: 3600, quality: 'annual' };
        byYear.set(year, template);
      }
      return { ...template, periodStartMs: periodStartMs(atMs, 3600) };
    },
  };
}

/** worldAverageProvider answers Ember's world average (472.94 gCO2/kWh in co2.js 0.19), quality 'assumed'. */
export function worldAverageProvider(): IntensityProvider {
  return hourlyFlat('world-average', 'WORLD', WORLD_GRAMS_PER_KWH, WORLD_AVERAGE_SOURCE, 'assumed');
}

function hourlyFlat(
  name: string,
  zone: string,
  gramsPerKwh: number,
  source: string,
  quality: 'annual' | 'assumed',
): IntensityProvider {
  return {
    name,
    zone,
    lookup(atMs: number): IntensityValue {
      return { gramsPerKwh, source, periodStartMs: periodStartMs(atMs, 3600), periodSeconds: 3600, quality };
    },
  };
}
