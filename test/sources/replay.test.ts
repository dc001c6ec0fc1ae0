import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { constantProvider } from '../../src/intensity/constant.js';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { csvProvider } from '../../src/intensity/csv-provider.js';
import { tableProvider } from '../../src/intensity/table.js';
import { deviceKindOf, medianIntervalSeconds, replayTrace, type ReplaySettings } from '../../src/sources/replay.js';
import { parseTrace } from '../../src/sources/replay-parse.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/replay/${name}`, import.meta.url));
const trace = (name: string) => parseTrace(readFileSync(fixture(name), 'utf8'), name);
const intensityFile = (name: string, zone: string) =>
  csvProvider(parseIntensityCsv(readFileSync(fixture(name), 'utf8'), { fileName: name }), { fallback: tableProvider(zone), zone });
const settings = (over: Partial<ReplaySettings> = {}): ReplaySettings => ({
  runId: 'r', fileName: 'f.csv', pue: { value: 1.1, source: 'set with --pue' }, zone: 'DE',
  intensity: intensityFile('intensity_de_3h.csv', 'DE'), market: {}, ...over,
});
const DE_TABLE = tableProvider('DE').lookup(Date.UTC(2024, 0, 1)).gramsPerKwh;
const kwh = (joules: number): number => joules / 3.6e6;

describe('replayTrace: a 3 h trace across three hour boundaries, three intensities from a file', () => {
  // 00:30..03:30 every 10 min; gpu0 alternates 200/400 W (300 W mean), cpu 100 W: 240 kJ per 10 minutes.
  const watts = replayTrace(trace('watts_3h.csv'), settings());

  it('integrates with the trapezoid rule at the median spacing and splits at each hour', () => {
    expect(watts.intervalSeconds).toBe(600);
    expect(watts.report.energy.byDevice.map((d) => [d.id, d.kind, d.method, d.kwh, d.avgWatts])).toEqual([
      ['gpu0', 'gpu', 'sampled', 0.9, 300], ['cpu', 'cpu', 'sampled', 0.3, 100],
    ]);
    expect(watts.report.hourly.map((h) => [h.startAt, h.periodSeconds, h.intensityGramsPerKwh, h.quality])).toEqual([
      ['2024-01-01T00:00:00.000Z', 3600, 300, 'actual'],
      ['2024-01-01T01:00:00.000Z', 3600, 200, 'actual'],
      ['2024-01-01T02:00:00.000Z', 3600, 100, 'actual'],
      ['2024-01-01T03:00:00.000Z', 3600, DE_TABLE, 'annual'],
    ]);
    const itJoules = [720_000, 1_440_000, 1_440_000, 720_000];
    watts.report.hourly.forEach((h, i) => expect(h.itKwh).toBeCloseTo(kwh(itJoules[i]!), 12));
  });

  it('accounts location CO2e per hour: Σ facility kWh × CI, the missing hour filled from the table and flagged', () => {
    const loc = [0.22 * 300, 0.44 * 200, 0.44 * 100, 0.22 * DE_TABLE];
    watts.report.hourly.forEach((h, i) => expect(h.co2eLocationKg * 1000).toBeCloseTo(loc[i]!, 9));
    expect(watts.report.co2e.locationKg * 1000).toBeCloseTo(66 + 88 + 44 + 0.22 * DE_TABLE, 9);
    expect(watts.report.hourly[3]!.source).toBe('table: Electricity Maps 2024 yearly, lifecycle (ODbL) (fallback: no row in intensity_de_3h.csv for this period)');
    expect(watts.report.energy.facilityKwh).toBeCloseTo(1.32, 12);
  });

  it('market-based uses the file\'s contracted hourly CFE (1 − CFE), and --cfe or --market-intensity when given', () => {
    expect(watts.report.co2e.marketKg * 1000).toBeCloseTo(66 * 0.5 + 88 + 44 * 0.75 + 0.22 * DE_TABLE, 9);
    expect(watts.report.intensity.marketBasis).toBe('contracted hourly carbon-free fraction from the intensity file\'s cfe column; the uncovered share at the location intensity (no --residual-mix: assumed)');
    const cfe = replayTrace(trace('watts_3h.csv'), settings({ market: { cfe: 0.4 } }));
    expect(cfe.report.co2e.marketKg).toBeCloseTo(cfe.report.co2e.locationKg * 0.6, 12);
    const contract = replayTrace(trace('watts_3h.csv'), settings({ market: { marketIntensityGramsPerKwh: 50 } }));
    expect(contract.report.co2e.marketKg * 1000).toBeCloseTo(1.32 * 50, 9);
    expect(contract.report.co2e.locationKg).toBeCloseTo(watts.report.co2e.locationKg, 12);
  });

  it('a counter trace of the same run gives the same energy per device and per hour', () => {
    const counters = replayTrace(trace('counters_3h.csv'), settings());
    expect(counters.report.energy.byDevice.map((d) => [d.id, d.method, d.kwh])).toEqual([['gpu0', 'counter', 0.9], ['cpu', 'counter', 0.3]]);
    expect(counters.minutes).toEqual(watts.minutes);
    expect(counters.report.co2e).toEqual(watts.report.co2e);
  });
});

describe('replayTrace: half-hour periods', () => {
  it('accounts each half hour at its own intensity', () => {
    // tpu0 at 400 W from 00:15 to 01:15: 360 kJ in 00:00–00:30, 720 kJ in 00:30–01:00, 360 kJ in 01:00–01:30.
    const r = replayTrace(trace('watts_half_hours.csv'), settings({
      zone: 'GB', pue: { value: 1, source: 'set with --pue' }, intensity: intensityFile('intensity_gb_half_hour.csv', 'GB'),
    })).report;
    expect(r.hourly.map((h) => [h.startAt.slice(11, 16), h.periodSeconds, h.intensityGramsPerKwh, h.itKwh])).toEqual([
      ['00:00', 1800, 100, 0.1], ['00:30', 1800, 200, 0.2], ['01:00', 1800, 50, 0.1],
    ]);
    expect(r.co2e.locationKg * 1000).toBeCloseTo(10 + 40 + 5, 9);
    expect(r.energy.byDevice[0]).toMatchObject({ id: 'tpu0', kind: 'tpu', kwh: 0.4 });
  });
});

describe('replayTrace: gaps, resets and intervals', () => {
  it('does not bridge a silence longer than 5 intervals of sampled power and reports it as a gap', () => {
    const text = ['timestamp,device,watts', ...[0, 60, 120, 180, 540, 600].map((s) => `${1_704_067_200 + s},gpu0,100`)].join('\n');
    const r = replayTrace(parseTrace(text, 'gap.csv'), settings({ intensity: constantProvider(100) }));
    expect(r.intervalSeconds).toBe(60);
    expect(r.report.energy.byDevice[0]!.kwh * 3.6e6).toBeCloseTo(4 * 60 * 100, 9);
    expect(r.report.gaps).toEqual([{ deviceId: 'gpu0', startAt: '2024-01-01T00:03:00.000Z', endAt: '2024-01-01T00:09:00.000Z', reason: 'no readings for more than 5 intervals: not bridged' }]);
  });

  it('counts a counter reset as the energy since the reset, never negative energy', () => {
    const text = 'timestamp,device,joules_total\n1704067200,gpu0,1000\n1704067260,gpu0,7000\n1704067320,gpu0,500\n1704067380,gpu0,6500\n';
    const r = replayTrace(parseTrace(text, 'reset.csv'), settings({ intensity: constantProvider(100) }));
    expect(r.report.energy.byDevice[0]!.kwh * 3.6e6).toBeCloseTo(6000 + 500 + 6000, 9);
    expect(r.report.gaps.map((g) => g.reason)).toEqual(['counter went backwards (reset): energy since the reset counted']);
  });

  it('takes the median spacing over all devices, and kinds from the trace or the id', () => {
    const text = 'timestamp,device,watts\n0,a,1\n1,a,1\n3,a,1\n10,b,1\n12,b,1\n';
    expect(medianIntervalSeconds(parseTrace(text, 'm.csv'))).toBe(2);
    expect(['gpu3', 'package-0', 'dram-0', 'tpu1', 'fan'].map((id) => deviceKindOf(id))).toEqual(['gpu', 'cpu', 'dram', 'tpu', 'other']);
    expect(deviceKindOf('x', 'gpu')).toBe('gpu');
  });
});
