import { ALPHA3_TO_ALPHA2 } from './iso3166.js';
import { ZONE_RECORDS, type ZoneRecord } from './zone-data.js';

/** Common names people type that are not codes in the data (the UK's ISO code is GB). */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['UK', 'GB'],
  ['GBR-GB', 'GB'],
]);

/** ZoneResolution is a canonical zone code and its name, or a one-line error with close matches. */
export type ZoneResolution = { zone: string; name?: string } | { error: string; suggestions: string[] };

/**
 * resolveZone maps what a user typed (ISO alpha-2 'DE', alpha-3 'DEU', an Electricity Maps zone
 * 'US-CAL-CISO', an Ember region 'EU'/'WORLD'; any case) to the canonical zone code of the embedded
 * table, or returns the error line to print with up to five close matches.
 */
export function resolveZone(input: string): ZoneResolution {
  const code = input.trim().toUpperCase();
  const canonical = canonicalCode(code);
  const record = canonical === undefined ? undefined : ZONE_RECORDS.get(canonical);
  if (record) return { zone: record.zone, name: record.name };
  const suggestions = suggestZones(code);
  const error =
    suggestions.length > 0
      ? `unknown zone '${input.trim()}': did you mean ${suggestions.join(', ')}? (see \`wattprint zones\`)`
      : `unknown zone '${input.trim()}': see \`wattprint zones\` for the list`;
  return { error, suggestions };
}

/** zoneRecord returns the embedded annual record of a zone as typed, or undefined when unknown. */
export function zoneRecord(input: string): ZoneRecord | undefined {
  const canonical = canonicalCode(input.trim().toUpperCase());
  return canonical === undefined ? undefined : ZONE_RECORDS.get(canonical);
}

/** ZoneListing is one row of `wattprint zones`: code, name, the newest annual intensity in gCO2e/kWh, its year, basis and source. */
export interface ZoneListing {
  zone: string;
  name: string;
  intensityGramsPerKwh: number;
  /** The data year of that figure; absent where the source does not state it. */
  year?: number;
  /** Every year embedded (activities are accounted with their own year's figure, else the nearest). */
  years: number[];
  basis: 'lifecycle' | 'direct';
  /** The grid's carbon-free share 0..1 where Electricity Maps publishes it. */
  gridCfe?: number;
  source: string;
}

/** listZones returns every embedded zone sorted by code, for `wattprint zones`. */
export function listZones(): ZoneListing[] {
  return [...ZONE_RECORDS.values()]
    .map(({ zone, name, intensityGramsPerKwh, year, years, basis, gridCfe, source }) => ({
      zone,
      name,
      intensityGramsPerKwh,
      ...(year === undefined ? {} : { year }),
      years: years.filter((y) => Number.isFinite(y.year)).map((y) => y.year),
      basis,
      ...(gridCfe === undefined ? {} : { gridCfe }),
      source,
    }))
    .sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
}

/**
 * searchZones filters listZones by a search text, case-insensitive: a zone whose code starts with it
 * ('US-CAL' → US-CAL-CISO, US-CAL-LDWP, …), whose name contains it ('germ' → DE), or that the text names as
 * resolveZone reads it ('DEU' → DE). Exact code matches come first.
 */
export function searchZones(text: string): ZoneListing[] {
  const q = text.trim().toLowerCase();
  if (!q) return listZones();
  const resolved = resolveZone(text);
  const named = 'error' in resolved ? undefined : resolved.zone;
  const hits = listZones().filter((z) => z.zone.toLowerCase().startsWith(q) || z.name.toLowerCase().includes(q) || z.zone === named);
  return hits.sort((a, b) => Number(b.zone.toLowerCase() === q || b.zone === named) - Number(a.zone.toLowerCase() === q || a.zone === named));
}

function canonicalCode(code: string): string | undefined {
  if (ZONE_RECORDS.has(code)) return code;
  const alias = ALIASES.get(code);
  if (alias) return alias;
  const alpha2 = ALPHA3_TO_ALPHA2.get(code);
  if (alpha2 && ZONE_RECORDS.has(alpha2)) return alpha2;
  return zonesByName().get(code);
}

let byName: Map<string, string> | undefined;

/** zonesByName lets 'Germany' or 'california iso' work too; built on first miss only. */
function zonesByName(): Map<string, string> {
  if (!byName) {
    byName = new Map();
    for (const record of ZONE_RECORDS.values()) {
      const key = record.name.toUpperCase();
      if (!byName.has(key)) byName.set(key, record.zone);
    }
  }
  return byName;
}

/** suggestZones ranks canonical zones by edit distance to the typed code (alpha-3 spellings count too). */
function suggestZones(code: string): string[] {
  if (code.length === 0) return [];
  const maxDistance = Math.max(1, Math.floor(code.length / 3));
  const best = new Map<string, number>();
  const consider = (candidate: string, canonical: string): void => {
    // A typed prefix of a longer zone ('US-CAL') is as good as one typo.
    const distance = candidate.startsWith(code) ? 1 : editDistance(code, candidate);
    if (distance > maxDistance) return;
    const previous = best.get(canonical);
    if (previous === undefined || distance < previous) best.set(canonical, distance);
  };
  for (const zone of ZONE_RECORDS.keys()) consider(zone, zone);
  for (const [alpha3, alpha2] of ALPHA3_TO_ALPHA2) if (ZONE_RECORDS.has(alpha2)) consider(alpha3, alpha2);
  for (const [alias, target] of ALIASES) consider(alias, target);
  return [...best]
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([zone]) => zone);
}

/** editDistance is the Levenshtein distance between two strings (insert, delete, substitute cost 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitute);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
