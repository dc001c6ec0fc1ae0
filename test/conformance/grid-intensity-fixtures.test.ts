import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import { averageIntensity, electricityMaps } from '@tgwf/co2/data';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { zoneRecord } from '../../src/intensity/zones.js';

const DIR = `${SHARED_FIXTURES}grid-intensity/`;
const read = (name: string): string => readFileSync(`${DIR}${name}`, 'utf8');

/** First and last rows of each trimmed Electricity Maps export: [start, direct, lifecycle]. */
const EXPORTS: Record<string, { zone: string; rows: number; first: [number, number, number]; last: [number, number, number] }> = {
  'electricitymaps__BR_2023_hourly__jan.csv': {
    zone: 'BR', rows: 744, first: [Date.UTC(2023, 0, 1), 29.17, 55.36], last: [Date.UTC(2023, 0, 31, 23), 23.26, 49.21],
  },
  'electricitymaps__DE_2022_hourly__jan.csv': {
    zone: 'DE', rows: 744, first: [Date.UTC(2022, 0, 1), 163.46, 213.79], last: [Date.UTC(2022, 0, 31, 23), 418.81, 483.91],
  },
  'electricitymaps__ES_2022_hourly__jan.csv': {
    zone: 'ES', rows: 744, first: [Date.UTC(2022, 0, 1), 133.64, 175.54], last: [Date.UTC(2022, 0, 31, 23), 123.58, 164.01],
  },
  'electricitymaps__NO_2022_hourly__jan.csv': {
    zone: 'NO', rows: 744, first: [Date.UTC(2022, 0, 1), 33.11, 63.03], last: [Date.UTC(2022, 0, 31, 23), 3.19, 27.45],
  },
  'electricitymaps__US-CAL-CISO_2022_hourly__first2000.csv': {
    zone: 'US-CAL-CISO', rows: 2000, first: [Date.UTC(2022, 0, 1), 209.26, 274.07], last: [Date.UTC(2022, 2, 25, 7), 211.2, 281.72],
  },
};

describeShared('grid-intensity')('real Electricity Maps hourly exports', () => {
  for (const [file, want] of Object.entries(EXPORTS)) {
    it(`parses ${file} (lifecycle and direct)`, () => {
      const text = read(file);
      const lifecycle = parseIntensityCsv(text, { fileName: file });
      expect(lifecycle.zones).toEqual([want.zone]);
      expect(lifecycle.periodSeconds).toBe(3600);
      expect(lifecycle.emptyRows).toBe(0);
      expect(lifecycle.rows).toHaveLength(want.rows);
      expect(lifecycle.rows[0]).toMatchObject({ periodStartMs: want.first[0], gramsPerKwh: want.first[2], lineNumber: 2 });
      expect(lifecycle.rows.at(-1)).toMatchObject({ periodStartMs: want.last[0], gramsPerKwh: want.last[2], lineNumber: want.rows + 1 });
      // The old export has no CFE% column: no market instrument is invented from 'Low Carbon Percentage'.
      expect(lifecycle.rows.every((r) => r.cfe === undefined)).toBe(true);
      const direct = parseIntensityCsv(text, { fileName: file, emissionFactor: 'direct' });
      expect(direct.rows[0]?.gramsPerKwh).toBe(want.first[1]);
      expect(direct.rows.at(-1)?.gramsPerKwh).toBe(want.last[1]);
    });
  }
});

describeShared('grid-intensity')('co2.js data captures agree with the installed package', () => {
  it('Electricity Maps 2024 yearly: every zone value equals the package', () => {
    const captured = JSON.parse(read('co2js__electricitymaps_yearly_2024.json')) as Record<string, { carbonIntensity: { value: number } }>;
    const yearly2024 = electricityMaps['yearly2024']?.data ?? {};
    expect(Object.keys(captured)).toHaveLength(352);
    for (const [zone, entry] of Object.entries(captured)) {
      expect(yearly2024[zone]?.carbonIntensity.value, zone).toBe(entry.carbonIntensity.value);
    }
    expect(captured['DE']?.carbonIntensity.value).toBe(341);
    expect(captured['US-CAL-CISO']?.carbonIntensity.value).toBe(229);
  });

  it('Ember averages: every value equals the package, and the table uses them where Electricity Maps has none', () => {
    const captured = JSON.parse(read('co2js__ember_average_intensities.json')) as Record<string, { emissions_intensity_gco2_per_kwh: number }>;
    expect(Object.keys(captured)).toHaveLength(222);
    for (const [key, entry] of Object.entries(captured)) {
      expect(averageIntensity.data[key.toUpperCase()], key).toBe(entry.emissions_intensity_gco2_per_kwh);
    }
    expect(captured['World']?.emissions_intensity_gco2_per_kwh).toBe(472.94);
    expect(zoneRecord('ASM')?.intensityGramsPerKwh).toBe(captured['ASM']?.emissions_intensity_gco2_per_kwh);
    expect(zoneRecord('EU')?.intensityGramsPerKwh).toBe(captured['EU']?.emissions_intensity_gco2_per_kwh);
  });
});
