import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { formatEnergyJoules, formatMassGrams, formatWatts, sig } from '../../src/report/format.js';

interface DashboardFormat {
  sig(x: number, digits: number): string;
  energyJoules(j: number): string;
  massGrams(g: number): string;
  powerWatts(w: number): string;
  clock(ms: number, withDate?: boolean): string;
}

/** loadDashboardFormat runs the browser script in a fresh context, as the page does, and returns what it defines. */
function loadDashboardFormat(): DashboardFormat {
  const source = readFileSync(new URL('../../src/exporters/dashboard/format.js', import.meta.url), 'utf8');
  const sandbox: { wattprintFormat?: DashboardFormat } = {};
  runInNewContext(source, sandbox);
  return sandbox.wattprintFormat!;
}

/** inTimeZone runs fn with the process's time zone set to tz (Node re-reads TZ when it is assigned). */
function inTimeZone<T>(tz: string, fn: () => T): T {
  const previous = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  }
}

// Values across every prefix boundary, with the rounding carries (999.96 → 1.000 of the next prefix), negatives,
// zero, values below the smallest prefix and above the largest, and non-finite input.
const VALUES = [0, 1e-9, 3e-4, 0.0008, 0.001, 0.9999, 1, 3.6, 330, 999.4, 999.96, 3599.9, 3600, 12_345.678, 999_960, 3.6e6,
  1_234_567, 3.59998e9, 3.6e9, 3.59999e12, 3.6e12, 4.1e12, 7.7e15, -42.42, -3.6e6, Number.NaN, Number.POSITIVE_INFINITY];

describe('dashboard formatter (format.js) and report formatter (format.ts) agree', () => {
  const js = loadDashboardFormat();

  it.each([
    ['energy (joules)', (v: number) => formatEnergyJoules(v), (v: number) => js.energyJoules(v)],
    ['mass (grams)', (v: number) => formatMassGrams(v), (v: number) => js.massGrams(v)],
    ['power (watts)', (v: number) => formatWatts(v), (v: number) => js.powerWatts(v)],
    ['sig 3', (v: number) => sig(v, 3), (v: number) => js.sig(v, 3)],
  ])('%s', (_what, ts, browser) => {
    const both = VALUES.map((v) => [v, ts(v), browser(v)]);
    for (const [v, a, b] of both) expect(b, `value ${v}`).toBe(a);
    // The list does reach every prefix, so the comparison covers them all.
    expect(new Set(VALUES.map((v) => formatEnergyJoules(v).split(' ')[1])).size).toBeGreaterThanOrEqual(4);
  });

  it('spot values a reader checks', () => {
    expect(js.energyJoules(330)).toBe('91.67 mWh');
    expect(js.energyJoules(3.6e6)).toBe('1.000 kWh');
    expect(js.massGrams(0.000448)).toBe('0.448 mg');
    expect(js.powerWatts(1446.272)).toBe('1.45 kW');
  });

  it('shows local time beside UTC, and UTC alone where they agree', () => {
    const at = Date.parse('2026-03-01T12:00:05Z');
    expect(inTimeZone('UTC', () => js.clock(at))).toBe('12:00:05 UTC');
    expect(inTimeZone('Asia/Kolkata', () => js.clock(at))).toBe('17:30:05 (12:00:05 UTC)');
    expect(inTimeZone('Asia/Kolkata', () => js.clock(Date.parse('2026-03-01T20:00:00Z'), true))).toBe('2026-03-02 01:30:00 (2026-03-01 20:00:00 UTC)');
  });
});
