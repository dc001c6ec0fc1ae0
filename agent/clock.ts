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
