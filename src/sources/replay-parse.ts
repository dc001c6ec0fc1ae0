import { basename } from 'node:path';
import {
  CsvInputError, cellError, normaliseHeader, parseStrictNumber, parseTimestampMs, csvRows, CsvRowReader, type CsvBadRow, type CsvLine,
} from '../intensity/csv-text.js';

/** TracePoint is one reading of one device: time (ms since epoch, UTC) and power (W) or a counter (J). */
export interface TracePoint {
  tMs: number;
  watts?: number;
  joulesTotal?: number;
  /**
   * The counter's range in joules (it wraps to 0 after it), from the row's `max_joules` cell or --counter-range:
   * the Integrator's Reading.counterRangeJoules. Undefined: a decrease is a reset.
   */
  counterRangeJoules?: number;
}

/** ParsedTrace is a recorded trace: per-device points sorted by time, all of one kind. */
export interface ParsedTrace {
  series: Map<string, TracePoint[]>;
  kind: 'watts' | 'joules_total';
  /** Device kinds (gpu|cpu|dram|tpu|other) where the trace says so (a 'kind' column or label). */
  deviceKinds: Map<string, string>;
  /** Rows left out under `skipBadRows`: how many, and the first one's error (FILE:LINE:COLUMN: …). */
  badRows?: { count: number; first: string };
}

/** ParseTraceOptions: `skipBadRows` counts malformed rows and leaves them out instead of stopping at the first. */
export interface ParseTraceOptions {
  skipBadRows?: boolean;
  /** Applies to every counter point without its own max_joules cell (--counter-range). */
  counterRangeJoules?: number;
}

const METRIC = 'wattprint_energy_joules_total';

/**
 * parseTrace reads a recorded power trace for `wattprint replay`. Accepted shapes:
 * - CSV with header `timestamp,device,watts` or `timestamp,device,joules_total` (any column order, any case,
 *   optional `kind` column; counters may carry `max_joules`, the value they wrap to 0 after); timestamp ISO
 *   8601 (no offset = UTC) or Unix seconds;
 * - CSV exported from Prometheus/Grafana: a time column then one column per `wattprint_energy_joules_total{…}`
 *   series (device from its `device` label);
 * - `promtool tsdb dump` / exposition lines: `wattprint_energy_joules_total{device="gpu0",kind="gpu"} 1234.5 1700000000000`
 *   or `{__name__="wattprint_energy_joules_total",device="gpu0"} 1234.5 1700000000000` (value, then ms).
 * Rows may come in any order; points are sorted per device. CSV is read as RFC 4180 (quotes, CRLF, CR, BOM).
 * Throws CsvInputError with file:line:column for a row that is not CSV or has fewer or more fields than the
 * header, bad cells, negative values and duplicate timestamps of one device; with `skipBadRows` such rows
 * are left out and counted in `badRows` (a missing or bad header still throws).
 */
export function parseTrace(text: string, fileName: string, opts: ParseTraceOptions = {}): ParsedTrace {
  const file = basename(fileName);
  const firstLine = text.replace(/^\uFEFF/, '').trimStart().split(/\r\n|\r|\n/, 1)[0] ?? '';
  let badRows: ParsedTrace['badRows'];
  const onBadRow: CsvBadRow = opts.skipBadRows
    ? (err) => { badRows = { count: (badRows?.count ?? 0) + 1, first: badRows?.first ?? err.message }; }
    : (err) => { throw err; };
  const trace = /^(\{|wattprint_energy_joules_total\{)/.test(firstLine) || firstLine.startsWith('#')
    ? parseSeriesLines(text, file, onBadRow)
    : parseCsvTrace(text, file, onBadRow);
  if (trace.series.size === 0) {
    const skipped = badRows ? `; ${badRows.count} bad row${badRows.count === 1 ? '' : 's'} left out, the first: ${badRows.first}` : '';
    throw new CsvInputError(`${file}: no readings: expected rows after the header${skipped}`, file);
  }
  if (opts.counterRangeJoules !== undefined) applyCounterRange(trace, file, opts.counterRangeJoules);
  return badRows ? { ...trace, badRows } : trace;
}

/** applyCounterRange gives every counter point without its own range the one from --counter-range. */
function applyCounterRange(trace: ParsedTrace, file: string, rangeJoules: number): void {
  if (trace.kind !== 'joules_total') throw new CsvInputError(`${file}: --counter-range applies to counter traces (joules_total), not to watts`, file);
  for (const [device, points] of trace.series) {
    for (const p of points) {
      if (p.counterRangeJoules !== undefined) continue;
      if (p.joulesTotal! > rangeJoules) {
        throw new CsvInputError(`${file}: device '${device}' reads ${p.joulesTotal} J at ${new Date(p.tMs).toISOString()}, above --counter-range ${rangeJoules} J: check the range`, file);
      }
      p.counterRangeJoules = rangeJoules;
    }
  }
}

function emptyTrace(kind: ParsedTrace['kind']): ParsedTrace & { lines: Map<string, Map<number, number>> } {
  return { series: new Map(), kind, deviceKinds: new Map(), lines: new Map() };
}

/** checkNew throws when `device` already has a reading at tMs: a duplicate is a bad row, not a second reading. */
function checkNew(trace: ReturnType<typeof emptyTrace>, file: string, lineNumber: number, column: number, device: string, tMs: number): void {
  const previous = trace.lines.get(device)?.get(tMs);
  if (previous !== undefined) {
    throw new CsvInputError(
      `${file}:${lineNumber}:${column}: device '${device}' has two readings at ${new Date(tMs).toISOString()} (lines ${previous} and ${lineNumber})`,
      file, lineNumber, undefined, column,
    );
  }
}

function addPoint(trace: ReturnType<typeof emptyTrace>, lineNumber: number, device: string, tMs: number, value: number, rangeJoules?: number): void {
  const seenAt = trace.lines.get(device) ?? new Map<number, number>();
  trace.lines.set(device, seenAt);
  seenAt.set(tMs, lineNumber);
  const points = trace.series.get(device) ?? [];
  trace.series.set(device, points);
  points.push(trace.kind === 'watts' ? { tMs, watts: value } : { tMs, joulesTotal: value, ...(rangeJoules !== undefined ? { counterRangeJoules: rangeJoules } : {}) });
}

function finish(trace: ReturnType<typeof emptyTrace>): ParsedTrace {
  for (const points of trace.series.values()) points.sort((a, b) => a.tMs - b.tMs);
  return { series: trace.series, kind: trace.kind, deviceKinds: trace.deviceKinds };
}

/** perRow runs one row's work; a CsvInputError it throws goes to onBadRow (which rethrows unless skipping). */
function perRow(onBadRow: CsvBadRow, work: () => void): void {
  try {
    work();
  } catch (err) {
    if (!(err instanceof CsvInputError)) throw err;
    onBadRow(err);
  }
}

function parseCsvTrace(text: string, file: string, onBadRow: CsvBadRow): ParsedTrace {
  const reader = new CsvRowReader(file, onBadRow);
  const rows = csvRows(reader, text);
  const first = rows.next(); // reads up to the first data row, so the header is known
  const header = reader.header;
  if (!header) throw new CsvInputError(`${file}: empty file: expected a header 'timestamp,device,watts' or 'timestamp,device,joules_total'`, file);
  const names = header.fields.map(normaliseHeader);
  const timeCol = names.findIndex((n) => ['timestamp', 'time', 'datetime'].includes(n));
  if (timeCol < 0) {
    throw new CsvInputError(`${file}:${header.lineNumber}: no 'timestamp' column: expected a header 'timestamp,device,watts' or 'timestamp,device,joules_total'`, file, header.lineNumber);
  }
  const seriesCols = names.flatMap((n, col) => (n.startsWith(METRIC) ? [col] : []));
  const deviceCol = names.indexOf('device');
  const wattsCol = names.indexOf('watts');
  const joulesCol = names.indexOf('joules_total');
  const kindCol = names.indexOf('kind');
  const rangeCol = names.indexOf('max_joules');
  const wide = seriesCols.length > 0;
  if (rangeCol >= 0 && (wide || joulesCol < 0)) {
    throw new CsvInputError(`${file}:${header.lineNumber}: column 'max_joules' is a counter's range: it goes with 'timestamp,device,joules_total'`, file, header.lineNumber);
  }
  if (!wide && (deviceCol < 0 || (wattsCol < 0) === (joulesCol < 0))) {
    throw new CsvInputError(
      `${file}:${header.lineNumber}: expected a header 'timestamp,device,watts' or 'timestamp,device,joules_total' (exactly one of watts, joules_total)`,
      file, header.lineNumber,
    );
  }
  const trace = emptyTrace(wide || joulesCol >= 0 ? 'joules_total' : 'watts');
  const raw = (col: number): string => (header.fields[col] ?? '').trim();
  const columnLabels = seriesCols.map((col) => parseLabels(raw(col)));
  const idOf = seriesIds(columnLabels);
  const seriesDevices = seriesCols.map((col, i) => {
    const labels = columnLabels[i]!;
    const device = labels.has('device') ? idOf(labels) : raw(col);
    const kind = labels.get('kind');
    if (kind) trace.deviceKinds.set(device, kind);
    return { col, device };
  });
  const take = (row: CsvLine): void => perRow(onBadRow, () => {
    const { lineNumber, fields } = row;
    const cell = (col: number): string => fields[col] ?? '';
    const bad = (col: number, what: string) => cellError(file, row, col, raw(col), what);
    const tMs = parseTimestampMs(cell(timeCol));
    if (tMs === undefined) throw bad(timeCol, 'is not an ISO 8601 time or Unix seconds');
    const readings = wide
      ? seriesDevices.filter(({ col }) => cell(col).trim() !== '')
      : [{ col: wattsCol >= 0 ? wattsCol : joulesCol, device: cell(deviceCol).trim() }];
    // The whole row is checked before any of it is taken, so a bad row is left out whole.
    const points = readings.map(({ col, device }) => {
      if (device === '') throw bad(deviceCol, 'is empty: name the device');
      const value = parseStrictNumber(cell(col));
      if (value === undefined) throw bad(col, 'is not a number');
      if (value < 0) throw bad(col, 'is negative');
      const rangeCell = rangeCol >= 0 ? cell(rangeCol).trim() : '';
      const rangeJoules = rangeCell !== '' ? parseStrictNumber(rangeCell) : undefined;
      if (rangeCell !== '') {
        if (rangeJoules === undefined || !(rangeJoules > 0)) throw bad(rangeCol, 'is not a positive number of joules');
        if (value > rangeJoules) throw bad(col, `is above the counter's range ${rangeCell} J (max_joules)`);
      }
      checkNew(trace, file, lineNumber, row.at[timeCol]!.column, device, tMs);
      return { device, value, rangeJoules };
    });
    for (const { device, value, rangeJoules } of points) {
      addPoint(trace, lineNumber, device, tMs, value, rangeJoules);
      if (!wide && kindCol >= 0 && cell(kindCol).trim() !== '') trace.deviceKinds.set(device, cell(kindCol).trim());
    }
  });
  if (!first.done) take(first.value);
  for (const row of rows) take(row);
  return finish(trace);
}

const SERIES_LINE = /^(wattprint_energy_joules_total)?\{([^}]*)\}\s+(\S+)\s+(\S+)\s*$/d;

function parseSeriesLines(text: string, file: string, onBadRow: CsvBadRow): ParsedTrace {
  const trace = emptyTrace('joules_total');
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const points: { labels: Map<string, string>; lineNumber: number; column: number; tMs: number; value: number }[] = [];
  lines.forEach((line, index) => perRow(onBadRow, () => {
    const lineNumber = index + 1;
    if (line.trim() === '' || line.startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    const m = SERIES_LINE.exec(line.trim());
    if (!m) {
      throw new CsvInputError(`${file}:${lineNumber}:${indent + 1}: expected '${METRIC}{device="…"} VALUE TIMESTAMP_MS'`, file, lineNumber, undefined, indent + 1);
    }
    // The value and timestamp as a two-field row, so their errors name the column they start at.
    const at = [3, 4].map((g) => ({ line: lineNumber, column: indent + m.indices![g]![0] + 1 }));
    const row = { lineNumber, fields: [m[3]!, m[4]!], at, end: { line: lineNumber, column: line.length + 1 } };
    const [, name, labelText = '', valueText = '', msText = ''] = m;
    const labels = parseLabels(`{${labelText}}`);
    if ((name ?? labels.get('__name__')) !== METRIC) return; // other metrics in a dump are not energy
    const device = labels.get('device');
    if (!device) throw new CsvInputError(`${file}:${lineNumber}:${indent + 1}: series has no 'device' label`, file, lineNumber, undefined, indent + 1);
    const value = parseStrictNumber(valueText);
    if (value === undefined || value < 0) throw cellError(file, row, 0, 'value', 'is not a non-negative number');
    const tMs = parseStrictNumber(msText);
    if (tMs === undefined || !Number.isInteger(tMs)) throw cellError(file, row, 1, 'timestamp', 'is not a Unix time in milliseconds');
    points.push({ labels, lineNumber, column: at[1]!.column, tMs, value });
  }));
  const idOf = seriesIds(points.map((p) => p.labels));
  for (const { labels, lineNumber, column, tMs, value } of points) perRow(onBadRow, () => {
    const device = idOf(labels);
    checkNew(trace, file, lineNumber, column, device, tMs);
    const kind = labels.get('kind');
    if (kind) trace.deviceKinds.set(device, kind);
    addPoint(trace, lineNumber, device, tMs, value);
  });
  return finish(trace);
}

/**
 * seriesIds names each series by its device — prefixed by its node (instance, else hostname, else job) and run
 * when the dump holds several: one agent per node exports a `gpu0` each, and those are different GPUs.
 */
function seriesIds(all: Map<string, string>[]): (labels: Map<string, string>) => string {
  const node = (l: Map<string, string>) => l.get('instance') ?? l.get('hostname') ?? l.get('job');
  // Series without the label (plain exposition lines) do not count as another node or run.
  const distinct = (values: (string | undefined)[]) => new Set(values.filter((v) => v !== undefined)).size > 1;
  const manyNodes = distinct(all.map(node));
  const manyRuns = distinct(all.map((l) => l.get('run_id')));
  return (l) => [manyRuns ? l.get('run_id') : undefined, manyNodes ? node(l) : undefined, l.get('device') ?? '']
    .filter((x) => x !== undefined).join('/');
}

/** parseLabels reads the `{a="x",b="y"}` part of a Prometheus series name (\" and \\ escapes). */
function parseLabels(series: string): Map<string, string> {
  const labels = new Map<string, string>();
  const open = series.indexOf('{');
  if (open < 0) return labels;
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;
  for (const m of series.slice(open).matchAll(pattern)) {
    labels.set(m[1]!, m[2]!.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch)));
  }
  return labels;
}
