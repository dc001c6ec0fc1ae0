import { describe, expect, it } from 'vitest';
import { splitByTime, MINUTE_MS } from '../../src/ledger/split.js';

const HOUR_MS = 3_600_000;
const t0 = Date.UTC(2026, 10, 22, 9, 0, 0);

describe('splitByTime', () => {
  it('keeps an interval inside one bucket whole', () => {
    expect(splitByTime(t0 + 1000, t0 + 2000, 300)).toEqual([{ bucketStartMs: t0, energyJoules: 300 }]);
  });
  it('splits a tick that straddles a minute boundary by time', () => {
    const pieces = splitByTime(t0 + 59_500, t0 + 60_500, 100);
    expect(pieces).toEqual([
      { bucketStartMs: t0, energyJoules: 50 },
      { bucketStartMs: t0 + MINUTE_MS, energyJoules: 50 },
    ]);
  });
  it('splits across three hour boundaries with exact shares that sum to the total', () => {
    // 10:30 → 13:15 is 2.75 h: 0.5 h, 1 h, 1 h, 0.25 h of 2750 J at 1000 J/h
    const start = t0 + 1.5 * HOUR_MS;
    const pieces = splitByTime(start, start + 2.75 * HOUR_MS, 2750, HOUR_MS);
    expect(pieces.map((p) => p.bucketStartMs)).toEqual([t0 + HOUR_MS, t0 + 2 * HOUR_MS, t0 + 3 * HOUR_MS, t0 + 4 * HOUR_MS]);
    expect(pieces.map((p) => p.energyJoules)).toEqual([500, 1000, 1000, 250]);
    expect(pieces.reduce((s, p) => s + p.energyJoules, 0)).toBe(2750);
  });
  it('never loses energy to rounding', () => {
    const pieces = splitByTime(t0 + 7, t0 + 7 * MINUTE_MS + 13, 1 / 3);
    expect(pieces).toHaveLength(8);
    expect(pieces.reduce((s, p) => s + p.energyJoules, 0)).toBe(1 / 3);
  });
  it('puts an interval ending exactly on a boundary in the bucket before it', () => {
    expect(splitByTime(t0 + 30_000, t0 + MINUTE_MS, 10)).toEqual([{ bucketStartMs: t0, energyJoules: 10 }]);
  });
});
