import { accountMinutes, type MinuteEnergy } from '../ledger/accounting.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import { Integrator, type Contribution } from '../ledger/integrator.js';
import { MINUTE_MS, splitByTime } from '../ledger/split.js';
import type { IntensityProvider } from '../intensity/types.js';
import type { ParsedTrace } from './replay-parse.js';
import { buildReport } from '../report/build.js';
import type { Report } from '../report/types.js';
import type { GapRow } from '../store/queries.js';
import type { DeviceRow, RunRow } from '../store/rows.js';
import type { DeviceKind, EnergyMethod, Reading } from '../types.js';

/** ReplaySettings are the factors a replay applies and how it names the run. */
export interface ReplaySettings {
  runId: string;
  /** Trace file name, shown in device names and notes. */
  fileName: string;
  pue: { value: number; source: string };
  zone?: string;
  intensity: IntensityProvider;
  market: MarketInstruments;
  /** Poll interval in seconds for the integrator's gap rule; default: the trace's median spacing. */
  intervalSeconds?: number;
}

/** ReplayResult is the report of a replayed trace plus its per-minute IT energy (for --compare). */
export interface ReplayResult {
  report: Report;
  minutes: MinuteEnergy[];
  intervalSeconds: number;
}

const CHART_POINTS = 120;
const KINDS: readonly DeviceKind[] = ['gpu', 'cpu', 'dram', 'tpu', 'other'];

/**
 * medianIntervalSeconds is the median spacing (seconds) between consecutive points of each device: the
 * poll interval the trace was recorded at, so the integrator's "gap > 5 intervals" rule means what it
 * means live. 1 s when no device has two points.
 */
export function medianIntervalSeconds(trace: ParsedTrace): number {
  const gapsMs: number[] = [];
  for (const points of trace.series.values()) {
    for (let i = 1; i < points.length; i++) gapsMs.push(points[i]!.tMs - points[i - 1]!.tMs);
  }
  if (gapsMs.length === 0) return 1;
  gapsMs.sort((a, b) => a - b);
  const mid = Math.floor(gapsMs.length / 2);
  const medianMs = gapsMs.length % 2 ? gapsMs[mid]! : (gapsMs[mid - 1]! + gapsMs[mid]!) / 2;
  return medianMs / 1000;
}

/** deviceKindOf takes the trace's own kind, else guesses from the id ('gpu0', 'package-0', 'dram-0', 'tpu1'). */
export function deviceKindOf(deviceId: string, declared?: string): DeviceKind {
  if (declared && (KINDS as readonly string[]).includes(declared)) return declared as DeviceKind;
  const id = deviceId.toLowerCase();
  if (/^(gpu|nvidia|cuda|sim)/.test(id)) return 'gpu';
  if (/^tpu/.test(id)) return 'tpu';
  if (/^(dram|ram|mem)/.test(id)) return 'dram';
  if (/^(cpu|package|core|psys)/.test(id)) return 'cpu';
  return 'other';
}

/**
 * replayTrace feeds a recorded trace through the live pipeline's own pieces, point by point in time order:
 * the Integrator (counters: deltas with wrap/reset; watts: trapezoid, gaps over 5 intervals not bridged),
 * splitByTime into UTC minutes, accountMinutes (PUE, each period's intensity, market basis) and buildReport.
 * Each point's own timestamp is both its monotonic and wall time, so Δt is exact. Pure: no I/O, no database.
 */
export function replayTrace(trace: ParsedTrace, settings: ReplaySettings): ReplayResult {
  const intervalSeconds = settings.intervalSeconds ?? medianIntervalSeconds(trace);
  const method: EnergyMethod = trace.kind === 'joules_total' ? 'counter' : 'sampled';
  const integrator = new Integrator({ intervalSeconds });
  const ids = [...trace.series.keys()];
  const devices = new Map<string, DeviceRow>(ids.map((id, i) => [id, deviceRow(id, i + 1, method, trace, settings.fileName)]));
  const points = ids.flatMap((id) => trace.series.get(id)!.map((p) => ({ id, ...p })));
  points.sort((a, b) => a.tMs - b.tMs);
  const itByMinute = new Map<number, number>();
  const gaps: GapRow[] = [];
  for (const p of points) {
    const reading: Reading = method === 'counter' ? { deviceId: p.id, counterJoules: p.joulesTotal } : { deviceId: p.id, powerWatts: p.watts };
    const device = devices.get(p.id)!;
    device.samples++;
    const c = integrator.ingest(reading, method, p.tMs / 1000, p.tMs);
    if (!c) continue;
    const gap = gapOf(c);
    if (gap) gaps.push(gap);
    if (c.energyJoules <= 0) continue;
    device.energyJoules += c.energyJoules;
    for (const piece of splitByTime(c.startMs, c.endMs, c.energyJoules, MINUTE_MS)) {
      itByMinute.set(piece.bucketStartMs, (itByMinute.get(piece.bucketStartMs) ?? 0) + piece.energyJoules);
    }
  }
  const minutes = [...itByMinute].sort((a, b) => a[0] - b[0]).map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules }));
  const periods = accountMinutes(minutes, { pue: settings.pue.value, market: settings.market, intensity: settings.intensity })
    .sort((a, b) => a.periodStartMs - b.periodStartMs);
  const startMs = points[0]?.tMs ?? 0;
  const endMs = points.at(-1)?.tMs ?? startMs;
  const run: RunRow = {
    runKey: 0, runId: settings.runId, hostname: '', startedAtMs: startMs, lastTickMs: endMs, endedAtMs: endMs, status: 'ended',
    pue: settings.pue.value, pueSource: settings.pue.source, ...(settings.zone ? { zone: settings.zone } : {}),
    intensitySource: settings.intensity.name, market: settings.market, labels: { replay: settings.fileName },
    co2eLocationGrams: periods.reduce((s, p) => s + p.co2eLocationGrams, 0), co2eMarketGrams: periods.reduce((s, p) => s + p.co2eMarketGrams, 0),
  };
  const notes = [
    `replayed from ${settings.fileName}: ${points.length} readings of ${ids.length} device${ids.length === 1 ? '' : 's'} (${trace.kind}); ` +
      `interval ${intervalSeconds} s (median spacing)${method === 'sampled' ? `, silences over ${5 * intervalSeconds} s are gaps` : ''}`,
  ];
  const report = buildReport({
    run, devices: [...devices.values()], periods, gaps, powerSeries: powerSeries(minutes, startMs, endMs), endMs, notes,
  });
  return { report, minutes, intervalSeconds };
}

function deviceRow(id: string, devKey: number, method: EnergyMethod, trace: ParsedTrace, fileName: string): DeviceRow {
  const kind = deviceKindOf(id, trace.deviceKinds.get(id));
  return {
    devKey, runKey: 0, id, kind, name: `${kind.toUpperCase()} from ${fileName}`, method, collector: 'replay', notes: [],
    energyJoules: 0, samples: 0,
  };
}

function gapOf(c: Contribution): GapRow | undefined {
  if (c.event === 'gap') return { deviceId: c.deviceId, startMs: c.startMs, endMs: c.endMs, reason: 'no readings for more than 5 intervals: not bridged' };
  if (c.event === 'reset') return { deviceId: c.deviceId, startMs: c.startMs, endMs: c.endMs, reason: 'counter went backwards (reset): energy since the reset counted' };
  return undefined;
}

/** powerSeries averages total IT power over ~CHART_POINTS buckets, over the covered time of edge buckets (as loadReport). */
function powerSeries(minutes: MinuteEnergy[], startMs: number, endMs: number): { startMs: number; watts: number }[] {
  const bucketMinutes = Math.max(1, Math.ceil(Math.ceil((endMs - startMs) / MINUTE_MS) / CHART_POINTS));
  const bucketMs = bucketMinutes * MINUTE_MS;
  const joulesByBucket = new Map<number, number>();
  for (const m of minutes) {
    const b = Math.floor(m.minuteStartMs / bucketMs) * bucketMs;
    joulesByBucket.set(b, (joulesByBucket.get(b) ?? 0) + m.itJoules);
  }
  return [...joulesByBucket].sort((a, b) => a[0] - b[0]).map(([b, joules]) => {
    const coveredMs = Math.min(endMs, b + bucketMs) - Math.max(startMs, b);
    return { startMs: b, watts: (joules * 1000) / (coveredMs > 0 ? coveredMs : bucketMs) };
  });
}
