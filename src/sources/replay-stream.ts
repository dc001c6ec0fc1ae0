import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CsvInputError, CsvRowReader, type CsvBadRow } from '../intensity/csv-text.js';
import { counterDecreaseNote, type CounterDecrease } from './counter-decrease.js';
import { replayFeed, type ReplayMeta, type ReplayResult, type ReplaySettings } from './replay.js';
import { CsvTraceTable, csvHeaderError, isSeriesDump, type ParsedTrace, type TraceRowSink } from './replay-parse.js';

/** ReplayFileOptions: malformed rows left out and counted, and a counter range for rows without one. */
export interface ReplayFileOptions {
  skipBadRows?: boolean;
  counterRangeJoules?: number;
}

/** TraceScan is what the first pass learnt of a trace file: enough to set up the replay, and its span. */
export interface TraceScan {
  meta: ReplayMeta;
  badRows?: { count: number; first: string };
}

// Small chunks: the rows of one chunk are alive together, and kept small they die in the young generation.
const CHUNK_BYTES = 1 << 16;

interface DeviceStats {
  count: number;
  lastMs: number;
  lastLine: number;
  ordered: boolean;
  /** Spacing between consecutive readings (ms) → how many times it occurs: the median without keeping them all. */
  spacings: Map<number, number>;
}

/**
 * scanTraceFile is the first of a streamed replay's two passes over a CSV trace: it learns each device's span
 * and sampling interval (the second, replayScannedFile, feeds the ledger), so memory stays bounded by the
 * number of devices and minutes, not rows: a trace of any size replays in a few hundred MB. Each device's rows
 * must be in time order (rows of different devices may interleave); when they are not, or the file is a
 * Prometheus series dump, it answers `{ whole: why }` and the caller reads the file whole (sorting it).
 */
export function scanTraceFile(path: string, opts: ReplayFileOptions = {}, intervalSeconds?: number): TraceScan | { whole: string } {
  const file = basename(path);
  let badRows: { count: number; first: string } | undefined;
  const onBadRow: CsvBadRow = opts.skipBadRows
    ? (err) => { badRows = { count: (badRows?.count ?? 0) + 1, first: badRows?.first ?? err.message }; }
    : (err) => { throw err; };
  // Pass 1: layout, devices, span, intervals; duplicates and order per device.
  const stats = new Map<string, DeviceStats>();
  let kind: ParsedTrace['kind'] | undefined;
  let deviceKinds = new Map<string, string>();
  let startMs = Infinity;
  let endMs = -Infinity;
  let readings = 0;
  let unordered: string | undefined;
  const first = readRows(path, file, onBadRow, (table) => { kind = table.kind; deviceKinds = table.deviceKinds; }, (p) => {
    const s = stats.get(p.device) ?? { count: 0, lastMs: -Infinity, lastLine: 0, ordered: true, spacings: new Map<number, number>() };
    stats.set(p.device, s);
    if (p.tMs === s.lastMs) {
      throw new CsvInputError(`${file}:${p.lineNumber}:${p.column}: device '${p.device}' has two readings at ${new Date(p.tMs).toISOString()} (lines ${s.lastLine} and ${p.lineNumber})`,
        file, p.lineNumber, undefined, p.column);
    }
    if (p.tMs < s.lastMs) {
      s.ordered = false;
      unordered ??= `${file}:${p.lineNumber}: device '${p.device}' goes back in time`;
    } else if (s.count > 0) {
      const gap = p.tMs - s.lastMs;
      s.spacings.set(gap, (s.spacings.get(gap) ?? 0) + 1);
    }
    if (opts.counterRangeJoules !== undefined && p.rangeJoules === undefined && p.value > opts.counterRangeJoules) {
      throw new CsvInputError(`${file}: device '${p.device}' reads ${p.value} J at ${new Date(p.tMs).toISOString()}, above --counter-range ${opts.counterRangeJoules} J: check the range`, file);
    }
    s.count++;
    s.lastMs = p.tMs;
    s.lastLine = p.lineNumber;
    startMs = Math.min(startMs, p.tMs);
    endMs = Math.max(endMs, p.tMs);
    readings++;
  });
  if (first === 'series-dump') return { whole: 'a Prometheus series dump' };
  if (unordered) return { whole: unordered };
  if (opts.counterRangeJoules !== undefined && kind !== 'joules_total') {
    throw new CsvInputError(`${file}: --counter-range applies to counter traces (joules_total), not to watts`, file);
  }
  if (stats.size === 0) {
    const skipped = badRows ? `; ${badRows.count} bad row${badRows.count === 1 ? '' : 's'} left out, the first: ${badRows.first}` : '';
    throw new CsvInputError(`${file}: no readings: expected rows after the header${skipped}`, file);
  }
  const all = new Map<number, number>();
  for (const s of stats.values()) for (const [gap, n] of s.spacings) all.set(gap, (all.get(gap) ?? 0) + n);
  const overall = medianOf(all) ?? 1;
  const intervals = new Map([...stats].map(([id, s]) => [id, intervalSeconds ?? medianOf(s.spacings) ?? overall]));
  const meta: ReplayMeta = { ids: [...stats.keys()], kind: kind!, deviceKinds, intervals, intervalSeconds: intervalSeconds ?? overall, startMs, endMs, readings };
  return { meta, ...(badRows ? { badRows } : {}) };
}

/** replayScannedFile is the second pass: the same rows into the ledger (rows the scan left out are left out again). */
export function replayScannedFile(path: string, scan: TraceScan, settings: ReplaySettings, opts: ReplayFileOptions = {}): ReplayResult {
  const file = basename(path);
  const { kind } = scan.meta;
  const replay = replayFeed(scan.meta, { deviceMinutes: false, ...settings });
  const decreases = new DecreaseTracker(opts.counterRangeJoules);
  readRows(path, file, () => undefined, () => undefined, (p) => {
    const rangeJoules = p.rangeJoules ?? opts.counterRangeJoules;
    const point = kind === 'watts' ? { tMs: p.tMs, watts: p.value } : { tMs: p.tMs, joulesTotal: p.value, ...(rangeJoules !== undefined ? { counterRangeJoules: rangeJoules } : {}) };
    if (kind === 'joules_total') decreases.add(p.device, p.tMs, p.value, rangeJoules);
    replay.feed(p.device, point);
  });
  return replay.finish(decreases.notes());
}

/**
 * readRows streams a CSV trace through the strict tokenizer in 64 KiB chunks; each well-formed row's readings go
 * to the sink. A row whose cells are bad goes to onBadRow like a malformed one. Returns 'series-dump' for a
 * Prometheus dump (not CSV).
 */
function readRows(path: string, file: string, onBadRow: CsvBadRow, onTable: (t: CsvTraceTable) => void, sink: TraceRowSink): 'series-dump' | undefined {
  const fd = openSync(path, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const reader = new CsvRowReader(file, onBadRow);
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let table: CsvTraceTable | undefined;
    let firstChunk = true;
    const take = (rows: ReturnType<CsvRowReader['push']>) => {
      if (!table && reader.header) {
        table = new CsvTraceTable(reader.header, file);
        onTable(table);
      }
      for (const row of rows) {
        try {
          table!.row(row, sink);
        } catch (err) {
          if (!(err instanceof CsvInputError)) throw err;
          onBadRow(err);
        }
      }
    };
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      const text = decoder.write(buffer.subarray(0, n));
      if (firstChunk) {
        firstChunk = false;
        const firstLine = text.replace(/^\uFEFF/, '').trimStart().split(/\r\n|\r|\n/, 1)[0] ?? '';
        if (isSeriesDump(firstLine)) return 'series-dump';
      }
      take(reader.push(text));
    }
    take(reader.push(decoder.end()));
    take(reader.end());
    if (!reader.header) throw csvHeaderError(file);
    if (!table) take([]);
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** medianOf is the median of a histogram (value → count), in seconds from ms; undefined when empty. */
function medianOf(histogram: Map<number, number>): number | undefined {
  let total = 0;
  for (const n of histogram.values()) total += n;
  if (total === 0) return undefined;
  const sorted = [...histogram].sort((a, b) => a[0] - b[0]);
  const at = (k: number): number => {
    let seen = 0;
    for (const [value, n] of sorted) {
      seen += n;
      if (seen > k) return value;
    }
    return sorted.at(-1)![0];
  };
  const mid = Math.floor(total / 2);
  const ms = total % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  return ms / 1000;
}

/**
 * DecreaseTracker finds, as the rows go by, the counter decreases without a range (taken as resets) and what
 * each may have lost at the device's average power: counterDecreases of counter-decrease.ts, streamed.
 */
class DecreaseTracker {
  private readonly devices = new Map<string, { lastMs: number; last: number; joules: number; seconds: number; found: Omit<CounterDecrease, 'mayBeMissingJoules'>[] }>();

  constructor(private readonly defaultRange?: number) {}

  add(deviceId: string, tMs: number, joules: number, rangeJoules: number | undefined): void {
    const d = this.devices.get(deviceId);
    if (!d) {
      this.devices.set(deviceId, { lastMs: tMs, last: joules, joules: 0, seconds: 0, found: [] });
      return;
    }
    const elapsedSeconds = (tMs - d.lastMs) / 1000;
    if (joules >= d.last) {
      d.joules += joules - d.last;
      d.seconds += elapsedSeconds;
    } else if ((rangeJoules ?? this.defaultRange) === undefined) {
      d.found.push({ deviceId, atMs: tMs, elapsedSeconds, prevJoules: d.last, curJoules: joules });
    }
    d.lastMs = tMs;
    d.last = joules;
  }

  notes(): string[] {
    const all: CounterDecrease[] = [];
    for (const d of this.devices.values()) {
      const avgWatts = d.seconds > 0 ? d.joules / d.seconds : undefined;
      for (const f of d.found) all.push(avgWatts === undefined ? f : { ...f, mayBeMissingJoules: Math.max(0, avgWatts * f.elapsedSeconds - f.curJoules) });
    }
    return all.sort((a, b) => a.atMs - b.atMs).map(counterDecreaseNote);
  }
}
