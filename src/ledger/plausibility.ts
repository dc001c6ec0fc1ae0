import type { DeviceKind, Reading } from '../types.js';

/**
 * CEILING_WATTS bounds one device of each kind when its power limit is unknown. Above it a reading is not a
 * measurement: a GB200 module draws ~2.7 kW, a 2-socket server's packages well under 1 kW each, DRAM a few
 * hundred W; TPUs are modelled per chip (a v5p ~ 0.5 kW). 'other' covers whole-system psys and PDUs.
 */
export const CEILING_WATTS: Readonly<Record<DeviceKind, number>> = {
  gpu: 10_000,
  cpu: 1_000,
  dram: 1_000,
  tpu: 2_000,
  other: 20_000,
};

/** RejectReason is why the ledger refused a reading; the label of wattprint_collector_errors_total. */
export type RejectReason = 'nan' | 'negative' | 'absurd';

/**
 * ceilingWatts is the highest believable power of a device in watts: twice its power limit where known
 * (boost and measurement overshoot stay below that), else its kind's ceiling.
 */
export function ceilingWatts(kind: DeviceKind, powerLimitWatts?: number): number {
  return powerLimitWatts !== undefined && powerLimitWatts > 0 ? 2 * powerLimitWatts : CEILING_WATTS[kind];
}

/**
 * checkReading says why a reading cannot be a measurement, or undefined when it may be: NaN or infinite
 * values, negative power or counters, power above the device's ceiling, a counter beyond its own range.
 */
export function checkReading(reading: Reading, ceiling: number): RejectReason | undefined {
  const { powerWatts, counterJoules, counterRangeJoules } = reading;
  const refused = checkValue(powerWatts) ?? checkValue(counterJoules);
  if (refused) return refused;
  if (powerWatts !== undefined && powerWatts > ceiling) return 'absurd';
  if (counterJoules !== undefined && counterRangeJoules !== undefined && counterRangeJoules > 0 && counterJoules > counterRangeJoules) return 'absurd';
  return undefined;
}

function checkValue(v: number | undefined): RejectReason | undefined {
  if (v === undefined) return undefined;
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return 'absurd';
  if (v < 0) return 'negative';
  return undefined;
}
