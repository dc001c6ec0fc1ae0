/** Sanity checks shared by the NVIDIA collectors: which raw power and energy values are refused. */

/** MAX_BOARD_POWER_WATTS bounds one GPU board when its power limit is unknown (a GB200 module is ~2.7 kW). */
export const MAX_BOARD_POWER_WATTS = 10_000;

/** PowerRefusal is the DroppedReading reason for a refused value. */
export type PowerRefusal = 'nan' | 'negative' | 'absurd';

/** powerCeilingWatts is the highest believable power in watts: 2× the power limit, or the board bound. */
export function powerCeilingWatts(powerLimitWatts: number | undefined): number {
  return powerLimitWatts !== undefined && powerLimitWatts > 0 ? 2 * powerLimitWatts : MAX_BOARD_POWER_WATTS;
}

/** checkPowerWatts says why a power sample in watts is refused (NaN, negative, above the ceiling), or undefined. */
export function checkPowerWatts(powerWatts: number, powerLimitWatts: number | undefined): PowerRefusal | undefined {
  if (Number.isNaN(powerWatts)) return 'nan';
  if (powerWatts < 0) return 'negative';
  if (powerWatts > powerCeilingWatts(powerLimitWatts)) return 'absurd';
  return undefined;
}

/**
 * checkEnergyStepJoules refuses a counter increase in joules that would mean more than the power ceiling over
 * the elapsed seconds (plus one second of grace, since counters update in steps). Decreases are resets and
 * pass: the integrator handles them.
 */
export function checkEnergyStepJoules(
  stepJoules: number,
  elapsedSeconds: number,
  powerLimitWatts: number | undefined,
): PowerRefusal | undefined {
  if (Number.isNaN(stepJoules)) return 'nan';
  if (stepJoules <= 0) return undefined;
  return stepJoules > powerCeilingWatts(powerLimitWatts) * (Math.max(0, elapsedSeconds) + 1) ? 'absurd' : undefined;
}
