import { describe, expect, it } from 'vitest';
import { statusLine } from '../../agent/status-line.js';
import { sampleSnapshot } from '../exporters/snapshots.js';

describe('statusLine', () => {
  it('names the job\'s open phases, innermost last, and leaves closed ones out', () => {
    const s = sampleSnapshot({ tick: 3 });
    s.phases = [
      { id: 'a', name: 'data', startedAt: s.startedAt, endedAt: s.at, itEnergyJoules: 10, co2eGrams: 0.1 },
      { id: 'b', name: 'train', startedAt: s.startedAt, itEnergyJoules: 20, co2eGrams: 0.2 },
      { id: 'c', name: 'eval', startedAt: s.at, itEnergyJoules: 1, co2eGrams: 0.01 },
    ];
    expect(statusLine(s)).toMatch(/^wattprint run-42 \| phase train > eval \| /);
    expect(statusLine(sampleSnapshot({ tick: 3 }))).not.toContain('phase');
  });
});
