import { describe, expect, it } from 'vitest';
import { parseTrace } from '../../src/sources/replay-parse.js';
import { CsvInputError } from '../../src/intensity/csv-text.js';

const T = (second: number): number => Date.UTC(2024, 0, 1, 0, 0, second);

describe('parseTrace: CSV', () => {
  it('reads timestamp,device,watts with ISO times, sorting rows per device', () => {
    const trace = parseTrace(
      'timestamp,device,watts\n2024-01-01T00:00:02Z,gpu0,300\n2024-01-01T00:00:00Z,gpu0,100\n2024-01-01T00:00:00Z,cpu,50.5\n',
      '/runs/trace.csv',
    );
    expect(trace.kind).toBe('watts');
    expect([...trace.series.keys()]).toEqual(['gpu0', 'cpu']);
    expect(trace.series.get('gpu0')).toEqual([{ tMs: T(0), watts: 100 }, { tMs: T(2), watts: 300 }]);
    expect(trace.series.get('cpu')).toEqual([{ tMs: T(0), watts: 50.5 }]);
  });

  it('reads timestamp,device,joules_total with Unix seconds and a kind column, any column order and case', () => {
    const trace = parseTrace('Device,Joules_Total,Timestamp,Kind\r\ngpu0,10,1704067200,gpu\r\ngpu0,25.5,1704067201.5,gpu\r\n', 't.csv');
    expect(trace.kind).toBe('joules_total');
    expect(trace.series.get('gpu0')).toEqual([{ tMs: 1704067200000, joulesTotal: 10 }, { tMs: 1704067201500, joulesTotal: 25.5 }]);
    expect(trace.deviceKinds).toEqual(new Map([['gpu0', 'gpu']]));
  });

  it('reads a Grafana/Prometheus CSV export with one column per series', () => {
    const text = [
      '"Time","wattprint_energy_joules_total{device=""gpu0"", kind=""gpu""}","wattprint_energy_joules_total{device=""cpu0"", kind=""cpu""}"',
      '2024-01-01 00:00:00,100,7',
      '2024-01-01 00:00:15,1600,',
    ].join('\n');
    const trace = parseTrace(text, 'export.csv');
    expect(trace.kind).toBe('joules_total');
    expect(trace.series.get('gpu0')).toEqual([{ tMs: T(0), joulesTotal: 100 }, { tMs: T(15), joulesTotal: 1600 }]);
    expect(trace.series.get('cpu0')).toEqual([{ tMs: T(0), joulesTotal: 7 }]);
    expect(trace.deviceKinds).toEqual(new Map([['gpu0', 'gpu'], ['cpu0', 'cpu']]));
  });
});

describe('parseTrace: series lines', () => {
  it('reads promtool tsdb dump and exposition lines, ignoring other metrics', () => {
    const text = [
      '# from promtool tsdb dump',
      '{__name__="wattprint_energy_joules_total", device="gpu0", instance="127.0.0.1:9477", kind="gpu"} 1234.5 1704067200000',
      '{__name__="wattprint_power_watts", device="gpu0"} 300 1704067200000',
      'wattprint_energy_joules_total{device="gpu0",kind="gpu"} 1534.5 1704067201000',
    ].join('\n');
    const trace = parseTrace(text, 'dump.txt');
    expect(trace.kind).toBe('joules_total');
    expect(trace.series.get('gpu0')).toEqual([{ tMs: 1704067200000, joulesTotal: 1234.5 }, { tMs: 1704067201000, joulesTotal: 1534.5 }]);
    expect(trace.series.size).toBe(1);
  });

  it('names file and line of a malformed series line', () => {
    expect(() => parseTrace('wattprint_energy_joules_total{device="gpu0"} abc 1704067200000\n', 'dump.txt')).toThrow(
      "dump.txt:1:46: column 'value': 'abc' is not a non-negative number",
    );
    expect(() => parseTrace('{__name__="wattprint_energy_joules_total"} 1 1704067200000\n', 'dump.txt')).toThrow("dump.txt:1:1: series has no 'device' label");
  });
});

describe('parseTrace: bad input', () => {
  const message = (text: string): string => {
    try {
      parseTrace(text, '/x/trace.csv');
    } catch (err) {
      expect(err).toBeInstanceOf(CsvInputError);
      return (err as Error).message;
    }
    throw new Error('expected a CsvInputError');
  };
  it('reports file, line and column', () => {
    expect(message('timestamp,device,watts\n2024-01-01T00:00:00Z,gpu0,100\n2024-01-01T00:00:01Z,gpu0,lots\n')).toBe(
      "trace.csv:3:27: column 'watts': 'lots' is not a number",
    );
    expect(message('timestamp,device,watts\nnoon,gpu0,100\n')).toBe("trace.csv:2:1: column 'timestamp': 'noon' is not an ISO 8601 time or Unix seconds");
    expect(message('timestamp,device,watts\n1704067200,gpu0,-5\n')).toBe("trace.csv:2:17: column 'watts': '-5' is negative");
    expect(message('timestamp,device,watts\n1704067200,,5\n')).toBe("trace.csv:2:12: column 'device': '' is empty: name the device");
  });
  it('rejects duplicate readings, bad headers and empty traces', () => {
    expect(message('timestamp,device,watts\n1704067200,gpu0,1\n1704067201,gpu0,2\n1704067200,gpu0,3\n')).toBe(
      "trace.csv:4:1: device 'gpu0' has two readings at 2024-01-01T00:00:00.000Z (lines 2 and 4)",
    );
    expect(message('timestamp,device,watts,joules_total\n')).toBe(
      "trace.csv:1: expected a header 'timestamp,device,watts' or 'timestamp,device,joules_total' (exactly one of watts, joules_total)",
    );
    expect(message('when,device,watts\n')).toBe(
      "trace.csv:1: no 'timestamp' column: expected a header 'timestamp,device,watts' or 'timestamp,device,joules_total'",
    );
    expect(message('timestamp,device,watts\n')).toBe('trace.csv: no readings: expected rows after the header');
  });
});
