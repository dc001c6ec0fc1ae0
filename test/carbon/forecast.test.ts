import { describe, expect, it } from 'vitest';
import { bestStartWindow } from '../../src/carbon/forecast.js';
import type { IntensityValue } from '../../src/intensity/types.js';

const H = (hour: number, minute = 0): number => Date.UTC(2024, 0, 1, hour, minute);
const series = (startMs: number, periodSeconds: number, grams: number[]): IntensityValue[] =>
  grams.map((gramsPerKwh, i) => ({ gramsPerKwh, source: 'test', periodStartMs: startMs + i * periodSeconds * 1000, periodSeconds, quality: 'forecast' }));

describe('bestStartWindow', () => {
  it('picks the lowest-average hourly window', () => {
    const values = series(H(0), 3600, [300, 200, 100, 150, 400]);
    expect(bestStartWindow(values, 2)).toEqual({ startMs: H(2), endMs: H(4), avgGramsPerKwh: 125, vsNowGramsPerKwh: 250 });
    expect(bestStartWindow(values, 1)).toEqual({ startMs: H(2), endMs: H(3), avgGramsPerKwh: 100, vsNowGramsPerKwh: 300 });
    expect(bestStartWindow(values, 5)).toEqual({ startMs: H(0), endMs: H(5), avgGramsPerKwh: 230, vsNowGramsPerKwh: 230 });
  });

  it('works on half-hour periods and fractional job lengths', () => {
    const values = series(H(12, 30), 1800, [11, 15, 15, 18, 10, 10, 30]);
    // 1 h = two half hours: best is 10+10 at 14:30.
    expect(bestStartWindow(values, 1)).toEqual({ startMs: H(14, 30), endMs: H(15, 30), avgGramsPerKwh: 10, vsNowGramsPerKwh: 13 });
    // 0.75 h from 14:30: 30 min at 10, 15 min at 10 → 10; from now: 30 min at 11 + 15 min at 15 → 12.333…
    const w = bestStartWindow(values, 0.75);
    expect([w.startMs, w.avgGramsPerKwh]).toEqual([H(14, 30), 10]);
    expect(w.vsNowGramsPerKwh).toBeCloseTo(37 / 3, 12);
  });

  it('starts "now" mid-period when nowMs is given, and ties go to the earliest start', () => {
    const values = series(H(0), 3600, [100, 200, 100]);
    // now = 00:30: [00:30, 01:30) = 0.5×100 + 0.5×200 = 150; starting 02:00 → 100.
    expect(bestStartWindow(values, 1, H(0, 30))).toEqual({ startMs: H(2), endMs: H(3), avgGramsPerKwh: 100, vsNowGramsPerKwh: 150 });
    expect(bestStartWindow(series(H(0), 3600, [100, 100, 100]), 1).startMs).toBe(H(0));
  });

  it('skips windows across gaps and explains when nothing fits', () => {
    const values = [...series(H(0), 3600, [500, 500]), ...series(H(3), 3600, [50, 60])];
    expect(bestStartWindow(values, 2)).toEqual({ startMs: H(3), endMs: H(5), avgGramsPerKwh: 55, vsNowGramsPerKwh: 500 });
    expect(() => bestStartWindow(values, 6)).toThrow('no gap-free 6 h window in the forecast (it reaches 5 h ahead): choose fewer hours');
    // Starting now crosses the gap: no 'now' figure, but a later window still fits.
    const later = [...series(H(0), 3600, [500]), ...series(H(2), 3600, [50, 60, 70])];
    expect(bestStartWindow(later, 2)).toEqual({ startMs: H(2), endMs: H(4), avgGramsPerKwh: 55, vsNowGramsPerKwh: undefined });
    expect(() => bestStartWindow([], 1)).toThrow('no forecast values');
    expect(() => bestStartWindow(values, 0)).toThrow('job length must be a positive number of hours, got 0');
  });
});
