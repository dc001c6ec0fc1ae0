import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bestStartWindow } from '../../src/carbon/forecast.js';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import type { IntensityValue } from '../../src/intensity/types.js';

const H = (hour: number, minute = 0): number => Date.UTC(2024, 0, 1, hour, minute);
const series = (startMs: number, periodSeconds: number, grams: number[]): IntensityValue[] =>
  grams.map((gramsPerKwh, i) => ({ gramsPerKwh, source: 'test', periodStartMs: startMs + i * periodSeconds * 1000, periodSeconds, quality: 'forecast' }));

describe('bestStartWindow searches every start, not only period boundaries (issue 10, defect 3)', () => {
  it('1.5 h over hourly 300/100/500/400: 00:30 (167 g/kWh), not 00:00 (233)', () => {
    const w = bestStartWindow(series(H(0), 3600, [300, 100, 500, 400]), 1.5);
    expect([w.startMs, w.endMs]).toEqual([H(0, 30), H(2)]);
    expect(w.avgGramsPerKwh).toBeCloseTo(500 / 3, 12);
    expect(w.vsNowGramsPerKwh).toBeCloseTo(700 / 3, 12);
  });

  it('respects a latest start (run --start-within)', () => {
    const values = series(H(0), 3600, [300, 100, 500, 50, 50]);
    expect(bestStartWindow(values, 1, H(0), H(2)).startMs).toBe(H(1));
    expect(bestStartWindow(values, 1, H(0)).startMs).toBe(H(3));
  });
});

const GRID = fileURLToPath(new URL('../../../shared/fixtures/grid-intensity/', import.meta.url));
const HAVE = existsSync(GRID);
if (!HAVE && process.env.CI === 'true') throw new Error(`${GRID} is missing: the forecast conformance test needs the real DE/ES exports`);

/**
 * bruteForce tries every whole-minute start of a piecewise-constant series (prefix sums of g·minutes) and
 * returns the lowest average over windows that lie wholly inside the data (no gaps), earliest on ties.
 */
function bruteForce(values: IntensityValue[], jobMinutes: number): { startMs: number; avg: number } {
  const first = values[0]!.periodStartMs;
  const perMinute: (number | undefined)[] = [];
  for (const v of values) {
    for (let m = 0; m < v.periodSeconds / 60; m++) perMinute[(v.periodStartMs - first) / 60_000 + m] = v.gramsPerKwh;
  }
  const prefix = [0];
  const missing = [0];
  for (let i = 0; i < perMinute.length; i++) {
    prefix.push(prefix[i]! + (perMinute[i] ?? 0));
    missing.push(missing[i]! + (perMinute[i] === undefined ? 1 : 0));
  }
  let best = { startMs: NaN, avg: Infinity };
  for (let s = 0; s + jobMinutes <= perMinute.length; s++) {
    if (missing[s + jobMinutes]! - missing[s]! > 0) continue;
    const avg = (prefix[s + jobMinutes]! - prefix[s]!) / jobMinutes;
    if (avg < best.avg - 1e-9) best = { startMs: first + s * 60_000, avg };
  }
  return best;
}

describe.skipIf(!HAVE)('bestStartWindow matches a brute-force 1-minute search on the real January 2022 exports', () => {
  for (const zone of ['DE', 'ES']) {
    it(`${zone}: job lengths 0.75 to 6 h`, () => {
      const parsed = parseIntensityCsv(readFileSync(`${GRID}electricitymaps__${zone}_2022_hourly__jan.csv`, 'utf8'), { fileName: `${zone}.csv` });
      const values: IntensityValue[] = parsed.rows.map((r) => ({ gramsPerKwh: r.gramsPerKwh, source: zone, periodStartMs: r.periodStartMs, periodSeconds: 3600, quality: 'actual' }));
      for (let quarterHours = 3; quarterHours <= 24; quarterHours++) {
        const hours = quarterHours / 4;
        const brute = bruteForce(values, quarterHours * 15);
        const w = bestStartWindow(values, hours);
        expect(Math.abs(w.avgGramsPerKwh - brute.avg) / brute.avg, `${zone} ${hours} h`).toBeLessThan(1e-9);
        expect(w.startMs, `${zone} ${hours} h`).toBe(brute.startMs);
      }
    });
  }
});
