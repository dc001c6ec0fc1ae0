import { accountMinutes, sumPeriods, type MinuteEnergy } from '../ledger/accounting.js';
import { tableProvider } from '../intensity/table.js';
import type { Report } from '../report/types.js';
import { joulesToKwh } from '../units.js';
import { resolveZone } from '../intensity/zones.js';

/** Counterfactual is the same energy profile accounted in another zone (location-based, kg CO2e). */
export type Counterfactual = NonNullable<Report['counterfactuals']>[number];

/**
 * DEFAULT_COMPARE_ZONES spans the spread the paper describes, cleanest to dirtiest (Electricity Maps 2025
 * yearly, gCO2e/kWh): NO hydro ~30, FR nuclear ~31, GB wind and gas ~176, US-CAL-CISO solar and gas ~208,
 * DE coal and wind ~342, US average ~414, IN coal ~593, ZA coal ~700 — the places ML is trained plus both ends.
 */
export const DEFAULT_COMPARE_ZONES: readonly string[] = ['NO', 'FR', 'GB', 'US-CAL-CISO', 'DE', 'US', 'IN', 'ZA'];

/**
 * compareZones accounts the same per-minute IT energy (joules) with the same PUE in each zone's embedded
 * annual average: CO2e = Σ facility kWh × CI(zone). Zones keep the order given. Throws an Error whose
 * message is resolveZone's one line (with close matches) for an unknown zone.
 */
export function compareZones(minutes: readonly MinuteEnergy[], zones: readonly string[], pue: number): Counterfactual[] {
  return zones.map((typed) => {
    const resolved = resolveZone(typed);
    if ('error' in resolved) throw new Error(`--compare: ${resolved.error}`);
    const provider = tableProvider(resolved.zone);
    const totals = sumPeriods(accountMinutes(minutes, { pue, market: {}, intensity: provider }));
    const facilityKwh = joulesToKwh(totals.facilityJoules);
    const sample = provider.lookup(minutes[0]?.minuteStartMs ?? 0);
    return {
      zone: resolved.zone,
      ...(resolved.name ? { name: resolved.name } : {}),
      avgGramsPerKwh: facilityKwh > 0 ? totals.co2eLocationGrams / facilityKwh : sample.gramsPerKwh,
      co2eLocationKg: totals.co2eLocationGrams / 1000,
      source: sample.source,
    };
  });
}

/** parseZoneList splits '--compare FR,DE , us' into trimmed entries; empty means the defaults. */
export function parseZoneList(text: string | undefined): string[] {
  const zones = (text ?? '').split(',').map((z) => z.trim()).filter(Boolean);
  return zones.length ? zones : [...DEFAULT_COMPARE_ZONES];
}
