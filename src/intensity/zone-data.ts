import { emberYear } from './ember-years.js';
import { ZONE_TABLE } from './zone-table.js';

/**
 * Embedded annual grid intensities, from the @tgwf/co2 data package (pinned in package.json): Electricity
 * Maps yearly zone averages (every year the package has, 2021–2025 in co2.js 0.19; life-cycle gCO2eq/kWh, the
 * API's default; ODbL) first, Ember country and region averages (one year each, 2022–2024; life-cycle;
 * CC BY-SA 4.0 as republished by co2.js) for the rest. An activity is accounted with its own year's figure
 * where the data has it, else the nearest year's, and the source says which.
 *
 * The records are read from zone-table.ts, generated from the package by `npm run gen:zones`
 * (scripts/gen-zone-table.ts, with the builder in zone-build.ts): parsing the package's 400 KB of object
 * literals and naming Ember's countries through ICU took ~60 ms of every command that knows a zone, and ~6 MB
 * of resident memory; the table is one JSON string. test/intensity/zone-table.test.ts holds it equal to what
 * the installed package gives, so it cannot drift from the pinned data.
 */

/** IntensityBasis says what an intensity counts: life-cycle (supply chain, upstream methane) or direct combustion. */
export type IntensityBasis = 'lifecycle' | 'direct';

/** ZoneYear is one year's annual average of a zone: gCO2e/kWh and the grid's carbon-free share 0..1 (information only). */
export interface ZoneYear {
  year: number;
  intensityGramsPerKwh: number;
  gridCfe?: number;
}

/** ZoneRecord is one zone's annual averages (gCO2e/kWh), newest year first in the top-level fields. */
export interface ZoneRecord {
  /** Canonical zone code: an Electricity Maps zone ('DE', 'US-CAL-CISO') or an Ember region ('EU', 'WORLD'). */
  zone: string;
  name: string;
  /** The newest year's figure: what `zones` lists. */
  intensityGramsPerKwh: number;
  /** The grid's own carbon-free share (0..1), Electricity Maps only: information, not a purchased instrument. */
  gridCfe?: number;
  /** The newest year embedded; undefined for an Ember key whose year is not known. */
  year?: number;
  basis: IntensityBasis;
  dataset: 'electricitymaps' | 'ember';
  /** Source text of the newest year's figure. */
  source: string;
  /** Every year embedded, oldest first (one for Ember). */
  years: ZoneYear[];
}

/** CompactZoneTable is zone-table.ts's JSON: Electricity Maps years, and per zone [code, name, dataset, [[year|null, g/kWh, grid CFE|null], …]]. */
export interface CompactZoneTable {
  electricityMapsYears: number[];
  zones: [string, string, 'electricitymaps' | 'ember', [number | null, number, number | null][]][];
}

const TABLE = JSON.parse(ZONE_TABLE) as CompactZoneTable;

/** ELECTRICITY_MAPS_YEARS are the Electricity Maps yearly data sets in the package, oldest first (2021–2025 in co2.js 0.19). */
export const ELECTRICITY_MAPS_YEARS: readonly number[] = TABLE.electricityMapsYears;

/** ELECTRICITY_MAPS_YEAR is the newest Electricity Maps yearly data set in the package (2025 in co2.js 0.19). */
export const ELECTRICITY_MAPS_YEAR = ELECTRICITY_MAPS_YEARS[ELECTRICITY_MAPS_YEARS.length - 1] ?? NaN;

/** yearSource names one year's figure: 'table: Electricity Maps 2022 yearly, lifecycle (ODbL)'. */
export function yearSource(dataset: ZoneRecord['dataset'], year: number | undefined): string {
  return dataset === 'electricitymaps'
    ? `table: Electricity Maps ${year} yearly, lifecycle (ODbL)`
    : `table: Ember ${year ?? '(year not stated)'} annual average, lifecycle (CC BY-SA 4.0)`;
}

/** EMBER_SOURCE names the Ember annual averages in general (each zone's own year is in its source). */
export const EMBER_SOURCE = 'table: Ember annual average, lifecycle (CC BY-SA 4.0)';

/** ELECTRICITY_MAPS_SOURCE names the newest Electricity Maps yearly averages. */
export const ELECTRICITY_MAPS_SOURCE = yearSource('electricitymaps', ELECTRICITY_MAPS_YEAR);

/** ZoneValue is the figure a zone's table answers for an activity year: gCO2e/kWh, the data's year, the source text. */
export interface ZoneValue {
  gramsPerKwh: number;
  year?: number;
  source: string;
}

/**
 * zoneValueFor picks the record's figure for the activity's year (UTC), else the nearest year embedded (the
 * later on a tie), and says which: 'table: Electricity Maps 2025 yearly, lifecycle (ODbL), nearest year to 2026'.
 */
export function zoneValueFor(record: ZoneRecord, activityYear: number): ZoneValue {
  let best = record.years[record.years.length - 1]!;
  for (const y of record.years) {
    if (Math.abs(y.year - activityYear) < Math.abs(best.year - activityYear) || (Math.abs(y.year - activityYear) === Math.abs(best.year - activityYear) && y.year > best.year)) best = y;
  }
  const known = record.dataset === 'electricitymaps' || record.year !== undefined;
  const exact = known && best.year === activityYear;
  const source = `${yearSource(record.dataset, known ? best.year : undefined)}${exact || !known ? '' : `, nearest year to ${activityYear}`}`;
  return { gramsPerKwh: best.intensityGramsPerKwh, ...(known ? { year: best.year } : {}), source };
}

/** ZONE_DATA_LICENCES is the attribution text for the README's data-sources section. */
export const ZONE_DATA_LICENCES = [
  `Annual zone intensities: Electricity Maps yearly averages (${ELECTRICITY_MAPS_YEARS.join(', ')}), republished by`,
  'the Green Web Foundation in @tgwf/co2 under the Open Database License (ODbL 1.0,',
  'https://opendatacommons.org/licenses/odbl/): attribute Electricity Maps (https://www.electricitymaps.com),',
  'keep derived databases under ODbL. Methodology: https://www.electricitymaps.com/data/methodology.',
  'Country and world averages not covered by Electricity Maps: Ember (https://ember-energy.org), annual',
  'average emissions intensity, republished in @tgwf/co2 under CC BY-SA 4.0',
  '(https://creativecommons.org/licenses/by-sa/4.0/). @tgwf/co2 code: Apache-2.0.',
].join('\n');

/** ZONE_RECORDS holds every embedded zone keyed by canonical upper-case code. */
export const ZONE_RECORDS: ReadonlyMap<string, ZoneRecord> = expandZoneTable(TABLE);

/** expandZoneTable turns the compact table back into records (zone-build.ts's compactZoneTable is its inverse). */
export function expandZoneTable(table: CompactZoneTable): Map<string, ZoneRecord> {
  const records = new Map<string, ZoneRecord>();
  for (const [zone, name, dataset, rows] of table.zones) {
    const years: ZoneYear[] = rows.map(([year, intensityGramsPerKwh, gridCfe]) => ({
      year: year ?? NaN, intensityGramsPerKwh, ...(gridCfe === null ? {} : { gridCfe }),
    }));
    const newest = years[years.length - 1]!;
    const year = Number.isNaN(newest.year) ? undefined : newest.year;
    records.set(zone, {
      zone, name, intensityGramsPerKwh: newest.intensityGramsPerKwh, ...(newest.gridCfe === undefined ? {} : { gridCfe: newest.gridCfe }),
      ...(year !== undefined ? { year } : {}), basis: 'lifecycle', dataset, source: yearSource(dataset, year), years,
    });
  }
  return records;
}

/** WORLD_GRAMS_PER_KWH is Ember's world average intensity in gCO2/kWh, of year WORLD_YEAR. */
export const WORLD_GRAMS_PER_KWH: number = ZONE_RECORDS.get('WORLD')?.intensityGramsPerKwh ?? NaN;

/** WORLD_YEAR is the data year of Ember's world average (2024 in co2.js 0.19). */
export const WORLD_YEAR: number | undefined = emberYear('WORLD');
