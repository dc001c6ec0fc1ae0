import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { averageIntensity } from '@tgwf/co2/data';
import { describe, expect, it } from 'vitest';
import { EMBER_YEARS } from '../../src/intensity/ember-years.js';
import { tableProvider, worldAverageProvider } from '../../src/intensity/table.js';
import { listZones } from '../../src/intensity/zones.js';

/** Issue 10, defect 6: the annual table was Electricity Maps 2025 whatever the activity's year, and 25 Ember rows carried no year. */
describe('intensity vintage: the activity\'s own year', () => {
  it('Electricity Maps zones: the year of the activity, else the nearest, said in the source', () => {
    const de = tableProvider('DE');
    expect(de.lookup(Date.UTC(2022, 2, 1, 10, 30))).toEqual({
      gramsPerKwh: 475, source: 'table: Electricity Maps 2022 yearly, lifecycle (ODbL)', periodStartMs: Date.UTC(2022, 2, 1, 10), periodSeconds: 3600, quality: 'annual',
    });
    expect(de.lookup(Date.UTC(2021, 11, 31, 23, 59)).gramsPerKwh).toBe(439);
    expect(de.lookup(Date.UTC(2023, 0, 1)).gramsPerKwh).toBe(379);
    expect(de.lookup(Date.UTC(2026, 5, 1))).toMatchObject({ gramsPerKwh: 342, source: 'table: Electricity Maps 2025 yearly, lifecycle (ODbL), nearest year to 2026' });
    expect(de.lookup(Date.UTC(2019, 5, 1))).toMatchObject({ gramsPerKwh: 439, source: 'table: Electricity Maps 2021 yearly, lifecycle (ODbL), nearest year to 2019' });
  });

  it('Ember zones: one year each, stated, and the activity year when it differs', () => {
    const ua = listZones().find((z) => z.zone === 'UA')!;
    expect(ua).toMatchObject({ year: 2022, years: [2022], basis: 'lifecycle', source: 'table: Ember 2022 annual average, lifecycle (CC BY-SA 4.0)' });
    expect(tableProvider('UA').lookup(Date.UTC(2022, 6, 1)).source).toBe('table: Ember 2022 annual average, lifecycle (CC BY-SA 4.0)');
    expect(tableProvider('UA').lookup(Date.UTC(2025, 6, 1)).source).toBe('table: Ember 2022 annual average, lifecycle (CC BY-SA 4.0), nearest year to 2025');
    expect(worldAverageProvider().lookup(0).source).toBe('world average, assumed (no --zone or --intensity; Ember 2024, lifecycle, CC BY-SA 4.0)');
  });

  it('every zone of `zones` shows a year and a basis', () => {
    const zones = listZones();
    expect(zones.filter((z) => z.year === undefined).map((z) => z.zone)).toEqual([]);
    expect(zones.every((z) => z.basis === 'lifecycle')).toBe(true);
    expect(zones.find((z) => z.zone === 'DE')).toMatchObject({ year: 2025, years: [2021, 2022, 2023, 2024, 2025], intensityGramsPerKwh: 342 });
  });

  const CO2JS = fileURLToPath(new URL('../../../shared/fixtures/grid-intensity/co2js__ember_average_intensities.json', import.meta.url));
  it.skipIf(!existsSync(CO2JS) && process.env.CI !== 'true')('the embedded years belong to the package\'s values: co2.js\'s own average-intensities.json holds the same figures', () => {
    const source = JSON.parse(readFileSync(CO2JS, 'utf8')) as Record<string, { year: number; emissions_intensity_gco2_per_kwh: number }>;
    const byKey = new Map(Object.entries(source).map(([k, v]) => [k.toUpperCase(), v]));
    for (const [key, grams] of Object.entries(averageIntensity.data)) {
      expect(byKey.get(key)?.emissions_intensity_gco2_per_kwh, key).toBe(grams);
      expect(Object.entries(EMBER_YEARS).find(([, keys]) => keys.includes(key))?.[0], key).toBe(String(byKey.get(key)!.year));
    }
  });
});

describe('wattprint zones shows year and basis', () => {
  it('table and JSON', async () => {
    const { runCli, baseEnv } = await import('../helpers/cli.js');
    const text = await runCli(['zones'], baseEnv());
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^ZONE +gCO2e\/kWh +YEARS +BASIS +NAME +SOURCE/);
    expect(lines.find((l) => l.startsWith('DE '))).toMatch(/^DE +342 +2021-2025 +lifecycle +Germany +table: Electricity Maps 2025 yearly, lifecycle \(ODbL\)$/);
    expect(lines.find((l) => l.startsWith('UA '))).toMatch(/^UA +250 +2022 +lifecycle +Ukraine +table: Ember 2022 annual average, lifecycle \(CC BY-SA 4\.0\)$/);
    const json = JSON.parse((await runCli(['zones', '--json'], baseEnv())).stdout);
    expect(json.find((z: { zone: string }) => z.zone === 'UA')).toMatchObject({ year: 2022, years: [2022], basis: 'lifecycle' });
  });
});
