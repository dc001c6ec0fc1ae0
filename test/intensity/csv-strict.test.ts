import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { CsvInputError } from '../../src/intensity/csv-text.js';

// Intensity files are read strictly: a row that is not CSV, or has fewer or more fields than the header,
// stops the read with FILE:LINE:COLUMN. Before, a short row was skipped as if its intensity were empty.

const message = (text: string): string => {
  try {
    parseIntensityCsv(text, { fileName: '/data/intensity.csv' });
  } catch (err) {
    expect(err).toBeInstanceOf(CsvInputError);
    return (err as Error).message;
  }
  throw new Error('expected a CsvInputError');
};

const PLAIN = 'datetime,zone,intensity_g_per_kwh\n2026-03-02T10:00:00Z,DE,310\n';

describe('parseIntensityCsv: malformed rows are errors with file, line and column', () => {
  it('a short row', () => {
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,DE\n2026-03-02T12:00:00Z,DE,300\n`)).toBe(
      "intensity.csv:3:24: 2 fields where the header has 3: no 'intensity_g_per_kwh' (write an empty field for a missing value)");
  });

  it('a row with extra fields', () => {
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,DE,300,12\n`)).toBe(
      'intensity.csv:3:29: 4 fields where the header has 3: an extra field starts here (put a field that holds commas in double quotes)');
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,DE,3,5\n`)).toContain('intensity.csv:3:27: 4 fields where the header has 3');
  });

  it('an unterminated quote, and quotes where RFC 4180 allows none', () => {
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,"DE,300\n2026-03-02T12:00:00Z,DE,300\n`)).toBe(
      'intensity.csv:3:22: a quoted field never closed: the \'"\' here has no closing quote before the end of the file (line 5)');
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,D"E,300\n`)).toMatch(/^intensity\.csv:3:23: a '"' inside an unquoted field/);
    expect(message(`${PLAIN}2026-03-02T11:00:00Z,"DE"x,300\n`)).toMatch(/^intensity\.csv:3:26: a character after a closing '"'/);
  });

  it('still counts an empty intensity field (",,") as a period without a value', () => {
    const parsed = parseIntensityCsv(`${PLAIN}2026-03-02T11:00:00Z,DE,\n2026-03-02T12:00:00Z,DE,300\n`, { fileName: 'x.csv' });
    expect([parsed.rows.length, parsed.emptyRows]).toEqual([2, 1]);
  });

  it('reads quoted fields with commas and line breaks, CR-only line ends and a BOM like any CSV reader', () => {
    const text = '\uFEFFdatetime,zone,intensity_g_per_kwh,note\r2026-03-02T10:00:00Z,DE,"310","wind, sun"\r' +
      '2026-03-02T11:00:00Z,"DE",300,"two\rlines"\r2026-03-02T12:00:00Z,DE,290,""';
    const parsed = parseIntensityCsv(text, { fileName: 'x.csv' });
    expect(parsed.rows.map((r) => [r.periodStartMs, r.zone, r.gramsPerKwh, r.lineNumber])).toEqual([
      [Date.UTC(2026, 2, 2, 10), 'DE', 310, 2], [Date.UTC(2026, 2, 2, 11), 'DE', 300, 3], [Date.UTC(2026, 2, 2, 12), 'DE', 290, 5],
    ]);
  });
});

const DIR = fileURLToPath(new URL('../../../shared/fixtures/grid-intensity/', import.meta.url));
const DE = 'electricitymaps__DE_2022_hourly__jan.csv';
const present = existsSync(`${DIR}${DE}`);

describe.skipIf(!present)('strict CSV on a real Electricity Maps export (DE, January 2022, CRLF)', () => {
  const original = present ? readFileSync(`${DIR}${DE}`, 'utf8') : '';
  const parse = (text: string) => parseIntensityCsv(text, { fileName: DE });
  const rowsOf = (text: string) => parse(text).rows.map((r) => [r.periodStartMs, r.gramsPerKwh]);

  it('reads the same 744 hours with LF, CR-only or CRLF line ends, a BOM, and quoted fields holding commas and line breaks', () => {
    const want = rowsOf(original);
    expect(want).toHaveLength(744);
    expect(rowsOf(original.replace(/\r\n/g, '\n'))).toEqual(want);
    expect(rowsOf(original.replace(/\r\n/g, '\r'))).toEqual(want);
    expect(rowsOf(`\uFEFF${original}`)).toEqual(want);
    // Every 'Zone Name' quoted with a comma in it, every 'Data Source' quoted with a line break in it.
    const quoted = original.replace(/,Germany,Germany,DE,/g, ',Germany,"Germany, Federal Republic",DE,').replace(/,entsoe\.eu,/g, ',"entsoe.eu\r\n(ENTSO-E)",');
    expect(quoted).not.toBe(original);
    expect(rowsOf(quoted)).toEqual(want);
  });

  it('stops at a row cut short (a truncated download) with its line and column', () => {
    const lines = original.split('\r\n');
    lines[99] = lines[99]!.split(',').slice(0, 5).join(','); // line 100: datetime … direct intensity only
    expect(() => parse(lines.join('\r\n'))).toThrow(
      `${DE}:100:${lines[99]!.length + 1}: 5 fields where the header has 11: no 'Carbon Intensity gCO₂eq/kWh (LCA)' (write an empty field for a missing value)`);
  });

  it('stops at a row with a stray field and at an unterminated quote', () => {
    const lines = original.split('\r\n');
    lines[400] = `${lines[400]},extra`;
    expect(() => parse(lines.join('\r\n'))).toThrow(new RegExp(`^${DE}:401:${lines[400]!.length - 4}: 12 fields where the header has 11`));
    const open = original.split('\r\n');
    open[700] = open[700]!.replace(',Germany,', ',"Germany,');
    expect(() => parse(open.join('\r\n'))).toThrow(new RegExp(`^${DE}:701:21: a quoted field never closed`));
  });
});
