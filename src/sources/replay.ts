import type { MinuteEnergy } from '../ledger/accounting.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import { gapLimitSeconds } from '../ledger/gaps.js';
import { Ledger } from '../ledger/ledger.js';
import { counterDecreaseNote, counterDecreases } from './counter-decrease.js';
import { MINUTE_MS } from '../ledger/split.js';
import type { IntensityProvider } from '../intensity/types.js';
import type { ParsedTrace, TracePoint } from './replay-parse.js';
import { buildReport } from '../report/build.js';
import type { Report } from '../report/types.js';
import type { GapRow } from '../store/queries.js';
import type { DeviceRow, PeriodWrite, RunRow } from '../store/rows.js';
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
  /** Keep per-device minutes for the result (tests compare them with live tracking); off for streamed files. */
  deviceMinutes?: boolean;
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

/** ReplayMeta is what a replay knows of its trace before feeding it: devices, kind, intervals, span, size. */
export interface ReplayMeta {
  ids: string[];
  kind: ParsedTrace['kind'];
  deviceKinds: Map<string, string>;
  /** Each device's sampling interval for the gap rule, seconds. */
  intervals: Map<string, number>;
  /** The trace's median spacing over all devices, seconds (or --interval). */
  intervalSeconds: number;
  startMs: number;
  endMs: number;
  readings: number;
}

/** ReplayFeed takes a trace's points (each device's in time order) into the ledger, then builds the report. */
export interface ReplayFeed {
  feed(deviceId: string, p: TracePoint): void;
  finish(extraNotes: string[]): ReplayResult;
}

/**
 * replayFeed sets up the same Ledger as live tracking for a trace: each point's own timestamp is both its
 * monotonic and wall time, so Δt is exact; counters with wrap/reset, watts by the trapezoid rule, gaps on each
 * device's own interval, edges held, UTC minutes, accounting per period. Points may come interleaved across
 * devices in any order as long as each device's come in time order. Batches are taken every BATCH_POINTS so
 * memory stays bounded by devices × minutes, whatever the trace's length.
 */
export function replayFeed(meta: ReplayMeta, settings: ReplaySettings): ReplayFeed {
  const method: EnergyMethod = meta.kind === 'joules_total' ? 'counter' : 'sampled';
  const devices = new Map<string, DeviceRow>(meta.ids.map((id, i) => [id, deviceRow(id, i + 1, method, meta.deviceKinds, settings.fileName)]));
  const ledger = new Ledger({
    intervalSeconds: meta.intervalSeconds, startMs: meta.startMs, phases: false,
    accounting: { pue: settings.pue.value, market: settings.market, intensity: settings.intensity },
  });
  for (const row of devices.values()) ledger.addDevice({ ...row, intervalSeconds: meta.intervals.get(row.id) });
  const itByMinute = new Map<number, number>();
  const byDeviceMinute = new Map<string, { deviceId: string; minuteStartMs: number; energyJoules: number }>();
  const periods = new Map<number, PeriodWrite>();
  const gaps: GapRow[] = [];
  let pending = 0;
  const take = (): void => {
    const batch = ledger.takeBatch();
    for (const m of batch.minutes) {
      itByMinute.set(m.minuteStartMs, (itByMinute.get(m.minuteStartMs) ?? 0) + m.energyJoules);
      if (settings.deviceMinutes === false) continue;
      const key = `${m.deviceId}\u0000${m.minuteStartMs}`;
      const row = byDeviceMinute.get(key);
      if (row) row.energyJoules += m.energyJoules;
      else byDeviceMinute.set(key, { ...m });
    }
    for (const p of batch.periods) {
      const row = periods.get(p.periodStartMs);
      if (!row) { periods.set(p.periodStartMs, { ...p }); continue; }
      row.itJoules += p.itJoules;
      row.facilityJoules += p.facilityJoules;
      row.co2eLocationGrams += p.co2eLocationGrams;
      row.co2eMarketGrams += p.co2eMarketGrams;
    }
    gaps.push(...batch.gaps);
    pending = 0;
  };
  return {
    feed(deviceId, p) {
      const reading: Reading = method === 'counter'
        ? { deviceId, counterJoules: p.joulesTotal, ...(p.counterRangeJoules !== undefined ? { counterRangeJoules: p.counterRangeJoules } : {}) }
        : { deviceId, powerWatts: p.watts };
      ledger.ingest(reading, p.tMs / 1000, p.tMs);
      if (++pending >= BATCH_POINTS) take();
    },
    finish(extraNotes) {
      ledger.close(meta.endMs);
      take();
      for (const row of devices.values()) {
        const account = ledger.account(row.id)!;
        row.energyJoules = account.energyJoules;
        row.samples = account.samples;
      }
      const minutes = [...itByMinute].sort((a, b) => a[0] - b[0]).map(([minuteStartMs, itJoules]) => ({ minuteStartMs, itJoules }));
      const sortedPeriods = [...periods.values()].sort((a, b) => a.periodStartMs - b.periodStartMs);
      const run: RunRow = {
        runKey: 0, runId: settings.runId, hostname: '', startedAtMs: meta.startMs, lastTickMs: meta.endMs, endedAtMs: meta.endMs, status: 'ended',
        pue: settings.pue.value, pueSource: settings.pue.source, ...(settings.zone ? { zone: settings.zone } : {}),
        intensitySource: settings.intensity.name, market: settings.market, labels: { replay: settings.fileName },
        co2eLocationGrams: ledger.totals.co2eLocationGrams, co2eMarketGrams: ledger.totals.co2eMarketGrams,
      };
      const n = meta.ids.length;
      const notes = [
        `replayed from ${settings.fileName}: ${meta.readings} readings of ${n} device${n === 1 ? '' : 's'} (${meta.kind}); ` +
          `interval ${intervalDescription(meta.intervals, settings.intervalSeconds)}` +
          `${method === 'sampled' ? `, silences over ${gapLimitSeconds(1)} of a device's intervals are gaps` : ''}`,
        ...extraNotes,
      ];
      const report = buildReport({
        run, devices: [...devices.values()], periods: sortedPeriods, gaps, powerSeries: powerSeries(minutes, meta.startMs, meta.endMs), endMs: meta.endMs, notes,
      });
      return { report, minutes, intervalSeconds: meta.intervalSeconds, deviceIntervalSeconds: meta.intervals, deviceMinutes: [...byDeviceMinute.values()] };
    },
  };
}

/** BATCH_POINTS is how many points a replay integrates between accounting batches. */
const BATCH_POINTS = 50_000;

/**
 * replayTrace replays a trace held in memory (see replayFeed), point by point in time order. Pure: no I/O,
 * no database. For files, replayTraceFile streams instead.
 */
export function replayTrace(trace: ParsedTrace, settings: ReplaySettings): ReplayResult {
  const intervals = settings.intervalSeconds !== undefined
    ? new Map([...trace.series.keys()].map((id) => [id, settings.intervalSeconds!]))
    : deviceIntervalsSeconds(trace);
  const ids = [...trace.series.keys()];
  const points = ids.flatMap((id) => trace.series.get(id)!.map((p) => ({ id, p })));
  points.sort((a, b) => a.p.tMs - b.p.tMs);
  const startMs = points[0]?.p.tMs ?? 0;
  const replay = replayFeed({
    ids, kind: trace.kind, deviceKinds: trace.deviceKinds, intervals, intervalSeconds: settings.intervalSeconds ?? medianIntervalSeconds(trace),
    startMs, endMs: points.at(-1)?.p.tMs ?? startMs, readings: points.length,
  }, settings);
  for (const { id, p } of points) replay.feed(id, p);
  // A decrease without a counter range is taken as a reset: say what it may have lost had it been a wrap.
  return replay.finish(counterDecreases(trace).map(counterDecreaseNote));
}

function intervalDescription(intervals: Map<string, number>, flag?: number): string {
  if (flag !== undefined) return `${flag} s (--interval)`;
  const distinct = [...new Set(intervals.values())];
  if (distinct.length === 1) return `${distinct[0]} s (median spacing)`;
  return `each device's median spacing (${[...intervals].map(([id, s]) => `${id} ${s} s`).join(', ')})`;
}

function deviceRow(id: string, devKey: number, method: EnergyMethod, deviceKinds: Map<string, string>, fileName: string): DeviceRow {
  const kind = deviceKindOf(id, deviceKinds.get(id));
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
