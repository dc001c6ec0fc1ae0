import { ALPHA3_TO_ALPHA2 } from './iso3166.js';
import { emberYear } from './ember-years.js';
import { yearSource, type CompactZoneTable, type ZoneRecord, type ZoneYear } from './zone-data.js';

/**
 * The zone table's builder: from @tgwf/co2's data (passed in: this module never loads the 400 KB package) to the
 * records zone-data.ts serves. Used by scripts/gen-zone-table.ts to write zone-table.ts, and by the test that
 * holds that file equal to the installed package's data.
 */

/** TgwfData is what the builder reads from '@tgwf/co2/data'. */
export interface TgwfData {
  averageIntensity: { data: Record<string, number> };
  electricityMaps: Record<string, { data: Record<string, { carbonIntensity: { value: number }; carbonFreeEnergy?: { value: number }; zone: { zoneName: string; displayName?: string } }> }>;
}

/** Display names of Ember's aggregate regions, whose keys are not ISO codes. */
const EMBER_REGION_NAMES: Readonly<Record<string, string>> = {
  EU: 'European Union',
  G7: 'G7',
  G20: 'G20',
  OECD: 'OECD',
  ASEAN: 'ASEAN',
};

// Created on first use: ICU's display-name data costs ~6 MB of resident memory once touched.
let regionNames: Intl.DisplayNames | undefined;

function countryName(alpha2: string): string | undefined {
  try {
    const name = (regionNames ??= new Intl.DisplayNames(['en'], { type: 'region' })).of(alpha2);
    return name === alpha2 ? undefined : name;
  } catch {
    return undefined;
  }
}

function titleCase(text: string): string {
  return text.toLowerCase().replace(/\b[a-z]/g, (letter) => letter.toUpperCase());
}

/** buildZoneRecords builds every zone's record: Electricity Maps zones (all years, oldest first), then Ember's others. */
export function buildZoneRecords({ averageIntensity, electricityMaps }: TgwfData): Map<string, ZoneRecord> {
  const yearKeys = electricityMapsYearKeys(electricityMaps);
  const records = new Map<string, ZoneRecord>();
  for (const key of yearKeys) {
    const year = Number(key.slice(6));
    for (const [zone, entry] of Object.entries(electricityMaps[key]?.data ?? {})) {
      const cfePercent = entry.carbonFreeEnergy?.value;
      const zoneYear: ZoneYear = { year, intensityGramsPerKwh: entry.carbonIntensity.value, ...(cfePercent === undefined ? {} : { gridCfe: cfePercent / 100 }) };
      const years = [...(records.get(zone)?.years ?? []), zoneYear];
      // yearKeys are oldest first: the last year seen is the newest, and names the record.
      records.set(zone, {
        zone, name: entry.zone.displayName ?? entry.zone.zoneName, intensityGramsPerKwh: zoneYear.intensityGramsPerKwh,
        ...(zoneYear.gridCfe === undefined ? {} : { gridCfe: zoneYear.gridCfe }), year, basis: 'lifecycle',
        dataset: 'electricitymaps', source: yearSource('electricitymaps', year), years,
      });
    }
  }
  for (const [key, gramsPerKwh] of Object.entries(averageIntensity.data)) {
    // Ember countries are keyed by alpha-3; store them under alpha-2 so one code names one zone.
    const alpha2 = ALPHA3_TO_ALPHA2.get(key);
    const zone = alpha2 ?? key;
    if (records.has(zone)) continue;
    const name = (alpha2 && countryName(alpha2)) || EMBER_REGION_NAMES[key] || titleCase(key);
    const year = emberYear(key);
    records.set(zone, {
      zone, name, intensityGramsPerKwh: gramsPerKwh, ...(year !== undefined ? { year } : {}), basis: 'lifecycle', dataset: 'ember',
      source: yearSource('ember', year), years: [{ year: year ?? NaN, intensityGramsPerKwh: gramsPerKwh }],
    });
  }
  return records;
}


/** electricityMapsYearKeys are the package's 'yearlyYYYY' keys, oldest first. */
export function electricityMapsYearKeys(electricityMaps: TgwfData['electricityMaps']): string[] {
  return Object.keys(electricityMaps).filter((key) => /^yearly\d{4}$/.test(key)).sort();
}

/** compactZoneTable is the JSON zone-table.ts holds: what expandZoneTable turns back into the same records. */
export function compactZoneTable(data: TgwfData): string {
  const table: CompactZoneTable = {
    electricityMapsYears: electricityMapsYearKeys(data.electricityMaps).map((key) => Number(key.slice(6))),
    zones: [...buildZoneRecords(data).values()].map((r) => [
      r.zone, r.name, r.dataset, r.years.map((y: ZoneYear) => [Number.isNaN(y.year) ? null : y.year, y.intensityGramsPerKwh, y.gridCfe ?? null]),
    ]),
  };
  return JSON.stringify(table);
}
