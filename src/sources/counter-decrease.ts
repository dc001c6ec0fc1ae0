import type { ParsedTrace } from './replay-parse.js';

/** CounterDecrease is a replayed counter that went down with no range known: the Integrator takes it as a reset. */
export interface CounterDecrease {
  deviceId: string;
  /** The reading after the decrease (ms, UTC), and the seconds since the one before. */
  atMs: number;
  elapsedSeconds: number;
  prevJoules: number;
  curJoules: number;
  /**
   * Had it been a wrap, the energy the reset rule did not count (joules): the device's average power over the
   * trace's other intervals × the interval, less the `curJoules` counted. Undefined when no other interval
   * gives an average.
   */
  mayBeMissingJoules?: number;
}

/**
 * counterDecreases finds, per device of a counter trace, the decreases that carry no counter range (no
 * max_joules, no --counter-range) and estimates what each may have lost had it been a wrap. Pure.
 */
export function counterDecreases(trace: ParsedTrace): CounterDecrease[] {
  if (trace.kind !== 'joules_total') return [];
  const out: CounterDecrease[] = [];
  for (const [deviceId, points] of trace.series) {
    let joules = 0;
    let seconds = 0;
    const found: Omit<CounterDecrease, 'mayBeMissingJoules'>[] = [];
    for (let i = 1; i < points.length; i++) {
      const [prev, cur] = [points[i - 1]!, points[i]!];
      const elapsedSeconds = (cur.tMs - prev.tMs) / 1000;
      if (cur.joulesTotal! >= prev.joulesTotal!) {
        joules += cur.joulesTotal! - prev.joulesTotal!;
        seconds += elapsedSeconds;
      } else if (cur.counterRangeJoules === undefined) {
        found.push({ deviceId, atMs: cur.tMs, elapsedSeconds, prevJoules: prev.joulesTotal!, curJoules: cur.joulesTotal! });
      }
    }
    const avgWatts = seconds > 0 ? joules / seconds : undefined;
    for (const d of found) {
      out.push(avgWatts === undefined ? d : { ...d, mayBeMissingJoules: Math.max(0, avgWatts * d.elapsedSeconds - d.curJoules) });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** counterDecreaseNote is the report's line for one decrease taken as a reset. */
export function counterDecreaseNote(d: CounterDecrease): string {
  const missing = d.mayBeMissingJoules === undefined
    ? 'how much is unknown (no other interval of this device gives its average power)'
    : `about ${round(d.mayBeMissingJoules)} J (${(d.mayBeMissingJoules / 3.6e6).toPrecision(3)} kWh) at the device's average power over the ${round(d.elapsedSeconds)} s`;
  return `${d.deviceId}: counter went from ${round(d.prevJoules)} J to ${round(d.curJoules)} J at ${new Date(d.atMs).toISOString()}: counted as a reset ` +
    `(${round(d.curJoules)} J); if it wrapped, ${missing} is missing: give the counter's range with --counter-range J or a max_joules column`;
}

function round(n: number): string {
  return Number(n.toPrecision(6)).toString();
}
