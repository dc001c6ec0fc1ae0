import { describe, expect, it } from 'vitest';
import { computeUncertainty, type UncertaintyInputs } from '../../src/report/uncertainty.js';

/**
 * A 100 s run, by hand: an NVML counter GPU (50 kJ), an nvidia-smi GPU (20 kJ, silent 10 s), a modelled CPU
 * (10 kJ) and modelled RAM (1 kJ); two periods, one at an annual table figure (10 g CO2e), one hourly actual (5 g).
 */
const inputs: UncertaintyInputs = {
  durationSeconds: 100,
  pue: 1.2,
  market: {},
  devices: [
    { id: 'gpu0', kind: 'gpu', method: 'counter', collector: 'nvml', energyJoules: 50_000 },
    { id: 'gpu1', kind: 'gpu', method: 'sampled', collector: 'nvidia-smi', energyJoules: 20_000 },
    { id: 'cpu', kind: 'cpu', method: 'modelled', collector: 'cpu', energyJoules: 10_000 },
    { id: 'ram', kind: 'dram', method: 'modelled', collector: 'ram', energyJoules: 1_000 },
  ],
  gaps: [
    { deviceId: 'gpu1', startMs: 40_000, endMs: 50_000 },
    // Recovered from a counter: counted exactly, no estimate.
    { deviceId: 'gpu0', startMs: 60_000, endMs: 70_000, recoveredJoules: 5_000 },
  ],
  periods: [
    { co2eLocationGrams: 10, co2eMarketGrams: 7, quality: 'annual', source: 'table: Electricity Maps 2024 yearly, lifecycle (ODbL)' },
    { co2eLocationGrams: 5, co2eMarketGrams: 5, quality: 'actual', source: 'uk: carbonintensity.org.uk national' },
  ],
};

// IT low  = 50,000 × 0.999 + 20,000 × 0.9 + 10,000 × 0.6 + 1,000 × 0.5 = 74,450 J
// gap     = 20,000 J / 90 s measured × 10 s silent = 2,222.2… J (high end only)
// IT high = 50,000 × 1.001 + 20,000 × 1.1 + 2,222.2… + 10,000 × 1.4 + 1,000 × 1.5 = 89,772.2… J
const LOW_J = 74_450;
const GAP_J = 20_000 / 90 * 10;
const HIGH_J = 50_050 + 22_000 + GAP_J + 14_000 + 1_500;
const kwh = (j: number) => j / 3.6e6;

describe('computeUncertainty, checked by hand', () => {
  const u = computeUncertainty(inputs);

  it('IT and facility energy: each device at the edge of its method\'s range, the gap estimate in the high end only', () => {
    expect(u.itKwh.low).toBeCloseTo(kwh(LOW_J), 15);
    expect(u.itKwh.high).toBeCloseTo(kwh(HIGH_J), 15);
    expect(u.facilityKwh.low).toBeCloseTo(kwh(LOW_J) * 1.2, 15);
    expect(u.facilityKwh.high).toBeCloseTo(kwh(HIGH_J) * 1.2, 15);
    expect(u.gapEstimateKwh).toBeCloseTo(kwh(GAP_J), 15);
    expect(u.byDevice.map((d) => [d.id, d.lowKwh * 3.6e6, d.highKwh * 3.6e6])).toEqual([
      ['gpu0', expect.closeTo(49_950, 9), expect.closeTo(50_050, 9)],
      ['gpu1', expect.closeTo(18_000, 9), expect.closeTo(22_000 + GAP_J, 9)],
      ['cpu', expect.closeTo(6_000, 9), expect.closeTo(14_000, 9)],
      ['ram', expect.closeTo(500, 9), expect.closeTo(1_500, 9)],
    ]);
    expect(u.byDevice[1]!.basis).toBe('±10%, assumed: nvidia-smi power.draw averages ~25% of the time on A100/H100 (Yang et al. 2024, arXiv:2312.02741)');
    expect(u.byDevice[2]!.basis).toBe('±40%, assumed: CPU TDP × utilisation model');
  });

  it('CO2e: the energy factors × each period at the edge of its intensity range (annual ±50%, hourly actual 0)', () => {
    // location low  = (10 × 0.5 + 5) × 74,450 / 81,000;  high = (10 × 1.5 + 5) × 89,772.2 / 81,000
    expect(u.co2eLocationKg.low * 1000).toBeCloseTo(10 * LOW_J / 81_000, 12);
    expect(u.co2eLocationKg.high * 1000).toBeCloseTo(20 * HIGH_J / 81_000, 12);
    // market follows the location intensity (no instruments): (7 × 0.5 + 5) and (7 × 1.5 + 5)
    expect(u.co2eMarketKg.low * 1000).toBeCloseTo(8.5 * LOW_J / 81_000, 12);
    expect(u.co2eMarketKg.high * 1000).toBeCloseTo(15.5 * HIGH_J / 81_000, 12);
    expect(u.intensity.map((i) => [i.quality, i.periods, i.low, i.high])).toEqual([['annual', 1, 0.5, 0.5], ['actual', 1, 0, 0]]);
  });

  it('a contractual market intensity is not varied; the world average is asymmetric', () => {
    const contract = computeUncertainty({ ...inputs, market: { marketIntensityGramsPerKwh: 50 } });
    expect(contract.co2eMarketKg.low * 1000).toBeCloseTo(12 * LOW_J / 81_000, 12);
    expect(contract.co2eMarketKg.high * 1000).toBeCloseTo(12 * HIGH_J / 81_000, 12);
    const world = computeUncertainty({ ...inputs, gaps: [], periods: [{ co2eLocationGrams: 100, co2eMarketGrams: 100, quality: 'assumed', source: 'world average, assumed' }] });
    expect(world.co2eLocationKg.low * 1000).toBeCloseTo(100 * 0.06 * LOW_J / 81_000, 12);
    expect(world.co2eLocationKg.high * 1000).toBeCloseTo(100 * 1.48 * (HIGH_J - GAP_J) / 81_000, 12);
  });
});

describe('uncertainty in every format of a real replay', () => {
  it('table, Markdown, JSON and CSV show the bounds beside the central figures', async () => {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const { parseTrace } = await import('../../src/sources/replay-parse.js');
    const { replayTrace } = await import('../../src/sources/replay.js');
    const { tableProvider } = await import('../../src/intensity/table.js');
    const { renderReport } = await import('../../src/report/render.js');
    const file = fileURLToPath(new URL('../fixtures/replay/watts_3h.csv', import.meta.url));
    // gpu0 and cpu sampled (±5%), 1.2 kWh IT at PUE 1.1, four hours at DE's 2024 annual figure (±50%).
    const { report } = replayTrace(parseTrace(readFileSync(file, 'utf8'), 'watts_3h.csv'), {
      runId: 'u', fileName: 'watts_3h.csv', pue: { value: 1.1, source: 'set with --pue' }, zone: 'DE', intensity: tableProvider('DE'), market: {},
    });
    const g = tableProvider('DE').lookup(Date.UTC(2024, 0, 1)).gramsPerKwh;
    expect(report.uncertainty!.itKwh).toEqual({ low: expect.closeTo(1.2 * 0.95, 12), high: expect.closeTo(1.2 * 1.05, 12) });
    expect(report.uncertainty!.co2eLocationKg.low * 1000).toBeCloseTo(1.32 * g * 0.5 * 0.95, 9);
    expect(report.uncertainty!.co2eLocationKg.high * 1000).toBeCloseTo(1.32 * g * 1.5 * 1.05, 9);
    // The table shows SI-prefixed figures with the range in the same unit; Markdown keeps kg and kWh.
    const { formatCo2eKg, formatKwh } = await import('../../src/report/format.js');
    const bare = (text: string) => text.slice(0, text.lastIndexOf(' '));
    const [lowKg, highKg] = [1.32 * g * 0.5 * 0.95 / 1000, 1.32 * g * 1.5 * 1.05 / 1000];
    expect(renderReport(report, 'table')).toContain(`CO2e location-based  ${formatCo2eKg(1.32 * g / 1000)} (${bare(formatCo2eKg(lowKg))}–${formatCo2eKg(highKg)})`);
    expect(renderReport(report, 'table')).toContain(`IT energy            ${formatKwh(1.2)} (${bare(formatKwh(1.14))}–${formatKwh(1.26)})`);
    const kg = (x: number) => Number((x / 1000).toPrecision(3)).toString();
    expect(renderReport(report, 'markdown')).toContain(`| CO2e location-based | ${kg(1.32 * g)} kg (${kg(1.32 * g * 0.5 * 0.95)}–${kg(1.32 * g * 1.5 * 1.05)} kg) |`);
    expect(JSON.parse(renderReport(report, 'json')).uncertainty.itKwh.high).toBeCloseTo(1.26, 12);
    const csv = renderReport(report, 'csv').split('\n');
    const header = csv[0]!.split(',');
    expect(header.slice(-3)).toEqual(['low', 'high', 'embodied_kg']);
    const cells = csv.find((l) => l.startsWith('uncertainty,u,,co2e_location_kg,'))!.split(',');
    const [low, high] = [cells.at(-3), cells.at(-2)].map(Number);
    expect(low).toBeCloseTo((1.32 * g * 0.5 * 0.95) / 1000, 6);
    expect(high).toBeCloseTo((1.32 * g * 1.5 * 1.05) / 1000, 6);
  });
});
