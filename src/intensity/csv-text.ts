/** Shared CSV text helpers for intensity files and replay traces: tables, number and time parsing. */
import { CsvTokenizer, type CsvItem, type CsvRecord } from './csv-tokenizer.js';

/** CsvLine is one record of a CSV table: its fields, where each starts, and the line it starts on. */
export type CsvLine = CsvRecord;

/** CsvBadRow receives each malformed row as its one-line error; throw it to stop at the first. */
export type CsvBadRow = (err: CsvInputError) => void;

const strict: CsvBadRow = (err) => {
  throw err;
};

/**
 * CsvRowReader reads a CSV table chunk by chunk (RFC 4180, see csv-tokenizer.ts): the first record is the
 * header, and every later record must have exactly as many fields. A row that is not CSV, or has fewer or
 * more fields, goes to `onBadRow` as 'FILE:LINE:COLUMN: …' and is left out; by default that throws. A
 * header that is not CSV always throws.
 */
export class CsvRowReader {
  /** header is the first record, once read. */
  header: CsvLine | undefined;
  private readonly tokenizer = new CsvTokenizer();

  constructor(private readonly fileName: string, private readonly onBadRow: CsvBadRow = strict) {}

  /** push reads the next chunk and returns the data rows it completed. */
  push(chunk: string): CsvLine[] {
    return this.take(this.tokenizer.push(chunk));
  }

  /** end returns the last row, if the text did not end with a line break. */
  end(): CsvLine[] {
    return this.take(this.tokenizer.end());
  }

  private take(items: CsvItem[]): CsvLine[] {
    const rows: CsvLine[] = [];
    for (const item of items) {
      if (item.issue) {
        const { line, column, message } = item.issue;
        const err = new CsvInputError(`${this.fileName}:${line}:${column}: ${message}`, this.fileName, line, undefined, column);
        if (!this.header) throw err; // a broken header cannot be left out: every row depends on it
        this.onBadRow(err);
      } else if (!this.header) this.header = item.record;
      else if (item.record.fields.length === this.header.fields.length) rows.push(item.record);
      else this.onBadRow(widthError(this.fileName, item.record, this.header));
    }
    return rows;
  }
}

function widthError(fileName: string, row: CsvLine, header: CsvLine): CsvInputError {
  const [n, m] = [row.fields.length, header.fields.length];
  const { line, column } = n < m ? row.end : row.at[m]!;
  const why = n < m
    ? `no '${(header.fields[n] ?? '').trim()}' (write an empty field for a missing value)`
    : 'an extra field starts here (put a field that holds commas in double quotes)';
  return new CsvInputError(`${fileName}:${line}:${column}: ${n} field${n === 1 ? '' : 's'} where the header has ${m}: ${why}`,
    fileName, line, undefined, column);
}

/**
 * csvRows yields the data rows of a whole text as they complete, reading it in chunks, so each row is garbage
 * soon after it is used (a 1 GB trace is never held as rows). `reader.header` is set once the first row, or
 * the end, has been reached.
 */
export function* csvRows(reader: CsvRowReader, text: string, chunkChars = 1 << 16): Generator<CsvLine> {
  for (let from = 0; from < text.length; from += chunkChars) yield* reader.push(text.slice(from, from + chunkChars));
  yield* reader.end();
}

/** readCsvTable reads a whole CSV text: the header (undefined for an empty text) and the data rows. */
export function readCsvTable(text: string, fileName: string, onBadRow: CsvBadRow = strict): { header: CsvLine | undefined; rows: CsvLine[] } {
  const reader = new CsvRowReader(fileName, onBadRow);
  const rows = reader.push(text);
  rows.push(...reader.end());
  return { header: reader.header, rows };
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

/** CsvInputError is malformed CSV input; its message is the one line 'FILE:LINE:COLUMN: …' shown to the user. */
export class CsvInputError extends Error {
  constructor(
    message: string,
    readonly fileName: string,
    readonly lineNumber?: number,
    /** The column's header name, for a bad cell. */
    readonly column?: string,
    /** 1-based character column where the problem starts. */
    readonly columnNumber?: number,
  ) {
    super(message);
    this.name = 'CsvInputError';
  }
}

/** cellError builds a CsvInputError for field `col` of a row: "FILE:LINE:COLUMN: column 'NAME': 'CELL' is not a …". */
export function cellError(fileName: string, row: CsvLine, col: number, name: string, what: string): CsvInputError {
  const { line, column } = row.at[col] ?? row.end;
  const cell = (row.fields[col] ?? '').trim().replace(/\r\n|\r|\n/g, '\\n');
  const shown = cell.length > 80 ? `${cell.slice(0, 77)}...` : cell;
  return new CsvInputError(`${fileName}:${line}:${column}: column '${name}': '${shown}' ${what}`, fileName, line, name, column);
}
