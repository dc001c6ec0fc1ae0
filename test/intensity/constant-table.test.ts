import { describe, expect, it } from 'vitest';
import { constantProvider } from '../../src/intensity/constant.js';
import { tableProvider, worldAverageProvider } from '../../src/intensity/table.js';

const AT_MS = Date.UTC(2024, 2, 10, 14, 37, 12, 500);
const HOUR_MS = Date.UTC(2024, 2, 10, 14);

describe('constantProvider', () => {
  it('answers the given intensity for the UTC hour holding the instant', () => {
    expect(constantProvider(429, { cfe: 0.25 }).lookup(AT_MS)).toEqual({
      gramsPerKwh: 429, cfe: 0.25, source: 'constant (--intensity)',
      periodStartMs: HOUR_MS, periodSeconds: 3600, quality: 'annual',
    });
    expect(constantProvider(0).lookup(HOUR_MS).periodStartMs).toBe(HOUR_MS);
    expect('cfe' in constantProvider(10).lookup(AT_MS)).toBe(false);
  });

  it('rejects negative intensities and out-of-range CFE', () => {
    expect(() => constantProvider(-1)).toThrow('non-negative');
    expect(() => constantProvider(Number.NaN)).toThrow('non-negative');
    expect(() => constantProvider(100, { cfe: 1.5 })).toThrow('between 0 and 1');
  });
});

describe('tableProvider', () => {
  it('answers the Electricity Maps yearly average per hour', () => {
    const provider = tableProvider('deu');
    expect(provider.zone).toBe('DE');
    expect(provider.lookup(AT_MS)).toEqual({
      gramsPerKwh: 341, source: 'table: Electricity Maps 2024 yearly, lifecycle (ODbL)',
      periodStartMs: HOUR_MS, periodSeconds: 3600, quality: 'annual',
    });
    expect(tableProvider('US-CAL-CISO').lookup(AT_MS).gramsPerKwh).toBe(229);
    expect(tableProvider('FR').lookup(AT_MS).gramsPerKwh).toBe(33);
  });

  it('answers Ember averages where Electricity Maps has none', () => {
    expect(tableProvider('ASM').lookup(AT_MS)).toEqual({
      gramsPerKwh: 647.06, source: 'table: Ember 2023 annual average, lifecycle (CC BY-SA 4.0), nearest year to 2024',
      periodStartMs: HOUR_MS, periodSeconds: 3600, quality: 'annual',
    });
  });

  it('throws the one-line unknown-zone message', () => {
    expect(() => tableProvider('DEE')).toThrow("unknown zone 'DEE': did you mean DE, EE? (see `wattprint zones`)");
  });
});

describe('worldAverageProvider', () => {
  it('answers Ember world average marked assumed', () => {
    expect(worldAverageProvider().lookup(AT_MS)).toEqual({
      gramsPerKwh: 472.94,
      source: 'world average, assumed (no --zone or --intensity; Ember 2024, lifecycle, CC BY-SA 4.0)',
      periodStartMs: HOUR_MS, periodSeconds: 3600, quality: 'assumed',
    });
  });
});
