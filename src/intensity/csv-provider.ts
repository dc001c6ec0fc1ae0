import type { IntensityProvider, IntensityValue } from './types.js';
import type { ParsedIntensityCsv } from './csv.js';
import { periodStartMs } from '../units.js';

/**
 * fallbackValue answers a period the primary source lacks from the next best source, flagged: the value
 * and quality are the fallback's, and its source says why it was used.
 */
export function fallbackValue(fallback: IntensityProvider, atMs: number, why: string): IntensityValue {
  const value = fallback.lookup(atMs);
  return { ...value, source: `${value.source} (fallback: ${why})` };
}

/**
 * csvProvider answers intensity (gCO2e/kWh) from a parsed intensity file, period by period. A period the
 * file lacks (missing hour, empty cell, outside the file) is answered by `fallback`, flagged in its source.
 * opts.zone picks one zone out of a multi-zone file (any case); without it the file must name at most one.
 */
export function csvProvider(
  parsed: ParsedIntensityCsv,
  opts: { fallback: IntensityProvider; zone?: string },
): IntensityProvider & { values(): IntensityValue[] } {
  const zone = opts.zone?.toUpperCase() ?? (parsed.zones.length === 1 ? parsed.zones[0] : undefined);
  if (!opts.zone && parsed.zones.length > 1) {
    throw new Error(`${parsed.source}: the file holds zones ${parsed.zones.join(', ')}: pick one with --zone`);
  }
  if (opts.zone && parsed.zones.length > 0 && !parsed.zones.includes(zone ?? '')) {
    throw new Error(`${parsed.source}: no rows for zone ${zone}; the file holds ${parsed.zones.join(', ')}`);
  }
  const byStartMs = new Map<number, IntensityValue>();
  for (const row of parsed.rows) {
    if (zone && row.zone && row.zone !== zone) continue;
    byStartMs.set(row.periodStartMs, {
      gramsPerKwh: row.gramsPerKwh,
      ...(row.cfe === undefined ? {} : { cfe: row.cfe }),
      source: parsed.source,
      periodStartMs: row.periodStartMs,
      periodSeconds: parsed.periodSeconds,
      quality: 'actual',
    });
  }
  const why = `no row in ${parsed.source.replace(/^csv: /, '').replace(/ \(.*$/, '')} for this period`;
  return {
    name: 'csv',
    ...(zone ? { zone } : {}),
    lookup(atMs: number): IntensityValue {
      return byStartMs.get(periodStartMs(atMs, parsed.periodSeconds)) ?? fallbackValue(opts.fallback, atMs, why);
    },
    values(): IntensityValue[] {
      return [...byStartMs.values()];
    },
  };
}
