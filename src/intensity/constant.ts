import type { IntensityProvider, IntensityValue } from './types.js';
import { periodStartMs } from '../units.js';

/** CONSTANT_SOURCE is the source text of a value given with `--intensity`. */
export const CONSTANT_SOURCE = 'constant (--intensity)';

/**
 * constantProvider answers the same intensity (gCO2e/kWh) for every UTC hour. Quality is 'annual': a flat
 * figure the user chose, not time-resolved like 'actual'/'forecast', and not one wattprint assumed
 * ('assumed' is kept for the world-average default). opts.cfe (0..1) is carried on every value.
 */
export function constantProvider(gramsPerKwh: number, opts: { cfe?: number } = {}): IntensityProvider {
  if (!Number.isFinite(gramsPerKwh) || gramsPerKwh < 0) {
    throw new RangeError(`intensity must be a non-negative number of gCO2e/kWh, got ${gramsPerKwh}`);
  }
  if (opts.cfe !== undefined && !(opts.cfe >= 0 && opts.cfe <= 1)) {
    throw new RangeError(`carbon-free energy fraction must be between 0 and 1, got ${opts.cfe}`);
  }
  return {
    name: 'constant',
    lookup(atMs: number): IntensityValue {
      return {
        gramsPerKwh,
        ...(opts.cfe === undefined ? {} : { cfe: opts.cfe }),
        source: CONSTANT_SOURCE,
        periodStartMs: periodStartMs(atMs, 3600),
        periodSeconds: 3600,
        quality: 'annual',
      };
    },
  };
}
