import type { Store } from '../store/store.js';
import type { PeriodWrite, RunRow } from '../store/rows.js';
import { buildReport } from './build.js';
import { deferralOf, type Deferral } from '../store/deferral.js';
import { embodiedSettingsOf } from '../store/embodied.js';
import { sig } from './format.js';
import type { Report } from './types.js';
import { MS_PER_HOUR } from '../units.js';

/** CHART_POINTS is roughly how many points the power series of a report has, whatever the run's length. */
const CHART_POINTS = 120;

/** LoadOptions: fullSeries charts every stored step (each tick's samples while kept, else each minute). */
export interface LoadOptions {
  fullSeries?: boolean;
}

/** loadReport builds the report of a stored run from the database. */
export function loadReport(store: Store, run: RunRow, notes: string[] = [], opts: LoadOptions = {}): Report {
  // One read transaction: a tick committed by a live agent between the reads below cannot split the report.
  return store.read(() => loadReportNow(store, run, notes, opts.fullSeries ? Infinity : CHART_POINTS));
}

function loadReportNow(store: Store, run: RunRow, notes: string[], points: number): Report {
  const endMs = run.endedAtMs ?? run.lastTickMs;
  const minutes = Math.max(1, Math.ceil((endMs - run.startedAtMs) / 60_000));
  let bucketMinutes = Math.max(1, Math.ceil(minutes / points));
  const periods = store.periodsOf(run.runKey);
  // The raw samples are the devices' whole power, the minutes and periods the run's energy. A short run is charted
  // from its samples even when it was charged only a share of its devices (one-minute bars would be a handful);
  // buildReport then says so (powerSeriesScope).
  let series = shortRunSeries(store, run, endMs, points);
  const powerSeriesOfDevices = series !== undefined;
  if (!series) {
    // Buckets of whole accounting periods come from the periods' IT energy (hundreds of rows) instead of every
    // device's every minute (345,600 rows for 8 devices over 30 days): the same sums, read 500 times faster.
    const fromPeriods = bucketMinutes > 60 ? periodSeries(periods, Math.ceil(bucketMinutes / 60) * 60) : undefined;
    if (fromPeriods) bucketMinutes = Math.ceil(bucketMinutes / 60) * 60;
    series = (fromPeriods ?? store.powerSeries(run.runKey, bucketMinutes)).map((p) => {
      // Edge buckets are only partly inside the run: average over the covered time, not the whole bucket.
      const bucketMs = bucketMinutes * 60_000;
      const coveredMs = Math.min(endMs, p.startMs + bucketMs) - Math.max(run.startedAtMs, p.startMs);
      return coveredMs > 0 ? { startMs: p.startMs, watts: (p.watts * bucketMs) / coveredMs } : p;
    });
  }
  const status = run.status === 'running' ? [`run ${run.runId} is still running or ended without closing: figures are up to its last tick`] : [];
  const report = buildReport({
    run, devices: store.devicesOf(run.runKey), periods, gaps: store.gapsOf(run.runKey), phases: store.phasesOf(run.runKey),
    powerSeries: series, powerSeriesOfDevices, endMs, notes: [...status, ...notes], embodied: embodiedSettingsOf(store.db, run.runKey),
    ...(run.attribution?.unattributedJoules ? { jobRuns: jobRunsOf(store, run) } : {}),
  });
  const deferral = deferralOf(store.db, run.runKey);
  return deferral ? { ...report, deferral, notes: [...report.notes, deferralNote(deferral, report.energy.facilityKwh)] } : report;
}

/** deferralNote: 'start deferred 2.00 h (--start-within 6 h) to …: expected 167 gCO2e/kWh against 233 at once (−28.6%, ≈ 12.3 g at this run's 0.184 kWh)'. */
export function deferralNote(d: Deferral, facilityKwh: number): string {
  const against = d.nowGramsPerKwh === undefined ? 'starting at once unknown (the forecast had a gap)'
    : `against ${sig(d.nowGramsPerKwh, 3)} at once (${d.savingPercent === undefined ? '?' : `−${d.savingPercent.toFixed(1)}%`}, ` +
      `≈ ${sig(facilityKwh * (d.nowGramsPerKwh - d.avgGramsPerKwh), 3)} g CO2e at this run's ${sig(facilityKwh, 3)} facility kWh)`;
  return `start deferred ${(d.waitedSeconds / 3600).toFixed(2)} h (--start-within ${d.withinHours} h) to the lowest-carbon ${d.jobHours} h window of ` +
    `${d.source} from ${d.plannedStartAt}: expected ${sig(d.avgGramsPerKwh, 3)} gCO2e/kWh ${against}`;
}

/** jobRunsOf lists the job runs a node agent's run charged (they carry its id as node_run), in start order. */
function jobRunsOf(store: Store, run: RunRow): { run: RunRow; devices: ReturnType<Store['devicesOf']> }[] {
  return store.listRuns().filter((r) => r.labels.node_run === run.runId && r.runKey !== run.runKey).reverse()
    .map((r) => ({ run: r, devices: store.devicesOf(r.runKey) }));
}

/**
 * periodSeries is total IT power over buckets of bucketMinutes from the accounting periods, when every period
 * lies inside one bucket (periods aligned to their own length, which divides the bucket); else (or with no
 * periods stored) undefined.
 */
function periodSeries(periods: readonly PeriodWrite[], bucketMinutes: number): { startMs: number; watts: number }[] | undefined {
  if (periods.length === 0) return undefined;
  const bucketMs = bucketMinutes * 60_000;
  const joulesByBucket = new Map<number, number>();
  for (const p of periods) {
    const lengthMs = p.periodSeconds * 1000;
    if (!(lengthMs > 0) || p.periodStartMs % lengthMs !== 0 || bucketMs % lengthMs !== 0) return undefined;
    const startMs = Math.floor(p.periodStartMs / bucketMs) * bucketMs;
    joulesByBucket.set(startMs, (joulesByBucket.get(startMs) ?? 0) + p.itJoules);
  }
  return [...joulesByBucket].sort((a, b) => a[0] - b[0]).map(([startMs, joules]) => ({ startMs, watts: joules / (bucketMs / 1000) }));
}

/**
 * shortRunSeries charts a run of under two hours from its raw per-tick samples when they still cover it
 * (one-minute means would give a handful of bars), averaged down to about CHART_POINTS points.
 */
function shortRunSeries(store: Store, run: RunRow, endMs: number, points: number): { startMs: number; watts: number }[] | undefined {
  if (endMs - run.startedAtMs > 2 * MS_PER_HOUR) return undefined;
  const samples = store.samplePowerSeries(run.runKey);
  if (samples.length < 2 || samples[0]!.startMs > run.startedAtMs + 5_000) return undefined;
  const per = Math.ceil(samples.length / points);
  const out: { startMs: number; watts: number }[] = [];
  for (let i = 0; i < samples.length; i += per) {
    const group = samples.slice(i, i + per);
    out.push({ startMs: group[0]!.startMs, watts: group.reduce((s, p) => s + p.watts, 0) / group.length });
  }
  return out;
}
