import { describePueSourceLabel } from '../exporters/label-values.js';
import { buildReport } from '../report/build.js';
import type { Report } from '../report/types.js';
import type { DeviceRow, PeriodWrite, RunRow } from '../store/rows.js';
import type { DeviceKind, EnergyMethod } from '../types.js';
import { prometheusClient, promString, type PromInstantSample, type PromRangeSeries } from './prometheus-query.js';
import { JOULES_PER_KWH } from '../units.js';

/** PrometheusReportOptions tune reportFromPrometheus; every figure has a default. */
export interface PrometheusReportOptions {
  /** Evaluation time, Unix seconds (default now). */
  atSeconds?: number;
  /** How far back to look for the run's start, seconds (default 35 days). */
  lookbackSeconds?: number;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
}

/** PrometheusReportError is a run that Prometheus does not hold; one line naming the fix. */
export class PrometheusReportError extends Error {
  override name = 'PrometheusReportError';
}

const HOUR_SECONDS = 3600;
const DEFAULT_LOOKBACK_SECONDS = 35 * 86_400;
const KINDS: ReadonlySet<string> = new Set(['gpu', 'cpu', 'dram', 'tpu', 'other']);
/** Labels of wattprint_run_info that are not the user's `--label`s. */
const NOT_USER_LABELS = new Set(['__name__', 'job', 'instance', 'run_id', 'hostname', 'zone', 'pue_source', 'intensity_source', 'status']);

/** A node is one scrape target (one agent): Prometheus's job and instance labels. */
const nodeKey = (m: Record<string, string>): string => `${m.job ?? ''}\u0000${m.instance ?? ''}`;
const uniq = (xs: (string | undefined)[]): string[] => [...new Set(xs.filter((x): x is string => !!x))].sort();
const sum = (xs: PromInstantSample[]): number => xs.reduce((s, x) => s + x.value, 0);

/**
 * reportFromPrometheus builds the job-level Report of a run (one agent per node, same run id) from
 * Prometheus's HTTP API: each node's counters at its last scrape (max_over_time over the run), summed.
 * Energy in joules and CO2e in grams as exported; hourly periods come from the counters at UTC hour
 * boundaries. What Prometheus cannot know (energy after a node's last scrape, how a device was measured)
 * is said in `notes`.
 */
export async function reportFromPrometheus(url: string, runId: string, opts: PrometheusReportOptions = {}): Promise<Report> {
  const prom = prometheusClient(url, opts.timeoutMs);
  const at = opts.atSeconds ?? Date.now() / 1000;
  const lookback = opts.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS;
  const sel = `{run_id=${promString(runId)}}`;
  const q = (expr: string): Promise<PromInstantSample[]> => prom.instant(expr, at);
  const starts = await q(`min by (job, instance) (min_over_time(wattprint_run_start_time_seconds${sel}[${lookback}s]))`);
  if (starts.length === 0) {
    throw new PrometheusReportError(`run '${runId}' is not in Prometheus at ${url} (no wattprint_run_start_time_seconds in the last ` +
      `${Math.round(lookback / 86_400)} days): check --run-id and that Prometheus scrapes the agents`);
  }
  const startSeconds = Math.min(...starts.map((s) => s.value));
  // After the start is known, every query only needs to cover the run itself (cheaper than the lookback).
  const windowSeconds = Math.ceil(at - startSeconds) + 60;
  const w = `${windowSeconds}s`;
  // Subquery steps well under the 5 min lookback land within about one step of each node's last sample.
  const resolution = Math.max(1, Math.min(60, Math.ceil(windowSeconds / 10_000)));
  const [lastSeen, fresh, energy, facility, co2e, info, pue, deviceInfo, deviceEnergy] = await Promise.all([
    q(`max by (job, instance) (max_over_time(timestamp(wattprint_run_start_time_seconds${sel})[${w}:${resolution}s]))`),
    q(`max by (job, instance) (timestamp(wattprint_run_start_time_seconds${sel}))`),
    q(`max by (job, instance, device, kind, name, uuid) (max_over_time(wattprint_energy_joules_total${sel}[${w}]))`),
    q(`max by (job, instance) (max_over_time(wattprint_facility_energy_joules_total${sel}[${w}]))`),
    q(`max by (job, instance, basis) (max_over_time(wattprint_co2e_grams_total${sel}[${w}]))`),
    q(`last_over_time(wattprint_run_info${sel}[${w}])`),
    // wattprint_pue is the deprecated name older agents export.
    q(`max(last_over_time(wattprint_pue_ratio${sel}[${w}]) or last_over_time(wattprint_pue${sel}[${w}]))`),
    q(`max by (job, instance, device, method, collector) (last_over_time(wattprint_device_info${sel}[${w}]))`),
    // The whole devices' energy, exported only by a run charged a share of them (absent: the run had them whole).
    q(`max by (job, instance, device) (max_over_time(wattprint_device_energy_joules_total${sel}[${w}]))`),
  ]);
  // The subquery's steps can miss the very last sample (a stopped target goes stale at its next failed
  // scrape), so the exact end comes from the raw samples just around the step it found.
  const approxEnd = Math.max(startSeconds, ...lastSeen.map((s) => s.value), ...fresh.map((s) => s.value));
  const tail = await prom.samples(`wattprint_run_start_time_seconds${sel}[${resolution + 900}s]`, Math.min(at, approxEnd + resolution + 600));
  const endSeconds = Math.max(approxEnd, ...tail.flatMap((s) => s.values.map(([t]) => t)));
  const nodes = uniq(starts.map((s) => s.metric.instance ?? nodeKey(s.metric)));
  const multi = starts.length > 1;

  const itJoules = sum(energy);
  const facilityJoules = sum(facility);
  const co2eLocationGrams = sum(co2e.filter((s) => s.metric.basis === 'location'));
  const co2eMarketGrams = sum(co2e.filter((s) => s.metric.basis === 'market'));
  const intensitySource = uniq(info.map((s) => s.metric.intensity_source)).join('; ') || 'unknown';
  const pueSources = uniq(info.map((s) => describePueSourceLabel(s.metric.pue_source ?? '')));

  const devices: DeviceRow[] = energy.map((s, i) => ({
    devKey: i, runKey: 0, id: multi ? `${s.metric.instance ?? ''}/${s.metric.device ?? ''}` : (s.metric.device ?? ''),
    kind: (KINDS.has(s.metric.kind ?? '') ? s.metric.kind : 'other') as DeviceKind, name: s.metric.name ?? '',
    ...(s.metric.uuid ? { uuid: s.metric.uuid } : {}),
    ...methodOf(deviceInfo, s.metric), notes: [], energyJoules: s.value, samples: 0,
    ...wholeDeviceOf(deviceEnergy, s),
  }));
  devices.sort((a, b) => a.id.localeCompare(b.id));

  const hourly = await hourlyPeriods(prom.range, sel, startSeconds, endSeconds, intensitySource);
  const run: RunRow = {
    runKey: 0, runId, hostname: uniq(info.map((s) => s.metric.hostname)).join(', '),
    startedAtMs: Math.round(startSeconds * 1000), lastTickMs: Math.round(endSeconds * 1000),
    ...(fresh.length ? {} : { endedAtMs: Math.round(endSeconds * 1000) }), status: fresh.length ? 'running' : 'ended',
    pue: itJoules > 0 ? facilityJoules / itJoules : (pue[0]?.value ?? 1),
    pueSource: `${pueSources.join('; ') || 'unknown'}${multi ? ` (energy-weighted over ${starts.length} nodes)` : ''}`,
    ...(uniq(info.map((s) => s.metric.zone)).length ? { zone: uniq(info.map((s) => s.metric.zone)).join(', ') } : {}),
    intensitySource, market: {}, labels: commonUserLabels(info), co2eLocationGrams, co2eMarketGrams,
  };
  const powerSeries = await powerSeriesOf(prom.range, sel, startSeconds, endSeconds);
  const notes = [
    `job-level report from Prometheus at ${url}: ${starts.length} node${multi ? 's' : ''} (${nodes.join(', ')}), counters summed by run_id`,
    'energy and CO2e are each node\'s counters at its last scrape: what a node measured after that (at most one scrape interval) is only in its own `wattprint report`',
    'hourly periods are counter values at UTC hour boundaries (last scrape before each), so up to one scrape interval of energy per boundary falls in the next hour; period intensity is their CO2e over facility energy',
    ...(devices.some((d) => d.collector === 'unknown') ? ['some devices exported no wattprint_device_info (an older agent): they are listed as modelled, the claim that never overstates accuracy'] : []),
    ...(devices.some((d) => d.nodeEnergyJoules !== undefined) ? ['the run was charged a share of devices it shared with other work (wattprint_device_energy_joules_total): energy, CO2e and Table 4 are its share; each device\'s whole energy is beside it (nodeKwh), and the power chart is the devices\' whole power'] : []),
    ...(fresh.length ? [`run ${runId} is still being scraped: figures are up to the last scrape`] : []),
  ];
  // wattprint_power_watts is each whole device's power: buildReport labels the chart when the run was charged less.
  const report = buildReport({ run, devices, periods: hourly, gaps: [], powerSeries, powerSeriesOfDevices: true, endMs: Math.round(endSeconds * 1000), notes });
  report.intensity.marketBasis = co2eMarketGrams === co2eLocationGrams
    ? 'market-based equals location-based in the exported counters'
    : 'as the agents exported it (wattprint_co2e_grams_total{basis="market"})';
  return report;
}

/**
 * wholeDeviceOf is a device's whole energy (all its users) as its node exported it, when the run was charged a
 * share of it. Both counters are read at their last scrape by the same query shape, so the share is never above it.
 */
function wholeDeviceOf(deviceEnergy: PromInstantSample[], s: PromInstantSample): { nodeEnergyJoules?: number } {
  const m = deviceEnergy.find((d) => d.metric.job === s.metric.job && d.metric.instance === s.metric.instance && d.metric.device === s.metric.device);
  return m ? { nodeEnergyJoules: Math.max(m.value, s.value) } : {};
}

type RangeFn = (expr: string, startSeconds: number, endSeconds: number, stepSeconds: number) => Promise<PromRangeSeries[]>;

/**
 * hourlyPeriods turns each node's counters at UTC hour boundaries into per-hour deltas. A boundary where a
 * node has no sample carries its previous value, so the periods telescope to exactly the nodes' totals.
 */
async function hourlyPeriods(range: RangeFn, sel: string, startSeconds: number, endSeconds: number, source: string): Promise<PeriodWrite[]> {
  const first = Math.floor(startSeconds / HOUR_SECONDS) * HOUR_SECONDS + HOUR_SECONDS;
  const last = Math.max(first, Math.ceil(endSeconds / HOUR_SECONDS) * HOUR_SECONDS);
  const at = (expr: string): Promise<PromRangeSeries[]> => range(expr, first, last, HOUR_SECONDS);
  const [it, facility, co2e] = await Promise.all([
    at(`sum by (job, instance) (max_over_time(wattprint_energy_joules_total${sel}[1h]))`),
    at(`max by (job, instance) (max_over_time(wattprint_facility_energy_joules_total${sel}[1h]))`),
    at(`max by (job, instance, basis) (max_over_time(wattprint_co2e_grams_total${sel}[1h]))`),
  ]);
  const boundaries: number[] = [];
  for (let b = first; b <= last; b += HOUR_SECONDS) boundaries.push(b);
  const itD = deltas(it, boundaries);
  const facD = deltas(facility, boundaries);
  const locD = deltas(co2e.filter((s) => s.metric.basis === 'location'), boundaries);
  const mktD = deltas(co2e.filter((s) => s.metric.basis === 'market'), boundaries);
  const periods: PeriodWrite[] = [];
  boundaries.forEach((b, k) => {
    if (itD[k] === 0 && facD[k] === 0 && locD[k] === 0) return;
    periods.push({
      periodStartMs: (b - HOUR_SECONDS) * 1000, periodSeconds: HOUR_SECONDS, itJoules: itD[k]!, facilityJoules: facD[k]!,
      intensityGramsPerKwh: facD[k]! > 0 ? locD[k]! / (facD[k]! / JOULES_PER_KWH) : 0,
      co2eLocationGrams: locD[k]!, co2eMarketGrams: mktD[k]!, source,
      // The agents do not export the quality of the intensity they used; 'assumed' never overstates it.
      quality: 'assumed',
    });
  });
  return periods;
}

/** deltas sums, over series, each series' increase from one boundary to the next (from 0 before the first). */
function deltas(series: PromRangeSeries[], boundaries: number[]): number[] {
  const out = boundaries.map(() => 0);
  for (const s of series) {
    const byTime = new Map(s.values.map(([t, v]) => [Math.round(t), v]));
    let prev = 0;
    boundaries.forEach((b, k) => {
      const v = byTime.get(b);
      // Exported counters never decrease within a run; a lower value (a foreign reset) adds nothing.
      if (v === undefined || v < prev) return;
      out[k]! += v - prev;
      prev = v;
    });
  }
  return out;
}

/** powerSeriesOf is the job's total power for the chart: per-bucket means of wattprint_power_watts, summed. */
async function powerSeriesOf(range: RangeFn, sel: string, startSeconds: number, endSeconds: number): Promise<{ startMs: number; watts: number }[]> {
  const stepSeconds = Math.max(1, Math.ceil((endSeconds - startSeconds) / 120));
  const series = await range(`sum(avg_over_time(wattprint_power_watts${sel}[${stepSeconds}s]))`,
    Math.ceil(startSeconds) + stepSeconds, Math.ceil(endSeconds) + stepSeconds, stepSeconds);
  return (series[0]?.values ?? []).map(([t, watts]) => ({ startMs: (t - stepSeconds) * 1000, watts }));
}

/** commonUserLabels keeps the `--label`s that every node's run_info carries with the same value. */
function commonUserLabels(info: PromInstantSample[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const first = info[0]?.metric ?? {};
  for (const [k, v] of Object.entries(first)) {
    if (!NOT_USER_LABELS.has(k) && info.every((s) => s.metric[k] === v)) labels[k] = v;
  }
  return labels;
}

/**
 * methodOf finds a device's method and collector in wattprint_device_info; a device without it (an agent from
 * before that metric) is listed as modelled, the claim that never overstates accuracy.
 */
function methodOf(info: { metric: Record<string, string | undefined> }[], m: Record<string, string | undefined>): { method: EnergyMethod; collector: string } {
  const hit = info.find((i) => i.metric.device === m.device && i.metric.instance === m.instance && i.metric.job === m.job);
  const method = hit?.metric.method;
  return method === 'counter' || method === 'sampled' || method === 'modelled'
    ? { method, collector: hit!.metric.collector ?? 'unknown' }
    : { method: 'modelled', collector: 'unknown' };
}
