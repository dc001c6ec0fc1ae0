import { describe, expect, it } from 'vitest';
import { counterDelta, trapezoidJoules } from '../../src/ledger/counter.js';

describe('counterDelta', () => {
  it('returns the difference of an increasing counter', () => {
    expect(counterDelta(100.5, 350.25)).toEqual({ deltaJoules: 249.75, event: 'ok' });
  });
  it('handles RAPL wraparound using max_energy_range', () => {
    // range 262143.328850 J (a real max_energy_range_uj of 262143328850), prev near the top, cur past zero
    const d = counterDelta(262_100, 57.328850, 262_143.32885);
    expect(d.event).toBe('wrap');
    expect(d.deltaJoules).toBeCloseTo(43.32885 + 57.32885, 9);
  });
  it('treats a decrease without a range as a reset, never negative energy', () => {
    expect(counterDelta(5_000_000, 120)).toEqual({ deltaJoules: 120, event: 'reset' });
  });
  it('treats an implausible wrap as a reset', () => {
    // a wrap would mean 262000 J in one second (262 kW): impossible for a 700 W device
    const d = counterDelta(200, 50, 262_143.32885, 700);
    expect(d).toEqual({ deltaJoules: 50, event: 'reset' });
  });
  it('caps the energy after a reset at what is plausible', () => {
    expect(counterDelta(900, 800, undefined, 700)).toEqual({ deltaJoules: 700, event: 'reset' });
  });
  it('counts zero when the counter did not move', () => {
    expect(counterDelta(42, 42)).toEqual({ deltaJoules: 0, event: 'ok' });
  });
});

describe('trapezoidJoules', () => {
  it('integrates the mean of two samples over the interval', () => {
    expect(trapezoidJoules(100, 300, 2)).toBe(400);
    expect(trapezoidJoules(250, 250, 0.5)).toBe(125);
  });
});
