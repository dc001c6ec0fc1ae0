import { performance } from 'node:perf_hooks';

/** Clock gives the two times the poller needs: monotonic seconds for Δt, UTC wall ms for placing energy in time. */
export interface Clock {
  monoSeconds(): number;
  wallMs(): number;
}

/** systemClock is the real clock. */
export const systemClock: Clock = {
  monoSeconds: () => performance.now() / 1000,
  wallMs: () => Date.now(),
};

/** manualClock is a clock advanced by hand: tests, replays and the bench run real work on simulated time. */
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
