import { describe, expect, it } from 'vitest';
import { CsvInputError } from '../../src/intensity/csv-text.js';
import { parseTrace } from '../../src/sources/replay-parse.js';

// Replay traces are read as RFC 4180 CSV: a malformed row stops the replay with FILE:LINE:COLUMN, or, with
// skipBadRows, is left out whole and counted.

const T = (second: number): number => Date.UTC(2026, 2, 2, 11, 0, second);
const HEAD = 'timestamp,device,watts\n2026-03-02T11:00:00Z,gpu0,300\n';
const TAIL = '2026-03-02T11:00:02Z,gpu0,320\n';

const message = (text: string): string => {
  try {
    parseTrace(text, '/runs/trace.csv');
  } catch (err) {
    expect(err).toBeInstanceOf(CsvInputError);
    return (err as Error).message;
  }
  throw new Error('expected a CsvInputError');
};

describe('parseTrace: malformed rows', () => {
  it('stops at a short row, extra fields and an unterminated quote, naming file, line and column', () => {
    expect(message(`${HEAD}2026-03-02T11:00:01Z,gpu0\n${TAIL}`)).toBe(
      "trace.csv:3:26: 2 fields where the header has 3: no 'watts' (write an empty field for a missing value)");
    expect(message(`${HEAD}2026-03-02T11:00:01Z,gpu0,310,5\n${TAIL}`)).toBe(
      'trace.csv:3:31: 4 fields where the header has 3: an extra field starts here (put a field that holds commas in double quotes)');
    expect(message(`${HEAD}2026-03-02T11:00:01Z,"gpu0,310\n${TAIL}`)).toBe(
      'trace.csv:3:22: a quoted field never closed: the \'"\' here has no closing quote before the end of the file (line 5)');
  });

  it('reads CR-only and CRLF traces, a BOM, and quoted device names holding commas, as a CSV reader does', () => {
    const lf = `${HEAD}2026-03-02T11:00:01Z,"gpu0",310\n${TAIL}`;
    const want = [{ tMs: T(0), watts: 300 }, { tMs: T(1), watts: 310 }, { tMs: T(2), watts: 320 }];
    for (const text of [lf, lf.replace(/\n/g, '\r'), lf.replace(/\n/g, '\r\n'), `\uFEFF${lf}`]) {
      expect(parseTrace(text, 't.csv').series.get('gpu0')).toEqual(want);
    }
    const named = parseTrace('timestamp,device,watts\r1,"node a, gpu ""0""",5\r2,"node a, gpu ""0""",6', 't.csv');
    expect([...named.series.keys()]).toEqual(['node a, gpu "0"']);
  });

  it('with skipBadRows leaves every bad row out whole, counts them and keeps the first error', () => {
    const text = 'timestamp,device,watts\n' +
      '2026-03-02T11:00:00Z,gpu0,300\n' +
      '2026-03-02T11:00:01Z,gpu0\n' + // short
      '2026-03-02T11:00:01Z,gpu0,310,9\n' + // extra field
      '2026-03-02T11:00:01Z,gp"u0,310\n' + // a quote inside an unquoted field
      '2026-03-02T11:00:01Z,gpu0,lots\n' + // not a number
      '2026-03-02T11:00:00Z,gpu0,999\n' + // a second reading at 11:00:00
      '2026-03-02T11:00:02Z,gpu0,320\n';
    expect(() => parseTrace(text, 't.csv')).toThrow("t.csv:3:26: 2 fields where the header has 3: no 'watts'");
    const trace = parseTrace(text, 't.csv', { skipBadRows: true });
    expect(trace.series.get('gpu0')).toEqual([{ tMs: T(0), watts: 300 }, { tMs: T(2), watts: 320 }]);
    expect(trace.badRows).toEqual({ count: 5, first: "t.csv:3:26: 2 fields where the header has 3: no 'watts' (write an empty field for a missing value)" });
    expect(parseTrace(`${HEAD}${TAIL}`, 't.csv', { skipBadRows: true }).badRows).toBeUndefined();
  });

  it('with skipBadRows leaves out a bad wide-export row whole, not only its bad cell', () => {
    const text = '"Time","wattprint_energy_joules_total{device=""a""}","wattprint_energy_joules_total{device=""b""}"\n' +
      '1704067200,1,2\n1704067201,3,x\n1704067202,5,6\n';
    const trace = parseTrace(text, 'w.csv', { skipBadRows: true });
    expect([trace.series.get('a')!.length, trace.series.get('b')!.length, trace.badRows?.count]).toEqual([2, 2, 1]);
  });

  it('with skipBadRows counts bad series lines of a dump', () => {
    const text = 'wattprint_energy_joules_total{device="gpu0"} 1 1704067200000\r' +
      'wattprint_energy_joules_total{device="gpu0"} x 1704067201000\r' +
      'garbage\r' +
      'wattprint_energy_joules_total{device="gpu0"} 3 1704067202000\r';
    expect(() => parseTrace(text, 'dump.txt')).toThrow("dump.txt:2:46: column 'value': 'x' is not a non-negative number");
    const trace = parseTrace(text, 'dump.txt', { skipBadRows: true });
    expect([trace.series.get('gpu0')!.length, trace.badRows?.count]).toEqual([2, 2]);
  });

  it('never leaves out a header that is not CSV', () => {
    expect(() => parseTrace('time,wattprint_energy_joules_total{device="a"}\n1,2\n', 'w.csv', { skipBadRows: true })).toThrow(
      /^w\.csv:1:43: a '"' inside an unquoted field/);
  });

  it('still fails a trace whose every row is bad, saying how many were left out', () => {
    expect(() => parseTrace('timestamp,device,watts\n1,gpu0\n', 't.csv', { skipBadRows: true })).toThrow(
      "t.csv: no readings: expected rows after the header; 1 bad row left out, the first: t.csv:2:7: 2 fields where the header has 3: no 'watts'");
  });
});
