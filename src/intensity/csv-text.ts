/** Shared CSV text helpers for intensity files and replay traces: split, number and time parsing. */

/** CsvLine is one non-blank physical line split into fields, with its 1-based line number. */
export interface CsvLine {
  lineNumber: number;
  fields: string[];
}

/**
 * splitCsvLines splits CSV text into lines of fields: strips a UTF-8 BOM, accepts CRLF, skips blank lines,
 * honours double-quoted fields with "" escapes (quoted newlines are not supported: exports never use them).
 */
export function splitCsvLines(text: string): CsvLine[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvLine[] = [];
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    out.push({ lineNumber: i + 1, fields: splitCsvFields(line) });
  }
  return out;
}

function splitCsvFields(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/** normaliseHeader lower-cases a header and folds 'CO₂' to 'co2' and runs of spaces to one space. */
export function normaliseHeader(header: string): string {
  return header.trim().toLowerCase().replace(/₂/g, '2').replace(/\s+/g, ' ');
}

/** parseStrictNumber parses a decimal number cell; returns undefined for anything else ('', 'abc', '1,5'). */
export function parseStrictNumber(cell: string): number | undefined {
  const trimmed = cell.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * parseTimestampMs parses ISO 8601 ('2024-01-01T00:00:00Z', '2022-01-01 00:00:00', offsets allowed; no
 * offset means UTC, as in Electricity Maps exports) or Unix seconds ('1704067200', '1683199800.0') into
 * ms since epoch; undefined when it is neither.
 */
export function parseTimestampMs(cell: string): number | undefined {
  const trimmed = cell.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const m = ISO_TIME.exec(trimmed);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const fields = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(Number(frac || '0') * 1000);
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

/** CsvInputError is malformed CSV input; its message is the one line 'FILE:LINE: …' shown to the user. */
export class CsvInputError extends Error {
  constructor(
    message: string,
    readonly fileName: string,
    readonly lineNumber?: number,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'CsvInputError';
  }
}

/** csvError builds a CsvInputError for a cell: "FILE:LINE: column 'NAME': 'CELL' is not a …". */
export function cellError(fileName: string, lineNumber: number, column: string, cell: string, what: string): CsvInputError {
  return new CsvInputError(`${fileName}:${lineNumber}: column '${column}': '${cell.trim()}' ${what}`, fileName, lineNumber, column);
}
