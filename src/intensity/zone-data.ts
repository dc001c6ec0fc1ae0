import { readdirSync } from 'node:fs';
import { ALPHA2_TO_ALPHA3, ALPHA3_TO_ALPHA2 } from './iso3166.js';

/**
 * Embedded annual grid intensities, from the @tgwf/co2 data package (pinned in package.json):
 * Electricity Maps yearly zone averages (newest year the package has; lifecycle gCO2eq/kWh; ODbL) first,
 * Ember country and region averages (gCO2/kWh; CC BY-SA 4.0 as republished by co2.js) for the rest.
 */

/** ZoneRecord is one zone's annual average intensity in gCO2e/kWh and where it came from. */
export interface ZoneRecord {
  /** Canonical zone code: an Electricity Maps zone ('DE', 'US-CAL-CISO') or an Ember region ('EU', 'WORLD'). */
  zone: string;
  name: string;
  intensityGramsPerKwh: number;
  /** The grid's own carbon-free share (0..1), Electricity Maps only: information, not a purchased instrument. */
  gridCfe?: number;
  dataset: 'electricitymaps' | 'ember';
  /** Source text for IntensityValue.source. */
  source: string;
}

type Co2Data = typeof import('@tgwf/co2/data');

/**
 * loadCo2Data imports what the table reads from @tgwf/co2: the newest Electricity Maps year and Ember's
 * averages. The package's 'data' entry imports every year it ships (five 78 KB modules, tens of ms at the
 * start of every command that names a zone); its own files are imported by path instead, and the entry is
 * the fallback should a release lay them out differently.
 */
async function loadCo2Data(): Promise<Pick<Co2Data, 'averageIntensity' | 'electricityMaps'>> {
  try {
    const entry = import.meta.resolve('@tgwf/co2/data');
    const dir = new URL('./data/electricity-maps/', entry);
    const newest = readdirSync(dir).filter((f) => /^yearly_\d{4}\.js$/.test(f)).sort().at(-1);
    if (!newest) throw new Error('no yearly data');
    const [year, average] = await Promise.all([import(new URL(newest, dir).href), import(new URL('./data/average-intensities.min.js', entry).href)]);
    if (!year.default?.data || !average.default?.data) throw new Error('unexpected layout');
    return { electricityMaps: { [`yearly${newest.slice(7, 11)}`]: year.default }, averageIntensity: average.default } as Pick<Co2Data, 'averageIntensity' | 'electricityMaps'>;
  } catch {
    const { averageIntensity, electricityMaps } = await import('@tgwf/co2/data');
    return { averageIntensity, electricityMaps };
  }
}

const { averageIntensity, electricityMaps } = await loadCo2Data();

const yearKeys = Object.keys(electricityMaps)
  .filter((key) => /^yearly\d{4}$/.test(key))
  .sort();

/** ELECTRICITY_MAPS_YEAR is the newest Electricity Maps yearly data set in the package (2025 in co2.js 0.19). */
export const ELECTRICITY_MAPS_YEAR = Number(yearKeys[yearKeys.length - 1]?.slice(6) ?? NaN);

/** EMBER_SOURCE names the Ember annual averages (per-country year varies, 2022–2024 in co2.js 0.19). */
export const EMBER_SOURCE = 'table: Ember annual average (CC BY-SA 4.0)';

/** ELECTRICITY_MAPS_SOURCE names the Electricity Maps yearly averages. */
export const ELECTRICITY_MAPS_SOURCE = `table: Electricity Maps ${ELECTRICITY_MAPS_YEAR} yearly (ODbL)`;

/** ZONE_DATA_LICENCES is the attribution text for the README's data-sources section. */
export const ZONE_DATA_LICENCES = [
  `Annual zone intensities: Electricity Maps yearly averages (${ELECTRICITY_MAPS_YEAR}), republished by`,
  'the Green Web Foundation in @tgwf/co2 under the Open Database License (ODbL 1.0,',
  'https://opendatacommons.org/licenses/odbl/): attribute Electricity Maps (https://www.electricitymaps.com),',
  'keep derived databases under ODbL. Methodology: https://www.electricitymaps.com/data/methodology.',
  'Country and world averages not covered by Electricity Maps: Ember (https://ember-energy.org), annual',
  'average emissions intensity, republished in @tgwf/co2 under CC BY-SA 4.0',
  '(https://creativecommons.org/licenses/by-sa/4.0/). @tgwf/co2 code: Apache-2.0.',
].join('\n');

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

function buildRecords(): Map<string, ZoneRecord> {
  const records = new Map<string, ZoneRecord>();
  const latest = electricityMaps[yearKeys[yearKeys.length - 1] ?? '']?.data ?? {};
  for (const [zone, entry] of Object.entries(latest)) {
    const cfePercent = entry.carbonFreeEnergy?.value;
    records.set(zone, {
      zone,
      name: entry.zone.displayName ?? entry.zone.zoneName,
      intensityGramsPerKwh: entry.carbonIntensity.value,
      gridCfe: cfePercent === undefined ? undefined : cfePercent / 100,
      dataset: 'electricitymaps',
      source: ELECTRICITY_MAPS_SOURCE,
    });
  }
  for (const [key, gramsPerKwh] of Object.entries(averageIntensity.data)) {
    // Ember countries are keyed by alpha-3; store them under alpha-2 so one code names one zone.
    const alpha2 = ALPHA3_TO_ALPHA2.get(key);
    const zone = alpha2 ?? key;
    if (records.has(zone)) continue;
    // The name comes from ICU's region names, whose data costs ~15 ms to load: only when a name is read.
    let name: string | undefined;
    const record = { zone, intensityGramsPerKwh: gramsPerKwh, dataset: 'ember', source: EMBER_SOURCE } as ZoneRecord;
    Object.defineProperty(record, 'name', {
      enumerable: true,
      get: () => (name ??= (alpha2 && countryName(alpha2)) || EMBER_REGION_NAMES[key] || titleCase(key)),
    });
    records.set(zone, record);
  }
  return records;
}

/** ZONE_RECORDS holds every embedded zone keyed by canonical upper-case code. */
export const ZONE_RECORDS: ReadonlyMap<string, ZoneRecord> = buildRecords();

/** WORLD_GRAMS_PER_KWH is Ember's world average intensity in gCO2/kWh. */
export const WORLD_GRAMS_PER_KWH: number = averageIntensity.data['WORLD'] ?? NaN;

