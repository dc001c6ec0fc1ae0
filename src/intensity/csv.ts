import { basename } from 'node:path';
import { CsvInputError, cellError, normaliseHeader, parseStrictNumber, parseTimestampMs, readCsvTable } from './csv-text.js';
import { MS_PER_HOUR } from '../units.js';

/** EmissionFactor picks the lifecycle (LCA) or direct (combustion-only) intensity column. */
export type EmissionFactor = 'lifecycle' | 'direct';

/** IntensityRow is one period of an intensity file: start (ms, UTC), gCO2e/kWh, CFE fraction 0..1. */
export interface IntensityRow {
  periodStartMs: number;
  gramsPerKwh: number;
  cfe?: number;
  zone?: string;
  /** 1-based line in the file, for messages. */
  lineNumber: number;
}

/** ParsedIntensityCsv is a whole file: rows sorted by zone then time, and the period length in seconds. */
export interface ParsedIntensityCsv {
  rows: IntensityRow[];
  periodSeconds: number;
  format: 'electricitymaps' | 'plain';
  emissionFactor: EmissionFactor;
  /** Zones named in the file, in order of first appearance (empty when the file names none). */
  zones: string[];
  /** Rows whose intensity cell was empty: left out, so lookups fall back for those periods. */
  emptyRows: number;
  /** Source text for values from this file, e.g. 'csv: DE_2022_hourly.csv (Electricity Maps, lifecycle)'. */
  source: string;
}

const TIME_HEADERS = ['datetime (utc)', 'datetime', 'timestamp', 'time'];
const LIFECYCLE_HEADERS = ['carbon intensity gco2eq/kwh (life cycle)', 'carbon intensity gco2eq/kwh (lca)'];
const DIRECT_HEADERS = ['carbon intensity gco2eq/kwh (direct)'];
const ZONE_HEADERS = ['zone id', 'zone'];
const PLAIN_INTENSITY = 'intensity_g_per_kwh';

/**
 * parseIntensityCsv parses an Electricity Maps hourly export (old '(direct)'/'(LCA)' or new '(Life cycle)'
 * headers, matched case-insensitively; its CFE% is the grid's share and is not read) or the plain
 * 'datetime,zone,intensity_g_per_kwh[,cfe]' form (cfe: the user's contracted hourly CFE, a fraction 0..1).
 * Pure. Throws CsvInputError naming file, line and column for a row that is not CSV (RFC 4180) or has fewer
 * or more fields than the header, a bad cell, a missing column, a period off its
 * grid, or overlapping periods. Empty intensity cells are skipped (counted).
 */
export function parseIntensityCsv(
  text: string,
  opts: { fileName: string; emissionFactor?: EmissionFactor },
): ParsedIntensityCsv {
  const fileName = basename(opts.fileName);
  const emissionFactor = opts.emissionFactor ?? 'lifecycle';
  const { header, rows: lines } = readCsvTable(text, fileName);
  if (!header) throw new CsvInputError(`${fileName}: empty file: expected a header line`, fileName);
  const headers = header.fields.map(normaliseHeader);
  const find = (names: string[]): number => headers.findIndex((h) => names.includes(h));
  const timeCol = find(TIME_HEADERS);
  const plainCol = find([PLAIN_INTENSITY]);
  const format = plainCol >= 0 ? 'plain' : 'electricitymaps';
  const valueCol = plainCol >= 0 ? plainCol : find(emissionFactor === 'lifecycle' ? LIFECYCLE_HEADERS : DIRECT_HEADERS);
  if (timeCol < 0) {
    throw new CsvInputError(`${fileName}:${header.lineNumber}: no time column: expected 'Datetime (UTC)' or 'datetime'`, fileName, header.lineNumber);
  }
  if (valueCol < 0) {
    const other = emissionFactor === 'lifecycle' ? 'direct' : 'lifecycle';
    throw new CsvInputError(
      `${fileName}:${header.lineNumber}: no ${emissionFactor} intensity column: expected ` +
        `'${PLAIN_INTENSITY}' or an Electricity Maps '${emissionFactor === 'lifecycle' ? 'Carbon intensity gCO₂eq/kWh (Life cycle)' : 'Carbon intensity gCO₂eq/kWh (direct)'}' column (or try --emission-factor ${other})`,
      fileName,
      header.lineNumber,
    );
  }
  // Only the plain form's `cfe` (the user's contracted hourly CFE) is a market instrument. An Electricity Maps
  // export's 'Carbon-free energy percentage (CFE%)' is the grid's own low-carbon share, already inside its
  // intensity: read as a purchase it would be counted twice, so it is not read at all.
  const cfeCol = format === 'plain' ? find(['cfe']) : -1;
  const zoneCol = find(ZONE_HEADERS);
  const name = (col: number): string => (header.fields[col] ?? '').trim();

  const rows: IntensityRow[] = [];
  let emptyRows = 0;
  for (const line of lines) {
    const { lineNumber, fields } = line;
    const cell = (col: number): string => fields[col] ?? '';
    const bad = (col: number, what: string) => cellError(fileName, line, col, name(col), what);
    const periodStartMs = parseTimestampMs(cell(timeCol));
    if (periodStartMs === undefined) throw bad(timeCol, 'is not an ISO 8601 time or Unix seconds');
    if (cell(valueCol).trim() === '') {
      emptyRows++;
      continue;
    }
    const gramsPerKwh = parseStrictNumber(cell(valueCol));
    if (gramsPerKwh === undefined) throw bad(valueCol, 'is not a number');
    if (gramsPerKwh < 0) throw bad(valueCol, 'is negative');
    const row: IntensityRow = { periodStartMs, gramsPerKwh, lineNumber };
    if (cfeCol >= 0 && cell(cfeCol).trim() !== '') {
      const cfe = parseStrictNumber(cell(cfeCol));
      if (cfe === undefined) throw bad(cfeCol, 'is not a number');
      if (cfe < 0 || cfe > 1) throw bad(cfeCol, 'is not a fraction between 0 and 1');
      row.cfe = cfe;
    }
    if (zoneCol >= 0 && cell(zoneCol).trim() !== '') row.zone = cell(zoneCol).trim().toUpperCase();
    rows.push(row);
  }
  const zones = [...new Set(rows.flatMap((r) => (r.zone ? [r.zone] : [])))];
  rows.sort((a, b) => (a.zone ?? '').localeCompare(b.zone ?? '') || a.periodStartMs - b.periodStartMs);
  const periodSeconds = inferPeriodSeconds(rows);
  checkPeriods(rows, periodSeconds, fileName);
  const described = format === 'plain' ? 'plain' : `Electricity Maps, ${emissionFactor}`;
  return { rows, periodSeconds, format, emissionFactor, zones, emptyRows, source: `csv: ${fileName} (${described})` };
}

/** inferPeriodSeconds takes the most common gap between consecutive rows of a zone (3600 when unknown). */
function inferPeriodSeconds(rows: IntensityRow[]): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < rows.length; i++) {
    const [prev, row] = [rows[i - 1]!, rows[i]!];
    if (prev.zone !== row.zone) continue;
    const gapMs = row.periodStartMs - prev.periodStartMs;
    if (gapMs > 0) counts.set(gapMs, (counts.get(gapMs) ?? 0) + 1);
  }
  let best = MS_PER_HOUR;
  let bestCount = 0;
  for (const [gapMs, count] of counts) {
    if (count > bestCount || (count === bestCount && gapMs < best)) [best, bestCount] = [gapMs, count];
  }
  return best / 1000;
}

function checkPeriods(rows: IntensityRow[], periodSeconds: number, fileName: string): void {
  const periodMs = periodSeconds * 1000;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.periodStartMs % periodMs !== 0) {
      throw new CsvInputError(
        `${fileName}:${row.lineNumber}: period starting ${new Date(row.periodStartMs).toISOString()} is not on a ${periodSeconds} s boundary like the other rows`,
        fileName,
        row.lineNumber,
      );
    }
    const prev = rows[i - 1];
    if (prev && prev.zone === row.zone && row.periodStartMs - prev.periodStartMs < periodMs) {
      const [first, second] = prev.lineNumber < row.lineNumber ? [prev, row] : [row, prev];
      throw new CsvInputError(
        `${fileName}:${second.lineNumber}: overlapping periods: lines ${first.lineNumber} and ${second.lineNumber} both cover ${new Date(row.periodStartMs).toISOString()}${row.zone ? ` for zone ${row.zone}` : ''}`,
        fileName,
        second.lineNumber,
      );
    }
  }
}
