import { describe, expect, it } from 'vitest';
import { compareZones, DEFAULT_COMPARE_ZONES, parseZoneList } from '../../src/carbon/compare.js';
import { tableProvider } from '../../src/intensity/table.js';

const H0 = Date.UTC(2024, 0, 1);
// 3.6 MJ (1 kWh) of IT energy in the first minute and 1.8 MJ in the first minute of the next hour.
const minutes = [{ minuteStartMs: H0, itJoules: 3_600_000 }, { minuteStartMs: H0 + 3_600_000, itJoules: 1_800_000 }];
const g = (zone: string): number => tableProvider(zone).lookup(H0).gramsPerKwh;

describe('compareZones', () => {
  it('accounts the same energy with the same PUE in each zone\'s annual average, in the order given', () => {
    const out = compareZones(minutes, ['fr', 'DEU', 'ZA'], 1.2);
    expect(out.map((c) => [c.zone, c.name])).toEqual([['FR', 'France'], ['DE', 'Germany'], ['ZA', 'South Africa']]);
    // facility energy = 1.5 kWh × 1.2 = 1.8 kWh
    for (const c of out) {
      expect(c.avgGramsPerKwh).toBeCloseTo(g(c.zone), 9);
      expect(c.co2eLocationKg).toBeCloseTo((1.8 * g(c.zone)) / 1000, 12);
      expect(c.source).toBe('table: Electricity Maps 2024 yearly, lifecycle (ODbL)');
    }
    // 2024 activity, 2024 figures: FR 33, ZA 712 g/kWh.
    expect(out[0]!.co2eLocationKg).toBeCloseTo(1.8 * 33 / 1000, 12);
    expect(out[2]!.co2eLocationKg).toBeCloseTo(1.8 * 712 / 1000, 12);
  });

  it('defaults to a spread from hydro and nuclear grids to coal ones, cleanest first', () => {
    expect(parseZoneList(undefined)).toEqual([...DEFAULT_COMPARE_ZONES]);
    expect(parseZoneList(' FR, ,de ')).toEqual(['FR', 'de']);
    const kg = compareZones(minutes, DEFAULT_COMPARE_ZONES, 1).map((c) => c.co2eLocationKg);
    expect([...kg].sort((a, b) => a - b)).toEqual(kg);
    expect(kg.at(-1)! / kg[0]!).toBeGreaterThan(20);
  });

  it('names close matches for an unknown zone', () => {
    expect(() => compareZones(minutes, ['FR', 'DEE'], 1)).toThrow("--compare: unknown zone 'DEE': did you mean DE, EE? (see `wattprint zones`)");
  });
});
