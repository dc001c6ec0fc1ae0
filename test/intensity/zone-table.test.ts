import { averageIntensity, electricityMaps } from '@tgwf/co2/data';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildZoneRecords, compactZoneTable } from '../../src/intensity/zone-build.js';
import { ELECTRICITY_MAPS_YEARS, expandZoneTable, WORLD_GRAMS_PER_KWH, ZONE_RECORDS } from '../../src/intensity/zone-data.js';
import { ZONE_TABLE } from '../../src/intensity/zone-table.js';

// zone-table.ts is generated from @tgwf/co2 (npm run gen:zones) so that commands do not parse the package's
// 400 KB of object literals at start-up. It must say exactly what the installed package says.
describe('the generated zone table', () => {
  const data = { averageIntensity, electricityMaps };

  it('is what the installed @tgwf/co2 gives (run `npm run gen:zones` after changing its version)', () => {
    expect(ZONE_TABLE).toBe(compactZoneTable(data));
    const version = (JSON.parse(readFileSync('node_modules/@tgwf/co2/package.json', 'utf8')) as { version: string }).version;
    expect(readFileSync('src/intensity/zone-table.ts', 'utf8')).toContain(`from @tgwf/co2 ${version}:`);
  });

  it('expands to the records built from the package itself, field for field and in the same order', () => {
    const built = buildZoneRecords(data);
    expect([...ZONE_RECORDS.keys()]).toEqual([...built.keys()]);
    expect([...ZONE_RECORDS.values()]).toEqual([...built.values()]);
    expect(expandZoneTable(JSON.parse(compactZoneTable(data)))).toEqual(built);
    expect(ELECTRICITY_MAPS_YEARS).toEqual(Object.keys(electricityMaps).filter((k) => /^yearly\d{4}$/.test(k)).map((k) => Number(k.slice(6))).sort());
    expect(WORLD_GRAMS_PER_KWH).toBe(averageIntensity.data['WORLD']);
  });

  it('keeps the figures a report prints: DE 2023 and 2025, a CFE share, an Ember country and a region', () => {
    const de = ZONE_RECORDS.get('DE')!;
    const raw = electricityMaps['yearly2023']!.data['DE']!;
    expect(de.years.find((y) => y.year === 2023)!.intensityGramsPerKwh).toBe(raw.carbonIntensity.value);
    expect(de.years.find((y) => y.year === 2023)!.gridCfe).toBe(raw.carbonFreeEnergy!.value / 100);
    expect(de.intensityGramsPerKwh).toBe(electricityMaps['yearly2025']!.data['DE']!.carbonIntensity.value);
    expect(ZONE_RECORDS.get('EU')!.name).toBe('European Union');
    const ember = [...ZONE_RECORDS.values()].find((r) => r.dataset === 'ember' && r.zone.length === 2)!;
    expect(ember.name).not.toBe(ember.zone);
  });
});
