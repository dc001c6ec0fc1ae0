/** CounterEvent says how a counter moved between two reads. */
export type CounterEvent = 'ok' | 'wrap' | 'reset';

/** CounterDelta is the energy between two reads of a cumulative counter, in joules. */
export interface CounterDelta {
  deltaJoules: number;
  event: CounterEvent;
}

/**
 * counterDelta turns two reads of a cumulative energy counter (joules) into the energy between them.
 * The one shared implementation for NVML, RAPL and hwmon counters:
 * - cur ≥ prev: the difference;
 * - cur < prev and the counter has a range (RAPL max_energy_range_uj): it wrapped once, so
 *   range − prev + cur — unless that exceeds maxPlausibleJoules, which is evidence of a reset instead;
 * - cur < prev without wrap evidence: the counter restarted from zero (driver reload): the energy since the
 *   reset is cur itself; never negative energy.
 */
export function counterDelta(
  prevJoules: number,
  curJoules: number,
  rangeJoules?: number,
  maxPlausibleJoules = Infinity,
): CounterDelta {
  if (curJoules >= prevJoules) return { deltaJoules: curJoules - prevJoules, event: 'ok' };
  if (rangeJoules !== undefined && rangeJoules > 0 && prevJoules <= rangeJoules) {
    const wrappedJoules = rangeJoules - prevJoules + curJoules;
    if (wrappedJoules <= maxPlausibleJoules) return { deltaJoules: wrappedJoules, event: 'wrap' };
  }
  return { deltaJoules: Math.min(Math.max(curJoules, 0), maxPlausibleJoules), event: 'reset' };
}

/** trapezoidJoules integrates two power samples (watts) over an interval in seconds. */
export function trapezoidJoules(prevPowerWatts: number, curPowerWatts: number, intervalSeconds: number): number {
  return ((prevPowerWatts + curPowerWatts) / 2) * intervalSeconds;
}
