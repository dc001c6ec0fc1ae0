import { describe, expect, it } from 'vitest';
import { Integrator } from '../../src/ledger/integrator.js';

const W0 = Date.UTC(2026, 10, 22, 9, 0, 0);

describe('Integrator', () => {
  it('integrates counter deltas exactly', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    expect(integ.ingest({ deviceId: 'gpu0', counterJoules: 1000 }, 'counter', 10, W0)).toBeUndefined();
    const c = integ.ingest({ deviceId: 'gpu0', counterJoules: 1350.5 }, 'counter', 11, W0 + 1000);
    expect(c).toEqual({ deviceId: 'gpu0', energyJoules: 350.5, startMs: W0, endMs: W0 + 1000, event: undefined });
  });

  it('uses the monotonic clock for the interval, not the wall clock', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.ingest({ deviceId: 'cpu', powerWatts: 100 }, 'modelled', 50, W0);
    // wall clock jumped back an hour (NTP step) but 2 s passed
    const c = integ.ingest({ deviceId: 'cpu', powerWatts: 200 }, 'modelled', 52, W0 - 3_600_000);
    expect(c!.energyJoules).toBe(300);
    expect(c!.endMs - c!.startMs).toBe(2000);
  });

  it('handles wrap and reset events', () => {
    const integ = new Integrator({ intervalSeconds: 1, maxPowerWatts: () => 500 });
    integ.ingest({ deviceId: 'package-0', counterJoules: 262_000, counterRangeJoules: 262_144 }, 'counter', 0, W0);
    const wrap = integ.ingest({ deviceId: 'package-0', counterJoules: 56, counterRangeJoules: 262_144 }, 'counter', 1, W0 + 1000);
    expect(wrap).toMatchObject({ energyJoules: 200, event: 'wrap' });
    const reset = integ.ingest({ deviceId: 'package-0', counterJoules: 10 }, 'counter', 2, W0 + 2000);
    expect(reset).toMatchObject({ energyJoules: 10, event: 'reset' });
  });

  it('records a gap instead of bridging sampled power silent for more than 5 intervals', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.ingest({ deviceId: 'gpu1', powerWatts: 300 }, 'sampled', 0, W0);
    expect(integ.ingest({ deviceId: 'gpu1', powerWatts: 300 }, 'sampled', 5, W0 + 5000)).toMatchObject({ energyJoules: 1500 });
    const gap = integ.ingest({ deviceId: 'gpu1', powerWatts: 300 }, 'sampled', 11, W0 + 11_000);
    expect(gap).toMatchObject({ energyJoules: 0, event: 'gap', startMs: W0 + 5000, endMs: W0 + 11_000 });
    expect(integ.ingest({ deviceId: 'gpu1', powerWatts: 100 }, 'sampled', 12, W0 + 12_000)).toMatchObject({ energyJoules: 200 });
  });

  it('ignores a reading without data and bridges from the last good one', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.ingest({ deviceId: 'gpu1', powerWatts: 100 }, 'sampled', 0, W0);
    expect(integ.ingest({ deviceId: 'gpu1' }, 'sampled', 1, W0 + 1000)).toBeUndefined();
    expect(integ.ingest({ deviceId: 'gpu1', powerWatts: 300 }, 'sampled', 2, W0 + 2000)).toMatchObject({ energyJoules: 400 });
  });

  it('recovers downtime energy from a counter of the same epoch after a resume', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.restore('gpu0', { counterJoules: 5000, counterEpoch: 'boot-a', wallMs: W0 });
    const c = integ.ingest({ deviceId: 'gpu0', counterJoules: 65_000, counterEpoch: 'boot-a' }, 'counter', 3, W0 + 120_000);
    expect(c).toEqual({ deviceId: 'gpu0', energyJoules: 60_000, startMs: W0, endMs: W0 + 120_000, event: 'recovered', resumed: true });
  });

  it('does not recover across a reboot or a reset during downtime', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.restore('gpu0', { counterJoules: 5000, counterEpoch: 'boot-a', wallMs: W0 });
    expect(integ.ingest({ deviceId: 'gpu0', counterJoules: 700, counterEpoch: 'boot-b' }, 'counter', 3, W0 + 60_000))
      .toMatchObject({ energyJoules: 0, event: 'epoch-change' });
    integ.restore('gpu1', { counterJoules: 5000, counterEpoch: 'boot-a', wallMs: W0 });
    expect(integ.ingest({ deviceId: 'gpu1', counterJoules: 700, counterEpoch: 'boot-a' }, 'counter', 3, W0 + 60_000))
      .toMatchObject({ energyJoules: 0, event: 'gap' });
  });
});

describe('Integrator: counter devices', () => {
  it('never integrates the power of a counter device whose counter read failed once (no double counting)', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.ingest({ deviceId: 'gpu0', counterJoules: 1000, powerWatts: 300 }, 'counter', 0, W0);
    expect(integ.ingest({ deviceId: 'gpu0', powerWatts: 300 }, 'counter', 1, W0 + 1000)).toBeUndefined();
    const c = integ.ingest({ deviceId: 'gpu0', counterJoules: 1600, powerWatts: 300 }, 'counter', 2, W0 + 2000);
    expect(c).toMatchObject({ energyJoules: 600, startMs: W0, endMs: W0 + 2000 });
  });
});
