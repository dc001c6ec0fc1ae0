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

  it('labels IT and facility figures, IT first (as the dashboard), with prefixes that fit the value', () => {
    // 2 devices (100 W, 110 W) for 30 s: IT 6,300 J = 1.75 Wh; facility × 1.5 = 2.625 Wh; 400 g/kWh → 1.05 g.
    const line = statusLine(sampleSnapshot({ tick: 30 }));
    expect(line).toBe('wattprint run-42 | IT 210 W | IT 1.750 Wh, facility 2.625 Wh | CO2e 1.05 g | 0:00:30');
  });

  it('says the power is the devices\' whole draw, and the run\'s share of their energy, when the run is charged a share', () => {
    // gpu0 is shared: the run was charged 750 of its 3000 J; the CPU is wholly the run's (3300 J). 4050 of 6300 J.
    const s = sampleSnapshot({ tick: 30 });
    s.devices[0]!.energyJoules = 750;
    s.devices[0]!.deviceEnergyJoules = 3000;
    s.itEnergyJoules = 4050;
    expect(statusLine(s)).toMatch(/^wattprint run-42 \| devices 210 W \(run charged 64\.3%\) \| IT 1\.125 Wh, /);
  });

  it('shows milligrams and milliwatt-hours for the first seconds, never a row of zeros', () => {
    const line = statusLine(sampleSnapshot({ tick: 1, deviceCount: 1 }));
    expect(line).toBe('wattprint run-42 | IT 100 W | IT 27.78 mWh, facility 41.67 mWh | CO2e 16.7 mg | 0:00:01');
    expect(line).not.toMatch(/0\.000/);
  });

  it('adds the projection with its unit', () => {
    const line = statusLine(sampleSnapshot({ tick: 30, projected: { fraction: 0.25, energyJoules: 25_200, co2eGrams: 4200, source: 'api' } }));
    expect(line).toMatch(/\| projected CO2e 4\.20 kg \(25% done\)$/);
  });
});
