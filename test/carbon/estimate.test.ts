import { describe, expect, it } from 'vitest';
import { ESTIMATE_DEFAULT_PUE, estimate, renderEstimate } from '../../src/carbon/estimate.js';

/**
 * Table 4 of Patterson et al., "Carbon Emissions and Large Neural Network Training" (arXiv:2104.10350 v3,
 * 2021), all six columns, as printed. Strings keep the printed digits: the tolerance is derived from them.
 */
const TABLE_4 = [
  // processor, chips, measured system W per accelerator, days, PUE, gross and net kgCO2e/kWh, MWh, gross and net tCO2e
  { model: 'Evolved Transformer NAS', processor: 'TPU v2', chips: 200, watts: '208', days: '6.8', pue: '1.10', gross: '0.431', net: '0.431', mwh: '7.5', tGross: '3.2', tNet: '3.2' },
  { model: 'T5', processor: 'TPU v3', chips: 512, watts: '310', days: '20', pue: '1.12', gross: '0.545', net: '0.545', mwh: '85.7', tGross: '46.7', tNet: '46.7' },
  { model: 'Meena', processor: 'TPU v3', chips: 1024, watts: '289', days: '30', pue: '1.09', gross: '0.415', net: '0.415', mwh: '232', tGross: '96.4', tNet: '96.4' },
  { model: 'GShard-600B', processor: 'TPU v3', chips: 1024, watts: '288', days: '3.1', pue: '1.09', gross: '0.201', net: '0.177', mwh: '24.1', tGross: '4.8', tNet: '4.3' },
  { model: 'Switch Transformer', processor: 'TPU v3', chips: 1024, watts: '245', days: '27', pue: '1.10', gross: '0.403', net: '0.330', mwh: '179', tGross: '72.2', tNet: '59.1' },
  { model: 'GPT-3', processor: 'V100', chips: 10_000, watts: '330', days: '14.8', pue: '1.10', gross: '0.429', net: '0.429', mwh: '1,287', tGross: '552.1', tNet: '552.1' },
];

/** halfUnit is half of the last printed digit's place: '14.8' → 0.05, '20' → 0.5, '0.177' → 0.0005. */
function halfUnit(printed: string): number {
  const decimals = printed.includes('.') ? printed.split('.')[1]!.length : 0;
  return 0.5 * 10 ** -decimals;
}
const num = (printed: string): number => Number(printed.replace(/,/g, ''));

/**
 * Each printed input x stands for a true value within ±halfUnit(x), so a product of them is known only to
 * a relative error of Π(1 + halfUnit(xᵢ)/xᵢ) − 1; the printed output adds its own ±halfUnit. A result
 * farther from the print than that cannot be explained by rounding. Chip counts are exact integers.
 */
function tolerance(computed: number, inputs: string[], printedOutput: string): number {
  const relative = inputs.reduce((acc, s) => acc * (1 + halfUnit(s) / num(s)), 1) - 1;
  return Math.abs(computed) * relative + halfUnit(printedOutput);
}

describe('estimate reproduces Patterson et al. 2021 Table 4', () => {
  it.each(TABLE_4)('$model: $chips × $processor × $watts W × $days days × PUE $pue', (col) => {
    const r = estimate({
      accelerators: col.chips,
      wattsPerAccelerator: num(col.watts),
      hours: num(col.days) * 24,
      pue: num(col.pue),
      intensityGramsPerKwh: num(col.gross) * 1000,
      marketIntensityGramsPerKwh: num(col.net) * 1000,
    });
    const mwh = r.energy.facilityKwh / 1000;
    expect(Math.abs(mwh - num(col.mwh))).toBeLessThanOrEqual(tolerance(mwh, [col.watts, col.days, col.pue], col.mwh));
    const tGross = r.co2e.locationKg / 1000;
    const tNet = r.co2e.marketKg / 1000;
    expect(Math.abs(tGross - num(col.tGross))).toBeLessThanOrEqual(tolerance(tGross, [col.watts, col.days, col.pue, col.gross], col.tGross));
    expect(Math.abs(tNet - num(col.tNet))).toBeLessThanOrEqual(tolerance(tNet, [col.watts, col.days, col.pue, col.net], col.tNet));
    expect(r.energy.itKwh * num(col.pue)).toBeCloseTo(r.energy.facilityKwh, 6);
  });

  it('GPT-3 from its printed inputs: 1,289 MWh and 553 tCO2e (issue anchors)', () => {
    const r = estimate({ accelerators: 10_000, wattsPerAccelerator: 330, hours: 14.8 * 24, pue: 1.1, intensityGramsPerKwh: 429 });
    expect(r.energy.itKwh).toBeCloseTo(1_172_160, 6);
    expect(r.energy.facilityKwh).toBeCloseTo(1_289_376, 6);
    expect(r.co2e.locationKg).toBeCloseTo(553_142.304, 6);
    expect(r.co2e.marketKg).toBe(r.co2e.locationKg);
  });

  it('GShard-600B: 23.9 MWh, 4.8 t gross at 201 g/kWh, 4.2 t net at 177 g/kWh (issue anchors)', () => {
    const r = estimate({ accelerators: 1024, wattsPerAccelerator: 288, hours: 3.1 * 24, pue: 1.09, intensityGramsPerKwh: 201, marketIntensityGramsPerKwh: 177 });
    expect(r.energy.facilityKwh).toBeCloseTo(23_916.183552, 6);
    expect((r.co2e.locationKg / 1000).toFixed(1)).toBe('4.8');
    expect((r.co2e.marketKg / 1000).toFixed(1)).toBe('4.2');
    expect(r.intensity.marketBasis).toBe('market intensity 177 gCO2e/kWh (--market-intensity)');
  });
});

describe('estimate inputs', () => {
  it('a CFE fraction discounts the market-based figure', () => {
    const r = estimate({ accelerators: 8, wattsPerAccelerator: 500, hours: 10, pue: 1.2, intensityGramsPerKwh: 400, cfe: 0.25 });
    expect(r.energy).toEqual({ itKwh: 40, facilityKwh: 48 });
    expect(r.co2e.locationKg).toBeCloseTo(19.2, 12);
    expect(r.co2e.marketKg).toBeCloseTo(14.4, 12);
    expect(r.intensity.marketGramsPerKwh).toBe(300);
  });

  it('defaults PUE to the Uptime Institute 2023 average and says so', () => {
    const r = estimate({ accelerators: 1, wattsPerAccelerator: 1000, hours: 1, intensityGramsPerKwh: 100 });
    expect(ESTIMATE_DEFAULT_PUE).toBe(1.58);
    expect(r).toMatchObject({ pue: 1.58, pueAssumed: true, energy: { itKwh: 1, facilityKwh: 1.58 } });
    expect(r.co2e.locationKg).toBeCloseTo(0.158, 12);
  });

  it.each([
    [{ accelerators: 0 }, 'accelerators must be a positive number, got 0'],
    [{ wattsPerAccelerator: Number.NaN }, 'wattsPerAccelerator must be a positive number, got NaN'],
    [{ hours: -1 }, 'hours must be a positive number, got -1'],
    [{ pue: 0.9 }, 'pue must be a number ≥ 1, got 0.9'],
    [{ intensityGramsPerKwh: -5 }, 'intensityGramsPerKwh must be a number ≥ 0, got -5'],
    [{ cfe: 1.5 }, 'cfe must be a fraction from 0 to 1, got 1.5'],
  ])('rejects %o', (bad, message) => {
    const base = { accelerators: 1, wattsPerAccelerator: 100, hours: 1, pue: 1.1, intensityGramsPerKwh: 100 };
    expect(() => estimate({ ...base, ...bad })).toThrow(new RangeError(message));
  });
});

describe('renderEstimate', () => {
  const gpt3 = estimate({ accelerators: 10_000, wattsPerAccelerator: 330, hours: 355.2, pue: 1.1, intensityGramsPerKwh: 429 });

  it('prints a short text block', () => {
    expect(renderEstimate(gpt3, false)).toBe(
      [
        'Estimate (Patterson et al. 2021: N × W × hours × PUE × gCO2e/kWh)',
        '  Accelerators         10,000 × 330 W average system power',
        '  Training time        355.2 h (14.8 days)',
        '  IT energy            1,172 MWh',
        '  PUE                  1.10',
        '  Facility energy      1,289 MWh',
        '  Grid intensity       429 gCO2e/kWh',
        '  CO2e location-based  553 t',
        '  CO2e market-based    553 t (no market instruments given: market-based equals location-based)',
        '',
      ].join('\n'),
    );
  });

  it('JSON carries energy.itKwh, energy.facilityKwh, co2e.locationKg, co2e.marketKg', () => {
    const parsed = JSON.parse(renderEstimate(gpt3, true));
    expect(parsed.energy.itKwh).toBeCloseTo(1_172_160, 6);
    expect(parsed.energy.facilityKwh).toBeCloseTo(1_289_376, 6);
    expect(parsed.co2e.locationKg).toBeCloseTo(553_142.304, 6);
    expect(parsed.co2e.marketKg).toBeCloseTo(553_142.304, 6);
    expect(parsed.pue).toBe(1.1);
  });
});
