/** Progress is how far the job is (0..1) and where that figure came from. */
export interface Progress {
  fraction: number;
  source: string;
}

/** ProjectedTotals are a run's totals scaled to completion. */
export interface ProjectedTotals {
  fraction: number;
  source: string;
  itJoules: number;
  facilityJoules: number;
  co2eLocationGrams: number;
  co2eMarketGrams: number;
}

/**
 * progressAt is the job's progress: what the job reported, else the time elapsed over --expected-duration
 * (capped at 1), else unknown.
 */
export function progressAt(reported: Progress | undefined, elapsedSeconds: number, expectedDurationSeconds?: number): Progress | undefined {
  if (reported) return { fraction: clamp(reported.fraction), source: reported.source };
  if (!expectedDurationSeconds) return undefined;
  return { fraction: clamp(elapsedSeconds / expectedDurationSeconds), source: `elapsed over --expected-duration ${expectedDurationSeconds} s` };
}

/**
 * projectAtCompletion scales totals so far to the whole job: each total ÷ fraction, i.e. the rest of the job
 * is assumed to draw and emit as the part done so far did. Undefined before any progress (fraction 0).
 */
export function projectAtCompletion(
  totals: { itJoules: number; facilityJoules: number; co2eLocationGrams: number; co2eMarketGrams: number },
  progress: Progress | undefined,
): ProjectedTotals | undefined {
  if (!progress || !(progress.fraction > 0)) return undefined;
  const f = progress.fraction;
  return {
    fraction: f, source: progress.source, itJoules: totals.itJoules / f, facilityJoules: totals.facilityJoules / f,
    co2eLocationGrams: totals.co2eLocationGrams / f, co2eMarketGrams: totals.co2eMarketGrams / f,
  };
}

function clamp(fraction: number): number {
  return Math.min(1, Math.max(0, fraction));
}
