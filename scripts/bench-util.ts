import type { Clock } from '../agent/clock.js';

/** manualClock is a clock the bench advances: simulated time, real work. */
export function manualClock(wallMs: number): Clock & { advance(seconds: number): void } {
  let mono = 1_000;
  let wall = wallMs;
  return {
    monoSeconds: () => mono,
    wallMs: () => wall,
    advance(seconds: number) {
      mono += seconds;
      wall += seconds * 1000;
    },
  };
}

/** percentile returns the p-quantile (0..1) of values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** rssMb is the process's resident set in MiB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}
