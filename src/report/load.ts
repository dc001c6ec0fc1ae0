import type { Store } from '../store/store.js';
import type { RunRow } from '../store/rows.js';
import { gapsOf, periodsOf, powerSeries } from '../store/queries.js';
import { buildReport } from './build.js';
import type { Report } from './types.js';

/** CHART_POINTS is roughly how many points the power series of a report has, whatever the run's length. */
const CHART_POINTS = 120;

/** loadReport builds the report of a stored run from the database. */
export function loadReport(store: Store, run: RunRow, notes: string[] = []): Report {
  const endMs = run.endedAtMs ?? run.lastTickMs;
  const minutes = Math.max(1, Math.ceil((endMs - run.startedAtMs) / 60_000));
  const bucketMinutes = Math.max(1, Math.ceil(minutes / CHART_POINTS));
  const series = powerSeries(store.db, run.runKey, bucketMinutes).map((p) => {
    // Edge buckets are only partly inside the run: average over the covered time, not the whole bucket.
    const bucketMs = bucketMinutes * 60_000;
    const coveredMs = Math.min(endMs, p.startMs + bucketMs) - Math.max(run.startedAtMs, p.startMs);
    return coveredMs > 0 ? { startMs: p.startMs, watts: (p.watts * bucketMs) / coveredMs } : p;
  });
  const status = run.status === 'running' ? [`run ${run.runId} is still running or ended without closing: figures are up to its last tick`] : [];
  return buildReport({
    run, devices: store.devicesOf(run.runKey), periods: periodsOf(store.db, run.runKey), gaps: gapsOf(store.db, run.runKey),
    powerSeries: series, endMs, notes: [...status, ...notes],
  });
}
