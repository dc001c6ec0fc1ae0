import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { marketBasis, marketGramsPerKwh } from '../../src/carbon/carbon.js';
import { accountMinutes, sumPeriods } from '../../src/ledger/accounting.js';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { csvProvider } from '../../src/intensity/csv-provider.js';
import { tableProvider } from '../../src/intensity/table.js';

/**
 * GHG Protocol Scope 2 dual reporting: market-based CO2e uses only instruments the user holds. Issue 10,
 * defect 2: the Electricity Maps export's CFE% (the grid's own carbon-free share, already inside its
 * intensity) was taken as a purchase and counted twice.
 */

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/intensity/${name}`, import.meta.url));
const DE_JAN = fileURLToPath(new URL('../../../shared/fixtures/grid-intensity/electricitymaps__DE_2022_hourly__jan.csv', import.meta.url));
const H = (hour: number) => Date.UTC(2024, 0, 1, hour);

/** Three hours of per-minute energy: 60, 120 and 180 kJ a minute in hours 0, 1 and 3 (the export lacks hour 2). */
const joulesPerMinute = [60_000, 120_000, 0, 180_000];
const minutes = joulesPerMinute.flatMap((j, h) => (j === 0 ? [] : Array.from({ length: 60 }, (_, m) => ({ minuteStartMs: H(h) + m * 60_000, itJoules: j }))));
const kwh = (h: number) => (joulesPerMinute[h]! * 60 * 1.5) / 3.6e6; // PUE 1.5: 1.5, 3, 0, 4.5 kWh

const emNew = csvProvider(parseIntensityCsv(readFileSync(fixture('em_new_format_3h.csv'), 'utf8'), { fileName: 'em.csv' }), { fallback: tableProvider('DE'), zone: 'DE' });
const account = (market: Parameters<typeof marketGramsPerKwh>[1], intensity = emNew) => sumPeriods(accountMinutes(minutes, { pue: 1.5, market, intensity }));

describe('market-based CO2e uses only the user\'s instruments', () => {
  // The new export's life-cycle column: 350.25, 250, –, 150 g/kWh (CFE% 40.5, 60, –, 80: the grid's share, not a purchase).
  const location = kwh(0) * 350.25 + kwh(1) * 250 + kwh(3) * 150;

  it('an Electricity Maps export (new headers) with no instrument: market = location', () => {
    const totals = account({});
    expect(totals.co2eLocationGrams).toBeCloseTo(location, 9);
    expect(totals.co2eMarketGrams).toBeCloseTo(location, 9);
    expect(emNew.lookup(H(0)).cfe).toBeUndefined();
    expect(marketBasis({}, false)).toBe('no market instruments given: market-based equals location-based');
  });

  it.skipIf(!existsSync(DE_JAN) && process.env.CI !== 'true')('the real old-header DE export: market = location', () => {
    const de = csvProvider(parseIntensityCsv(readFileSync(DE_JAN, 'utf8'), { fileName: DE_JAN }), { fallback: tableProvider('DE'), zone: 'DE' });
    const jan = Array.from({ length: 48 }, (_, i) => ({ minuteStartMs: Date.UTC(2022, 0, 3) + i * 1_800_000, itJoules: 3.6e6 }));
    const totals = sumPeriods(accountMinutes(jan, { pue: 1, market: {}, intensity: de }));
    expect(totals.co2eMarketGrams).toBe(totals.co2eLocationGrams);
  });

  it('--cfe F: the uncovered share (1 − F) at the location intensity when no residual mix is given', () => {
    const totals = account({ cfe: 0.3 });
    expect(totals.co2eMarketGrams).toBeCloseTo(0.7 * location, 9);
    expect(marketBasis({ cfe: 0.3 }, false)).toBe('contracted carbon-free fraction 0.3 (--cfe); the uncovered share at the location intensity (no --residual-mix: assumed)');
  });

  it('--cfe F with --residual-mix R: (1 − F) × R, whatever the grid', () => {
    const totals = account({ cfe: 0.3, residualMixGramsPerKwh: 420 });
    expect(totals.co2eMarketGrams).toBeCloseTo(0.7 * 420 * (kwh(0) + kwh(1) + kwh(3)), 9);
    expect(marketBasis({ cfe: 0.3, residualMixGramsPerKwh: 420 }, false)).toBe('contracted carbon-free fraction 0.3 (--cfe); the uncovered share at the residual mix 420 gCO2e/kWh (--residual-mix)');
  });

  it('--residual-mix R alone: every kWh at R (no contracts)', () => {
    expect(account({ residualMixGramsPerKwh: 420 }).co2eMarketGrams).toBeCloseTo(420 * (kwh(0) + kwh(1) + kwh(3)), 9);
  });

  it('--market-intensity G: every kWh at G', () => {
    expect(account({ marketIntensityGramsPerKwh: 55 }).co2eMarketGrams).toBeCloseTo(55 * (kwh(0) + kwh(1) + kwh(3)), 9);
  });

  describe('the plain CSV\'s cfe column is the user\'s contracted hourly CFE', () => {
    const plain = csvProvider(parseIntensityCsv('datetime,zone,intensity_g_per_kwh,cfe\n2024-01-01T00:00:00Z,DE,300,0.5\n2024-01-01T01:00:00Z,DE,200,\n2024-01-01T03:00:00Z,DE,100,0.25\n', { fileName: 'contract.csv' }), { fallback: tableProvider('DE'), zone: 'DE' });
    const loc = kwh(0) * 300 + kwh(1) * 200 + kwh(3) * 100;

    it('per hour: (1 − CFE_h) × location_h, an hour without a cfe cell fully uncovered', () => {
      const totals = account({}, plain);
      expect(totals.co2eLocationGrams).toBeCloseTo(loc, 9);
      expect(totals.co2eMarketGrams).toBeCloseTo(kwh(0) * 300 * 0.5 + kwh(1) * 200 + kwh(3) * 100 * 0.75, 9);
      expect(marketBasis({}, true)).toBe('contracted hourly carbon-free fraction from the intensity file\'s cfe column; the uncovered share at the location intensity (no --residual-mix: assumed)');
    });

    it('with --residual-mix: (1 − CFE_h) × R', () => {
      expect(account({ residualMixGramsPerKwh: 420 }, plain).co2eMarketGrams).toBeCloseTo(420 * (kwh(0) * 0.5 + kwh(1) + kwh(3) * 0.75), 9);
    });

    it('--cfe overrides the column (an explicit flag wins over file data), and the basis says so', () => {
      // Swapping the two would give 0.5/1/0.75 instead of 0.9 in every hour: the figures cannot coincide.
      expect(account({ cfe: 0.1 }, plain).co2eMarketGrams).toBeCloseTo(0.9 * loc, 9);
      expect(marketBasis({ cfe: 0.1 }, true)).toBe('contracted carbon-free fraction 0.1 (--cfe, overriding the intensity file\'s hourly cfe column); the uncovered share at the location intensity (no --residual-mix: assumed)');
    });
  });
});
