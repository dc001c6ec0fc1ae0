import type { IntensityValue } from '../intensity/types.js';
import { MS_PER_HOUR } from '../units.js';

/** StartWindow is the best time to start a job: UTC ms bounds and time-weighted averages in gCO2e/kWh. */
export interface StartWindow {
  startMs: number;
  endMs: number;
  /** Time-weighted average intensity over [startMs, endMs), gCO2e/kWh. */
  avgGramsPerKwh: number;
  /**
   * The same average for the job started now (at nowMs, or the first period's start), gCO2e/kWh; undefined
   * when the data has a gap inside that window.
   */
  vsNowGramsPerKwh: number | undefined;
}

/**
 * bestStartWindow finds the start at or after now (nowMs, else the first period's start) and at or before
 * latestStartMs (when given) whose [start, start + jobHours) has the lowest time-weighted average intensity,
 * assuming constant power. The average is piecewise linear in the start between the instants where the
 * window's start or its end meets a period boundary, so its minimum lies at one of them: every such start
 * is tried (both kinds), with now. Periods may be any length (half hours for the UK); a window crossing a
 * gap in the data is not considered. Ties go to the earliest start. Pure. Throws a RangeError with a
 * one-line message when jobHours is not positive or no window fits.
 */
export function bestStartWindow(values: readonly IntensityValue[], jobHours: number, nowMs?: number, latestStartMs?: number): StartWindow {
  if (!(jobHours > 0) || !Number.isFinite(jobHours)) throw new RangeError(`job length must be a positive number of hours, got ${jobHours}`);
  const sorted = [...values].sort((a, b) => a.periodStartMs - b.periodStartMs);
  const first = sorted[0];
  if (!first) throw new RangeError('no forecast values: the provider has no forecast for this zone yet');
  const jobMs = jobHours * MS_PER_HOUR;
  const nowStartMs = nowMs ?? first.periodStartMs;
  const latestMs = latestStartMs ?? Infinity;
  const boundaries = new Set<number>();
  for (const v of sorted) {
    boundaries.add(v.periodStartMs);
    boundaries.add(v.periodStartMs + v.periodSeconds * 1000);
  }
  const starts = new Set<number>([nowStartMs]);
  for (const b of boundaries) {
    for (const startMs of [b, b - jobMs]) if (startMs > nowStartMs && startMs <= latestMs) starts.add(startMs);
  }
  const candidates = [...starts].sort((a, b) => a - b);
  const nowAvg = averageOver(sorted, nowStartMs, nowStartMs + jobMs);
  let best: { startMs: number; avg: number } | undefined;
  for (const startMs of candidates) {
    const avg = averageOver(sorted, startMs, startMs + jobMs);
    // Strictly lower beyond float noise: equal windows keep the earliest start.
    if (avg !== undefined && (best === undefined || avg < best.avg - 1e-12 * Math.max(1, Math.abs(best.avg)))) best = { startMs, avg };
  }
  if (!best) {
    const last = sorted[sorted.length - 1]!;
    const horizonHours = (last.periodStartMs + last.periodSeconds * 1000 - nowStartMs) / MS_PER_HOUR;
    throw new RangeError(
      `no gap-free ${jobHours} h window in the forecast (it reaches ${Math.max(0, horizonHours)} h ahead): choose fewer hours`,
    );
  }
  return { startMs: best.startMs, endMs: best.startMs + jobMs, avgGramsPerKwh: best.avg, vsNowGramsPerKwh: nowAvg };
}

/** averageOver integrates piecewise-constant intensity over [fromMs, toMs); undefined if any part is missing. */
function averageOver(sorted: readonly IntensityValue[], fromMs: number, toMs: number): number | undefined {
  let cursorMs = fromMs;
  let gramMsPerKwh = 0;
  for (const value of sorted) {
    const endMs = value.periodStartMs + value.periodSeconds * 1000;
    if (endMs <= cursorMs) continue;
    if (value.periodStartMs > cursorMs) return undefined;
    const overlapEndMs = Math.min(endMs, toMs);
    gramMsPerKwh += value.gramsPerKwh * (overlapEndMs - cursorMs);
    cursorMs = overlapEndMs;
    if (cursorMs >= toMs) return gramMsPerKwh / (toMs - fromMs);
  }
  return undefined;
}
