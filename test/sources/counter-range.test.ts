import { describe, expect, it } from 'vitest';
import { replayTrace } from '../../src/sources/replay.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { Integrator } from '../../src/ledger/integrator.js';
import { counterDecreaseNote, counterDecreases } from '../../src/sources/counter-decrease.js';
import { parseTrace, type ParsedTrace } from '../../src/sources/replay-parse.js';

/** A RAPL-like counter of range 262,143.328850 J read every 10 s at 250 W, wrapping between the 2nd and 3rd reading. */
const RANGE = 262_143.32885;
const WRAPPED = [
  'timestamp,device,joules_total,max_joules',
  `1704067200,package-0,258000,${RANGE}`,
  `1704067210,package-0,260500,${RANGE}`,
  `1704067220,package-0,${260_500 + 2_500 - RANGE},${RANGE}`,
  `1704067230,package-0,${260_500 + 5_000 - RANGE},${RANGE}`,
].join('\n');

/** integrate feeds a parsed counter trace to the Integrator as replay does, passing each point's range on. */
function integrate(trace: ParsedTrace): number {
  const integrator = new Integrator({ intervalSeconds: 10 });
  let joules = 0;
  for (const [deviceId, points] of trace.series) {
    for (const p of points) {
      const c = integrator.ingest({ deviceId, counterJoules: p.joulesTotal, ...(p.counterRangeJoules !== undefined ? { counterRangeJoules: p.counterRangeJoules } : {}) }, 'counter', p.tMs / 1000, p.tMs);
      joules += c?.energyJoules ?? 0;
    }
  }
  return joules;
}

describe('counter range in replayed traces (issue 10, defect 5)', () => {
  it('a max_joules column puts the range on each point: the wrap is unwrapped (7,500 J over 30 s at 250 W)', () => {
    const trace = parseTrace(WRAPPED, 'rapl.csv');
    expect(trace.series.get('package-0')!.map((p) => p.counterRangeJoules)).toEqual([RANGE, RANGE, RANGE, RANGE]);
    expect(integrate(trace)).toBeCloseTo(7_500, 6);
    expect(counterDecreases(trace)).toEqual([]);
  });

  it('--counter-range does the same for a trace without the column; without either, the decrease is a reset and the note says what may be missing', () => {
    const plain = WRAPPED.replace(',max_joules', '').replace(new RegExp(`,${RANGE}`, 'g'), '');
    expect(integrate(parseTrace(plain, 'rapl.csv', { counterRangeJoules: RANGE }))).toBeCloseTo(7_500, 6);
    const bare = parseTrace(plain, 'rapl.csv');
    // As a reset, only the reading after the decrease is counted: 2,500 + (259,500 + 2,500 − range) + 2,500.
    const counted = integrate(bare);
    expect(counted).toBeCloseTo(5_000 + 260_500 + 2_500 - RANGE, 6);
    const [d] = counterDecreases(bare);
    // The device's average over its other intervals is 250 W: 2,500 J in those 10 s, of which the reset counted cur.
    expect(d).toMatchObject({ deviceId: 'package-0', atMs: 1704067220000, elapsedSeconds: 10, prevJoules: 260_500 });
    expect(d!.mayBeMissingJoules).toBeCloseTo(2_500 - (260_500 + 2_500 - RANGE), 6);
    expect(counted + d!.mayBeMissingJoules!).toBeCloseTo(7_500, 6);
    expect(counterDecreaseNote(d!)).toBe(
      'package-0: counter went from 260500 J to 856.671 J at 2024-01-01T00:00:20.000Z: counted as a reset (856.671 J); if it wrapped, ' +
      'about 1643.33 J (0.000456 kWh) at the device\'s average power over the 10 s is missing: give the counter\'s range with --counter-range J or a max_joules column',
    );
  });

  it('rejects a reading above its range, a bad range, and a range on a watts trace', () => {
    expect(() => parseTrace('timestamp,device,joules_total,max_joules\n1,gpu0,11,10\n', 't.csv')).toThrow("t.csv:2:8: column 'joules_total': '11' is above the counter's range 10 J (max_joules)");
    expect(() => parseTrace('timestamp,device,joules_total,max_joules\n1,gpu0,1,0\n', 't.csv')).toThrow("t.csv:2:10: column 'max_joules': '0' is not a positive number of joules");
    expect(() => parseTrace('timestamp,device,watts,max_joules\n1,gpu0,1,10\n', 't.csv')).toThrow("t.csv:1: column 'max_joules' is a counter's range: it goes with 'timestamp,device,joules_total'");
    expect(() => parseTrace('timestamp,device,watts\n1,gpu0,1\n', 't.csv', { counterRangeJoules: 5 })).toThrow('t.csv: --counter-range applies to counter traces (joules_total), not to watts');
    expect(() => parseTrace('timestamp,device,joules_total\n1,gpu0,7\n', 't.csv', { counterRangeJoules: 5 })).toThrow("t.csv: device 'gpu0' reads 7 J at 1970-01-01T00:00:01.000Z, above --counter-range 5 J: check the range");
  });
});

describe('replay of a wrapping counter trace', () => {
  const settings = { runId: 'r', fileName: 'rapl.csv', pue: { value: 1, source: 'flag' }, intensity: constantProvider(100), market: {} };
  it('unwraps with the range and counts a bare decrease as a reset, saying what may be missing', () => {
    const withRange = replayTrace(parseTrace(WRAPPED, 'rapl.csv'), settings).report;
    expect(withRange.energy.itKwh * 3.6e6).toBeCloseTo(7_500, 6);
    const plain = WRAPPED.replace(',max_joules', '').replace(new RegExp(`,${RANGE}`, 'g'), '');
    const bare = replayTrace(parseTrace(plain, 'rapl.csv'), settings).report;
    expect(bare.energy.itKwh * 3.6e6).toBeCloseTo(5_000 + 260_500 + 2_500 - RANGE, 6);
    expect(bare.notes.some((n) => n.startsWith('package-0: counter went from 260500 J') && n.includes('--counter-range'))).toBe(true);
  });
});
