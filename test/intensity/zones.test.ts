import { describe, expect, it } from 'vitest';
import { editDistance, listZones, resolveZone, zoneRecord } from '../../src/intensity/zones.js';
import { ZONE_DATA_LICENCES, ELECTRICITY_MAPS_YEAR } from '../../src/intensity/zone-data.js';

describe('resolveZone', () => {
  it('accepts alpha-2, alpha-3, Electricity Maps zones and names, in any case', () => {
    expect(resolveZone('DE')).toEqual({ zone: 'DE', name: 'Germany' });
    expect(resolveZone('deu')).toEqual({ zone: 'DE', name: 'Germany' });
    expect(resolveZone(' fra ')).toEqual({ zone: 'FR', name: 'France' });
    expect(resolveZone('usa')).toEqual({ zone: 'US', name: 'United States' });
    expect(resolveZone('us-cal-ciso')).toEqual({ zone: 'US-CAL-CISO', name: 'California ISO' });
    expect(resolveZone('DK-DK1')).toEqual({ zone: 'DK-DK1', name: 'West Denmark' });
    expect(resolveZone('uk')).toEqual({ zone: 'GB', name: 'Great Britain' });
    expect(resolveZone('germany')).toEqual({ zone: 'DE', name: 'Germany' });
  });

  it('falls back to Ember for countries and regions Electricity Maps lacks', () => {
    expect(resolveZone('ASM')).toEqual({ zone: 'AS', name: 'American Samoa' });
    expect(resolveZone('eu')).toEqual({ zone: 'EU', name: 'European Union' });
    expect(resolveZone('World')).toEqual({ zone: 'WORLD', name: 'World' });
  });

  it('suggests close matches for an unknown zone', () => {
    expect(resolveZone('DEE')).toEqual({
      error: "unknown zone 'DEE': did you mean DE, EE? (see `wattprint zones`)",
      suggestions: ['DE', 'EE'],
    });
    const prefix = resolveZone('us-cal');
    expect('suggestions' in prefix && prefix.suggestions).toEqual([
      'US-CAL-BANC', 'US-CAL-CISO', 'US-CAL-IID', 'US-CAL-LDWP', 'US-CAL-TIDC',
    ]);
    expect(resolveZone('QQQQQQ')).toEqual({
      error: "unknown zone 'QQQQQQ': see `wattprint zones` for the list",
      suggestions: [],
    });
  });
});

describe('zoneRecord and listZones', () => {
  it('carries the annual intensity, the grid CFE share and the source', () => {
    expect(zoneRecord('DE')).toMatchObject({
      zone: 'DE', name: 'Germany', intensityGramsPerKwh: 342, gridCfe: 0.64, year: 2025, basis: 'lifecycle',
      dataset: 'electricitymaps', source: 'table: Electricity Maps 2025 yearly, lifecycle (ODbL)',
    });
    expect(zoneRecord('DE')!.years.map((y) => [y.year, y.intensityGramsPerKwh])).toEqual([[2021, 439], [2022, 475], [2023, 379], [2024, 341], [2025, 342]]);
    expect(zoneRecord('AS')?.intensityGramsPerKwh).toBe(647.06);
    expect(zoneRecord('nowhere')).toBeUndefined();
  });

  it('lists every zone once, sorted', () => {
    const zones = listZones();
    expect(zones).toHaveLength(377);
    expect(zones[0]?.zone).toBe('AE');
    expect(new Set(zones.map((z) => z.zone)).size).toBe(377);
    expect(zones.find((z) => z.zone === 'FR')).toEqual({
      zone: 'FR', name: 'France', intensityGramsPerKwh: 31, year: 2025, years: [2021, 2022, 2023, 2024, 2025], basis: 'lifecycle', gridCfe: 0.96,
      source: 'table: Electricity Maps 2025 yearly, lifecycle (ODbL)',
    });
  });

  it('names the licences of both data sets', () => {
    expect(ELECTRICITY_MAPS_YEAR).toBe(2025);
    expect(ZONE_DATA_LICENCES).toContain('Open Database License');
    expect(ZONE_DATA_LICENCES).toContain('CC BY-SA 4.0');
  });
});

describe('editDistance', () => {
  it('counts single-letter edits', () => {
    expect(editDistance('DEE', 'DE')).toBe(1);
    expect(editDistance('DEE', 'DK')).toBe(2);
    expect(editDistance('', 'ABC')).toBe(3);
    expect(editDistance('KITTEN', 'SITTING')).toBe(3);
  });
});
