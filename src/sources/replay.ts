import type { MinuteEnergy } from '../ledger/accounting.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import { gapLimitSeconds } from '../ledger/gaps.js';
import { Ledger } from '../ledger/ledger.js';
import { counterDecreaseNote, counterDecreases } from './counter-decrease.js';
import { MINUTE_MS } from '../ledger/split.js';
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
  /** Poll interval in seconds for every device's gap rule; default: each device's own median spacing. */
  intervalSeconds?: number;
}

/** ReplayResult is the report of a replayed trace plus its per-minute IT energy (for --compare). */
export interface ReplayResult {
  report: Report;
  minutes: MinuteEnergy[];
  /** The trace's median spacing over all devices, seconds (or --interval). */
  intervalSeconds: number;
  /** Each device's sampling interval used by the gap rule, seconds. */
  deviceIntervalSeconds: Map<string, number>;
  /** Per-device energy per UTC minute (joules), summed in integration order as the store sums it live. */
  deviceMinutes: { deviceId: string; minuteStartMs: number; energyJoules: number }[];
}

const CHART_POINTS = 120;
const KINDS: readonly DeviceKind[] = ['gpu', 'cpu', 'dram', 'tpu', 'other'];

/**
 * medianIntervalSeconds is the median spacing (seconds) between consecutive points of each device: the
 * poll interval the trace was recorded at, so the integrator's "gap > 5 intervals" rule means what it
 * means live. 1 s when no device has two points.
 */
export function medianIntervalSeconds(trace: ParsedTrace): number {
  return medianSpacingSeconds([...trace.series.values()]) ?? 1;
}

/**
 * deviceIntervalsSeconds is each device's own median spacing (seconds): the gap rule then means for a CPU read
 * every 60 s what it means for a GPU read every second. A device with a single point takes the overall median.
 */
export function deviceIntervalsSeconds(trace: ParsedTrace): Map<string, number> {
  const overall = medianIntervalSeconds(trace);
  return new Map([...trace.series].map(([id, points]) => [id, medianSpacingSeconds([points]) ?? overall]));
}

function medianSpacingSeconds(series: readonly (readonly { tMs: number }[])[]): number | undefined {
  const gapsMs: number[] = [];
  for (const points of series) {
    for (let i = 1; i < points.length; i++) gapsMs.push(points[i]!.tMs - points[i - 1]!.tMs);
  }
  if (gapsMs.length === 0) return undefined;
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
 * replayTrace feeds a recorded trace through the same Ledger as live tracking, point by point in time order
 * (each point's own timestamp is both its monotonic and wall time, so Δt is exact): counters with wrap/reset,
 * watts by the trapezoid rule, gaps on each device's own interval, edges held, UTC minutes, accounting per
 * period — then buildReport. Pure: no I/O, no database.
 */
export function replayTrace(trace: ParsedTrace, settings: ReplaySettings): ReplayResult {
  const intervals = settings.intervalSeconds !== undefined
    ? new Map([...trace.series.keys()].map((id) => [id, settings.intervalSeconds!]))
    : deviceIntervalsSeconds(trace);
  const intervalSeconds = settings.intervalSeconds ?? medianIntervalSeconds(trace);
  const method: EnergyMethod = trace.kind === 'joules_total' ? 'counter' : 'sampled';
  const ids = [...trace.series.keys()];
  const devices = new Map<string, DeviceRow>(ids.map((id, i) => [id, deviceRow(id, i + 1, method, trace, settings.fileName)]));
  const points = ids.flatMap((id) => trace.series.get(id)!.map((p) => ({ id, ...p })));
  points.sort((a, b) => a.tMs - b.tMs);
  const startMs = points[0]?.tMs ?? 0;
  const endMs = points.at(-1)?.tMs ?? startMs;
  const ledger = new Ledger({
    intervalSeconds, startMs, accounting: { pue: settings.pue.value, market: settings.market, intensity: settings.intensity },
  });
  for (const row of devices.values()) ledger.addDevice({ ...row, intervalSeconds: intervals.get(row.id) });
  for (const p of points) {
    const reading: Reading = method === 'counter'
      ? { deviceId: p.id, counterJoules: p.joulesTotal, ...(p.counterRangeJoules !== undefined ? { counterRangeJoules: p.counterRangeJoules } : {}) }
      : { deviceId: p.id, powerWatts: p.watts };
    ledger.ingest(reading, p.tMs / 1000, p.tMs);
  }
  ledger.close(endMs);
  const batch = ledger.takeBatch();
  for (const row of devices.values()) {
    const account = ledger.account(row.id)!;
    row.energyJoules = account.energyJoules;
    row.samples = account.samples;
  }
  const itByMinute = new Map<number, number>();
  for (const m of batch.minutes) itByMinute.set(m.minuteStartMs, (itByMinute.get(m.minuteStartMs) ?? 0) + m.energyJoules);
  const minutes = [...itByMinute].sort((a, b) => a[0] - b[0]).map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules }));
  const periods = batch.periods.sort((a, b) => a.periodStartMs - b.periodStartMs);
  const gaps: GapRow[] = batch.gaps;
  const run: RunRow = {
    runKey: 0, runId: settings.runId, hostname: '', startedAtMs: startMs, lastTickMs: endMs, endedAtMs: endMs, status: 'ended',
    pue: settings.pue.value, pueSource: settings.pue.source, ...(settings.zone ? { zone: settings.zone } : {}),
    intensitySource: settings.intensity.name, market: settings.market, labels: { replay: settings.fileName },
    co2eLocationGrams: ledger.totals.co2eLocationGrams, co2eMarketGrams: ledger.totals.co2eMarketGrams,
  };
  const notes = [
    `replayed from ${settings.fileName}: ${points.length} readings of ${ids.length} device${ids.length === 1 ? '' : 's'} (${trace.kind}); ` +
      `interval ${intervalDescription(intervals, settings.intervalSeconds)}` +
      `${method === 'sampled' ? `, silences over ${gapLimitSeconds(1)} of a device's intervals are gaps` : ''}`,
    // A decrease without a counter range is taken as a reset: say what it may have lost had it been a wrap.
    ...counterDecreases(trace).map(counterDecreaseNote),
  ];
  const report = buildReport({
    run, devices: [...devices.values()], periods, gaps, powerSeries: powerSeries(minutes, startMs, endMs), endMs, notes,
  });
  const byDeviceMinute = new Map<string, { deviceId: string; minuteStartMs: number; energyJoules: number }>();
  for (const m of batch.minutes) {
    const key = `${m.deviceId}\u0000${m.minuteStartMs}`;
    const row = byDeviceMinute.get(key);
    if (row) row.energyJoules += m.energyJoules;
    else byDeviceMinute.set(key, { ...m });
  }
  return { report, minutes, intervalSeconds, deviceIntervalSeconds: intervals, deviceMinutes: [...byDeviceMinute.values()] };
}

function intervalDescription(intervals: Map<string, number>, flag?: number): string {
  if (flag !== undefined) return `${flag} s (--interval)`;
  const distinct = [...new Set(intervals.values())];
  if (distinct.length === 1) return `${distinct[0]} s (median spacing)`;
  return `each device's median spacing (${[...intervals].map(([id, s]) => `${id} ${s} s`).join(', ')})`;
}

function deviceRow(id: string, devKey: number, method: EnergyMethod, trace: ParsedTrace, fileName: string): DeviceRow {
  const kind = deviceKindOf(id, trace.deviceKinds.get(id));
  return {
    devKey, runKey: 0, id, kind, name: `${kind.toUpperCase()} from ${fileName}`, method, collector: 'replay', notes: [],
    energyJoules: 0, samples: 0,
  };
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
