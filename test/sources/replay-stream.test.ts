import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { constantProvider } from '../../src/intensity/constant.js';
import { replayTrace } from '../../src/sources/replay.js';
import { parseTrace } from '../../src/sources/replay-parse.js';
import { replayScannedFile, scanTraceFile } from '../../src/sources/replay-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'wattprint-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const settings = { runId: 'r', fileName: 't.csv', pue: { value: 1.2, source: 'flag' }, intensity: constantProvider(300), market: {} };
const start = Date.UTC(2026, 0, 1) / 1000;

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('streamed replay of a trace file', () => {
  it('gives each device the same energy, minutes and gaps as the in-memory replay (GPU every 1 s, CPU every 60 s, rows interleaved)', () => {
    const lines = ['timestamp,device,watts'];
    for (let s = 0; s <= 7200; s++) {
      if (s < 3000 || s > 3200) lines.push(`${start + s},gpu0,${250 + (s % 7)}`); // a 200 s silence: a true gap
      if (s % 60 === 0) lines.push(`${start + s},cpu,${80 + (s % 11)}`);
    }
    const path = write('mixed.csv', lines);
    const scan = scanTraceFile(path);
    if ('whole' in scan) throw new Error(scan.whole);
    const streamed = replayScannedFile(path, scan, { ...settings, deviceMinutes: true });
    const whole = replayTrace(parseTrace(lines.join('\n'), 'mixed.csv'), settings);
    const byDevice = (r: typeof whole) => Object.fromEntries(r.report.energy.byDevice.map((d) => [d.id, d.kwh * 3.6e6]));
    expect(byDevice(streamed)).toEqual(byDevice(whole));
    expect(streamed.report.gaps).toEqual(whole.report.gaps);
    expect(streamed.report.gaps.map((g) => g.deviceId)).toEqual(['gpu0']);
    expect(streamed.deviceIntervalSeconds).toEqual(new Map([['gpu0', 1], ['cpu', 60]]));
    expect(streamed.report.co2e.locationKg).toBeCloseTo(whole.report.co2e.locationKg, 12);
    const key = (m: { deviceId: string; minuteStartMs: number }) => `${m.deviceId}@${m.minuteStartMs}`;
    const wholeMinutes = new Map(whole.deviceMinutes.map((m) => [key(m), m.energyJoules]));
    expect(streamed.deviceMinutes.length).toBe(whole.deviceMinutes.length);
    for (const m of streamed.deviceMinutes) expect(m.energyJoules).toBeCloseTo(wholeMinutes.get(key(m))!, 9);
  });

  it('reads a file whose device goes back in time whole, and refuses a duplicate reading with its lines', () => {
    const unsorted = write('unsorted.csv', ['timestamp,device,watts', `${start + 10},gpu0,100`, `${start},gpu0,100`]);
    expect(scanTraceFile(unsorted)).toEqual({ whole: 'unsorted.csv:3: device \'gpu0\' goes back in time' });
    const dup = write('dup.csv', ['timestamp,device,watts', `${start},gpu0,100`, `${start},gpu0,120`]);
    expect(() => scanTraceFile(dup)).toThrow(/dup.csv:3:1: device 'gpu0' has two readings at .* \(lines 2 and 3\)/);
  });

  it('counts bad rows under skipBadRows and unwraps counters with a range', () => {
    const range = 262_143.32885;
    const path = write('rapl.csv', ['timestamp,device,joules_total,max_joules', `${start},package-0,255000,${range}`, `${start + 10},package-0,257500,${range}`,
      `${start + 20},package-0,oops,${range}`, `${start + 30},package-0,${257500 + 5000 - range},${range}`]);
    const scan = scanTraceFile(path, { skipBadRows: true });
    if ('whole' in scan) throw new Error(scan.whole);
    expect(scan.badRows).toEqual({ count: 1, first: "rapl.csv:4:22: column 'joules_total': 'oops' is not a number" });
    const r = replayScannedFile(path, scan, settings, { skipBadRows: true });
    expect(r.report.energy.itKwh * 3.6e6).toBeCloseTo(7_500, 6);
  });
});
