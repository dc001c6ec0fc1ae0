import { sumPeriods } from '../ledger/accounting.js';
import type { PhaseRecord } from '../ledger/phases.js';
import { projectAtCompletion } from '../ledger/progress.js';
import { jobSection } from './job.js';
import type { DeviceRow, PeriodWrite, RunRow } from '../store/rows.js';
import type { GapRow } from '../store/queries.js';
import { joulesToKwh } from '../units.js';
import type { Disclosure, Report, ReportDevice } from './types.js';
import { marketBasis } from '../carbon/carbon.js';
import { fallbackNote, summariseFallbacks } from './fallbacks.js';
import { computeUncertainty } from './uncertainty.js';
import { embodiedEmissions, type EmbodiedSettings } from '../carbon/embodied.js';
import { nodeJobsSection, type JobRunFacts } from './node-jobs.js';

/** ReportInputs are the stored facts of a run that a report is built from (no I/O here). */
export interface ReportInputs {
  run: RunRow;
  devices: DeviceRow[];
  periods: PeriodWrite[];
  gaps: GapRow[];
  powerSeries: { startMs: number; watts: number }[];
  /**
   * True when powerSeries is the devices' whole power (a short run's raw samples), not the run's own energy over time:
   * if the run was charged only a share of its devices, the report says so (Report.powerSeriesScope).
   */
  powerSeriesOfDevices?: boolean;
  /** End of the reported interval: the run's end, or its last tick while it is running. */
  endMs: number;
  notes?: string[];
  /** Overrides of the embodied-emissions defaults (--embodied-kg, --lifetime-years). */
  embodied?: EmbodiedSettings;
  /** The job's phases (measurement windows), when it reported any. */
  phases?: PhaseRecord[];
  /** A node agent's run: the job runs it charged (labelled node_run with its id). */
  jobRuns?: JobRunFacts[];
}

const METHOD_WORDS = { counter: 'hardware energy counter', sampled: 'sampled power, trapezoid rule', modelled: 'modelled power' } as const;

/** buildReport turns a run's stored facts into the Report every format renders. */
export function buildReport(input: ReportInputs): Report {
  const { run, devices, periods } = input;
  const durationSeconds = Math.max(0, (input.endMs - run.startedAtMs) / 1000);
  const totals = sumPeriods(periods);
  const itJoules = devices.reduce((s, d) => s + d.energyJoules, 0);
  const facilityJoules = totals.facilityJoules + (itJoules - totals.itJoules) * run.pue;
  const nodeJoulesOf = (d: DeviceRow) => d.nodeEnergyJoules ?? d.energyJoules;
  const byDevice: ReportDevice[] = devices.map((d) => ({
    id: d.id, kind: d.kind, name: d.name, kwh: joulesToKwh(d.energyJoules), nodeKwh: joulesToKwh(nodeJoulesOf(d)),
    avgWatts: durationSeconds > 0 ? d.energyJoules / durationSeconds : 0, method: d.method, collector: d.collector,
    ...(d.notes.length ? { notes: d.notes } : {}),
  }));
  const nodeItJoules = devices.reduce((sum, d) => sum + nodeJoulesOf(d), 0);
  const facilityKwh = joulesToKwh(facilityJoules);
  const nodeJobs = nodeJobsSection(run, devices, input.jobRuns ?? []);
  const avgGramsPerKwh = totals.facilityJoules > 0
    ? totals.co2eLocationGrams / joulesToKwh(totals.facilityJoules)
    : (periods.at(-1)?.intensityGramsPerKwh ?? 0);
  const sources = [...new Set(periods.map((p) => p.source))];
  const hasCfe = periods.some((p) => p.cfe !== undefined);
  const co2e = { locationKg: totals.co2eLocationGrams / 1000, marketKg: totals.co2eMarketGrams / 1000 };
  // A finished job (fraction 1) needs no projection.
  const projected = run.progress && run.progress.fraction < 1
    ? projectAtCompletion({ itJoules, facilityJoules, co2eLocationGrams: totals.co2eLocationGrams, co2eMarketGrams: totals.co2eMarketGrams }, run.progress)
    : undefined;
  return {
    runId: run.runId,
    hostname: run.hostname,
    labels: run.labels,
    status: run.status,
    startedAt: iso(run.startedAtMs),
    endedAt: iso(input.endMs),
    durationSeconds,
    energy: { itKwh: joulesToKwh(itJoules), facilityKwh, byDevice, nodeItKwh: joulesToKwh(nodeItJoules) },
    ...(nodeJobs ? { nodeJobs } : {}),
    ...(run.attribution ? {
      attribution: {
        scope: run.attribution.scope, policy: run.attribution.policy, notes: run.attribution.notes,
        share: Object.fromEntries(devices.map((d) => [d.id, nodeJoulesOf(d) > 0 ? d.energyJoules / nodeJoulesOf(d) : 1])),
      },
    } : {}),
    pue: run.pue,
    pueSource: run.pueSource,
    intensity: {
      avgGramsPerKwh, source: sources.length ? sources.join('; ') : run.intensitySource,
      ...(run.zone ? { zone: run.zone } : {}), marketBasis: marketBasis(run.market, hasCfe),
    },
    co2e,
    embodied: embodiedEmissions(devices, durationSeconds / 3600, input.embodied),
    uncertainty: computeUncertainty({ devices, gaps: input.gaps, periods, durationSeconds, pue: run.pue, market: run.market }),
    ...(projected ? {
      projected: {
        fraction: projected.fraction, source: projected.source, itKwh: joulesToKwh(projected.itJoules),
        facilityKwh: joulesToKwh(projected.facilityJoules), co2eLocationKg: projected.co2eLocationGrams / 1000, co2eMarketKg: projected.co2eMarketGrams / 1000,
      },
    } : {}),
    disclosure: disclosure(devices, itJoules, durationSeconds, facilityKwh, run.pue, avgGramsPerKwh, co2e),
    measured: devices.filter((d) => d.method !== 'modelled').map((d) => `${d.id} ${d.name}: ${METHOD_WORDS[d.method]} (${d.collector})`),
    modelled: devices.filter((d) => d.method === 'modelled').map((d) => `${d.id} ${d.name}: ${METHOD_WORDS.modelled} (${d.collector})`),
    gaps: input.gaps.map((g) => ({
      deviceId: g.deviceId, startAt: iso(g.startMs), endAt: iso(g.endMs), reason: g.reason,
      ...(g.recoveredJoules !== undefined ? { recoveredJoules: g.recoveredJoules } : {}),
    })),
    hourly: periods.map((p) => ({
      startAt: iso(p.periodStartMs), periodSeconds: p.periodSeconds, itKwh: joulesToKwh(p.itJoules),
      facilityKwh: joulesToKwh(p.facilityJoules), intensityGramsPerKwh: p.intensityGramsPerKwh,
      ...(p.cfe !== undefined ? { cfe: p.cfe } : {}), source: p.source, quality: p.quality,
      co2eLocationKg: p.co2eLocationGrams / 1000, co2eMarketKg: p.co2eMarketGrams / 1000,
    })),
    powerSeries: input.powerSeries.map((s) => ({ at: iso(s.startMs), watts: s.watts })),
    ...(input.powerSeriesOfDevices && nodeItJoules - itJoules > 1e-9 * Math.max(1, nodeItJoules) ? { powerSeriesScope: 'devices' as const } : {}),
    notes: [...new Set([...devices.flatMap((d) => d.notes.map((n) => `${d.id}: ${n}`)), ...(run.attribution?.notes ?? []), ...droppedNotes(run.dropped), ...(input.notes ?? []), ...intensityNotes(periods)])],
    ...jobSection(input.phases ?? [], run.work, { itJoules, facilityJoules, co2eLocationGrams: totals.co2eLocationGrams }, input.endMs),
  };
}

/** intensityNotes counts and names the periods whose intensity fell back (an API outage, a past span it lacked). */
function intensityNotes(periods: readonly PeriodWrite[]): string[] {
  const summary = summariseFallbacks(periods);
  return summary ? [fallbackNote(summary)] : [];
}

function disclosure(
  devices: DeviceRow[], itJoules: number, durationSeconds: number, facilityKwh: number, pue: number,
  avgGramsPerKwh: number, co2e: { locationKg: number; marketKg: number },
): Disclosure {
  const accelerators = devices.filter((d) => d.kind === 'gpu' || d.kind === 'tpu');
  const chips = accelerators.length ? accelerators : devices.filter((d) => d.kind === 'cpu');
  const names = [...new Set(chips.map((d) => d.name))];
  const count = Math.max(1, chips.length);
  return {
    processor: names.join(' + ') || 'unknown',
    count: chips.length,
    // The paper's "average power per chip" is system power (host, memory, fans) divided by the chips.
    avgWattsPerAccelerator: durationSeconds > 0 ? itJoules / durationSeconds / count : 0,
    hours: durationSeconds / 3600,
    mwh: facilityKwh / 1000,
    pue,
    kgCo2ePerKwh: avgGramsPerKwh / 1000,
    tCo2e: co2e.locationKg / 1000,
    tCo2eMarket: co2e.marketKg / 1000,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * RECOVERED_REASONS are counted faults that cost no reading (a counter file replaced under the agent and
 * reopened): said apart from the dropped readings.
 */
const RECOVERED_REASONS = new Set(['reopened']);

/** droppedNotes says what the collectors and the ledger refused: '3 readings dropped by nvml: absurd 2, nan 1'. */
function droppedNotes(dropped: RunRow['dropped']): string[] {
  return Object.entries(dropped ?? {}).flatMap(([collector, reasons]) => {
    const entries = Object.entries(reasons).filter(([reason, n]) => n > 0 && !RECOVERED_REASONS.has(reason));
    const total = entries.reduce((s, [, n]) => s + n, 0);
    const reopened = reasons.reopened ?? 0;
    return [
      ...(total ? [`${total} reading${total === 1 ? '' : 's'} dropped by ${collector}: ${entries.map(([reason, n]) => `${reason} ${n}`).join(', ')} (never stored as energy)`] : []),
      ...(reopened > 0 ? [`${collector} reopened a counter file ${reopened} time${reopened === 1 ? '' : 's'} (replaced under the agent); its readings went on from the new file`] : []),
    ];
  });
}
