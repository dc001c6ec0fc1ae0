import { basename } from 'node:path';
import {
  CsvInputError, cellError, normaliseHeader, parseStrictNumber, parseTimestampMs, splitCsvLines,
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

/** ParseTraceOptions: counterRangeJoules applies to every counter point without its own max_joules cell (--counter-range). */
export interface ParseTraceOptions {
  counterRangeJoules?: number;
}

/** ParsedTrace is a recorded trace: per-device points sorted by time, all of one kind. */
export interface ParsedTrace {
  series: Map<string, TracePoint[]>;
  kind: 'watts' | 'joules_total';
  /** Device kinds (gpu|cpu|dram|tpu|other) where the trace says so (a 'kind' column or label). */
  deviceKinds: Map<string, string>;
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
 * Rows may come in any order; points are sorted per device. Throws CsvInputError with file:line and column
 * for bad cells, negative values and duplicate timestamps of one device.
 */
export function parseTrace(text: string, fileName: string, opts: ParseTraceOptions = {}): ParsedTrace {
  const file = basename(fileName);
  const firstLine = text.replace(/^\uFEFF/, '').trimStart().split(/\r?\n/, 1)[0] ?? '';
  const trace = /^(\{|wattprint_energy_joules_total\{)/.test(firstLine) || firstLine.startsWith('#')
    ? parseSeriesLines(text, file)
    : parseCsvTrace(text, file);
  if (trace.series.size === 0) throw new CsvInputError(`${file}: no readings: expected rows after the header`, file);
  if (opts.counterRangeJoules !== undefined) applyCounterRange(trace, file, opts.counterRangeJoules);
  return trace;
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

function addPoint(trace: ReturnType<typeof emptyTrace>, file: string, lineNumber: number, device: string, tMs: number, value: number, rangeJoules?: number): void {
  const seenAt = trace.lines.get(device) ?? new Map<number, number>();
  trace.lines.set(device, seenAt);
  const previous = seenAt.get(tMs);
  if (previous !== undefined) {
    throw new CsvInputError(
      `${file}:${lineNumber}: device '${device}' has two readings at ${new Date(tMs).toISOString()} (lines ${previous} and ${lineNumber})`,
      file, lineNumber,
    );
  }
  seenAt.set(tMs, lineNumber);
  const points = trace.series.get(device) ?? [];
  trace.series.set(device, points);
  points.push(trace.kind === 'watts' ? { tMs, watts: value } : { tMs, joulesTotal: value, ...(rangeJoules !== undefined ? { counterRangeJoules: rangeJoules } : {}) });
}

function finish(trace: ReturnType<typeof emptyTrace>): ParsedTrace {
  for (const points of trace.series.values()) points.sort((a, b) => a.tMs - b.tMs);
  return { series: trace.series, kind: trace.kind, deviceKinds: trace.deviceKinds };
}

function parseCsvTrace(text: string, file: string): ParsedTrace {
  const lines = splitCsvLines(text);
  const header = lines[0];
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
  for (const { lineNumber, fields } of lines.slice(1)) {
    const cell = (col: number): string => fields[col] ?? '';
    const tMs = parseTimestampMs(cell(timeCol));
    if (tMs === undefined) throw cellError(file, lineNumber, raw(timeCol), cell(timeCol), 'is not an ISO 8601 time or Unix seconds');
    const readings = wide
      ? seriesDevices.filter(({ col }) => cell(col).trim() !== '')
      : [{ col: wattsCol >= 0 ? wattsCol : joulesCol, device: cell(deviceCol).trim() }];
    for (const { col, device } of readings) {
      if (device === '') throw cellError(file, lineNumber, raw(deviceCol), cell(deviceCol), 'is empty: name the device');
      const value = parseStrictNumber(cell(col));
      if (value === undefined) throw cellError(file, lineNumber, raw(col), cell(col), 'is not a number');
      if (value < 0) throw cellError(file, lineNumber, raw(col), cell(col), 'is negative');
      const rangeJoules = rangeCol >= 0 && cell(rangeCol).trim() !== '' ? parseStrictNumber(cell(rangeCol)) : undefined;
      if (rangeCol >= 0 && cell(rangeCol).trim() !== '') {
        if (rangeJoules === undefined || !(rangeJoules > 0)) throw cellError(file, lineNumber, raw(rangeCol), cell(rangeCol), 'is not a positive number of joules');
        if (value > rangeJoules) throw cellError(file, lineNumber, raw(col), cell(col), `is above the counter's range ${cell(rangeCol).trim()} J (max_joules)`);
      }
      addPoint(trace, file, lineNumber, device, tMs, value, rangeJoules);
      if (!wide && kindCol >= 0 && cell(kindCol).trim() !== '') trace.deviceKinds.set(device, cell(kindCol).trim());
    }
  }
  return finish(trace);
}

const SERIES_LINE = /^(wattprint_energy_joules_total)?\{([^}]*)\}\s+(\S+)\s+(\S+)\s*$/;

function parseSeriesLines(text: string, file: string): ParsedTrace {
  const trace = emptyTrace('joules_total');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const points: { labels: Map<string, string>; lineNumber: number; tMs: number; value: number }[] = [];
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = SERIES_LINE.exec(line.trim());
    if (!m) {
      throw new CsvInputError(`${file}:${lineNumber}: expected '${METRIC}{device="…"} VALUE TIMESTAMP_MS'`, file, lineNumber);
    }
    const [, name, labelText = '', valueText = '', msText = ''] = m;
    const labels = parseLabels(`{${labelText}}`);
    if ((name ?? labels.get('__name__')) !== METRIC) return; // other metrics in a dump are not energy
    const device = labels.get('device');
    if (!device) throw new CsvInputError(`${file}:${lineNumber}: series has no 'device' label`, file, lineNumber);
    const value = parseStrictNumber(valueText);
    if (value === undefined || value < 0) throw cellError(file, lineNumber, 'value', valueText, 'is not a non-negative number');
    const tMs = parseStrictNumber(msText);
    if (tMs === undefined || !Number.isInteger(tMs)) throw cellError(file, lineNumber, 'timestamp', msText, 'is not a Unix time in milliseconds');
    points.push({ labels, lineNumber, tMs, value });
  });
  const idOf = seriesIds(points.map((p) => p.labels));
  for (const { labels, lineNumber, tMs, value } of points) {
    const device = idOf(labels);
    const kind = labels.get('kind');
    if (kind) trace.deviceKinds.set(device, kind);
    addPoint(trace, file, lineNumber, device, tMs, value);
  }
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
