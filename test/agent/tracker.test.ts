import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker, type TickView, type TrackerOptions } from '../../agent/tracker.js';
import { PowerHistoryRing } from '../../src/exporters/power-history.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo } from '../../src/types.js';
import { hourlyProvider, manualClock, scriptedCollector } from '../helpers/scripted.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 22, 10, 59, 0); // one minute before an hour boundary
const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'Test GPU', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
const cpu: DeviceInfo = { id: 'cpu', kind: 'cpu', name: 'Test CPU', method: 'modelled', collector: 'sim' };

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-tracker-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function options(store: Store, overrides: Partial<TrackerOptions>): TrackerOptions {
  return {
    store, runId: 'run-1', hostname: 'node1', labels: { team: 'ml' }, intervalSeconds: 30,
    pue: { value: 1.1, source: 'flag --pue' }, intensity: hourlyProvider({ [T0 - 59 * 60_000]: 400, [T0 + 60_000]: 100, [T0 + 60_000 + H]: 250 }),
    market: {}, collectors: [], sampleRetentionSeconds: 600, ...overrides,
  };
}

/** acrossTheHour is a GPU counter and a sampled CPU over three ticks a minute apart, from 10:59 to 11:01. */
function acrossTheHour() {
  return scriptedCollector([gpu, cpu], [
    { readings: [{ deviceId: 'gpu0', counterJoules: 1000 }, { deviceId: 'cpu', powerWatts: 100 }] },
    { readings: [{ deviceId: 'gpu0', counterJoules: 19_000 }, { deviceId: 'cpu', powerWatts: 100 }] },
    { readings: [{ deviceId: 'gpu0', counterJoules: 37_000 }, { deviceId: 'cpu', powerWatts: 300 }] },
  ]);
}

describe('Tracker', () => {
  it('integrates, splits at the hour boundary and accounts each hour at its own intensity', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = acrossTheHour();
    const tracker = new Tracker(options(store, { collectors: [collector], clock }));
    await tracker.tick();
    clock.advance(60); // 10:59:00 → 11:00:00: 18 kJ GPU + 6 kJ CPU, all in the 10:00 hour
    await tracker.tick();
    clock.advance(60); // 11:00 → 11:01: 18 kJ GPU + 12 kJ CPU in the 11:00 hour
    await tracker.tick();
    expect(tracker.snapshot.itEnergyJoules).toBe(54_000);
    // 24 kJ × 1.1 at 400 g/kWh + 30 kJ × 1.1 at 100 g/kWh
    const expectedGrams = (24_000 * 1.1 / 3.6e6) * 400 + (30_000 * 1.1 / 3.6e6) * 100;
    expect(tracker.snapshot.co2eGrams.location).toBeCloseTo(expectedGrams, 9);
    expect(tracker.snapshot.devices.find((d) => d.id === 'gpu0')!.powerWatts).toBe(300);
    // The script is exhausted, so the final tick's read throws: that is survivable and changes nothing.
    const report = await tracker.stop(0);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(54_000, 6);
    expect(report.hourly.map((h) => [h.startAt, h.intensityGramsPerKwh, Math.round(h.itKwh * 3.6e6)])).toEqual([
      ['2026-11-22T10:00:00.000Z', 400, 24_000],
      ['2026-11-22T11:00:00.000Z', 100, 30_000],
    ]);
    expect(report.co2e.locationKg).toBeCloseTo(expectedGrams / 1000, 12);
    expect(report.energy.facilityKwh).toBeCloseTo(54_000 * 1.1 / 3.6e6, 12);
    store.close();
  });

  it('hands live outputs a tick view with the snapshot\'s figures, and the history built from it is the snapshot path\'s', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = acrossTheHour();
    const fromViews = new PowerHistoryRing(10);
    const fromSnapshots = new PowerHistoryRing(10);
    const seen: { view: Omit<TickView, 'snapshot' | 'powerWatts' | 'deviceIds'> & { powerWatts: number[]; deviceIds: string[] }; snapshotAt: string }[] = [];
    const tracker = new Tracker(options(store, {
      collectors: [collector], clock,
      onTick: (view) => {
        fromViews.pushTick(view);
        const snapshot = view.snapshot();
        fromSnapshots.push(snapshot);
        seen.push({
          view: {
            atMs: view.atMs, deviceIds: [...view.deviceIds], powerWatts: [...view.powerWatts], itEnergyJoules: view.itEnergyJoules,
            facilityEnergyJoules: view.facilityEnergyJoules, co2eLocationGrams: view.co2eLocationGrams, intensityGramsPerKwh: view.intensityGramsPerKwh,
          },
          snapshotAt: snapshot.at,
        });
        expect(view.deviceIds).toEqual(snapshot.devices.map((d) => d.id));
        expect([...view.powerWatts]).toEqual(snapshot.devices.map((d) => d.powerWatts));
        expect(view.itEnergyJoules).toBe(snapshot.itEnergyJoules);
        expect(view.facilityEnergyJoules).toBe(snapshot.facilityEnergyJoules);
        expect(view.co2eLocationGrams).toBe(snapshot.co2eGrams.location);
        expect(view.intensityGramsPerKwh).toBe(snapshot.intensityGramsPerKwh);
        expect(new Date(view.atMs).toISOString()).toBe(snapshot.at);
      },
    }));
    await tracker.tick();
    clock.advance(60);
    await tracker.tick();
    clock.advance(60);
    await tracker.tick();
    expect(seen).toHaveLength(3);
    expect(seen[2]!.view.itEnergyJoules).toBe(54_000);
    expect(seen[2]!.view.powerWatts).toEqual([300, 300]);
    expect(seen[1]!.view.intensityGramsPerKwh).toBe(100);
    // The view's arrays are reused from tick to tick: the history copies them.
    expect(fromViews.toColumns(['gpu0', 'cpu'])).toEqual(fromSnapshots.toColumns(['gpu0', 'cpu']));
    await tracker.stop(0);
    store.close();
  });

  it('survives a crash: a new tracker with the same run id continues without double counting', async () => {
    const path = join(dir, 'w.db');
    const clock = manualClock(T0 + 2 * 60_000);
    let store = Store.open(path);
    const first = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([gpu], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 5_000, counterEpoch: 'boot-a' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 14_000, counterEpoch: 'boot-a' }] },
      ])],
    }));
    await first.tick();
    clock.advance(30);
    await first.tick();
    store.close(); // the process dies here: no stop(), no final report
    clock.advance(90); // 90 s of downtime; the GPU kept drawing 300 W
    store = Store.open(path);
    const second = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([gpu], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 41_000, counterEpoch: 'boot-a' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 50_000, counterEpoch: 'boot-a' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 50_000, counterEpoch: 'boot-a' }] },
      ])],
    }));
    expect(second.resumed).toBe(true);
    expect(second.snapshot.itEnergyJoules).toBe(9_000);
    await second.tick(); // recovers the 27 kJ of downtime from the counter
    clock.advance(30);
    await second.tick();
    const report = await second.stop(0);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(45_000, 6);
    expect(report.gaps).toHaveLength(1);
    expect(report.gaps[0]).toMatchObject({ deviceId: 'gpu0', recoveredJoules: 27_000 });
    const periods = report.hourly.reduce((s, p) => s + p.itKwh, 0);
    expect(periods * 3.6e6).toBeCloseTo(45_000, 6);
    expect(report.co2e.locationKg).toBeCloseTo((45_000 * 1.1 / 3.6e6) * 100 / 1000, 12);
    store.close();
  });

  it('keeps other collectors running when one throws', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0 + 5 * 60_000);
    const broken = { name: 'nvml' as const, devices: [], read() { throw new Error('GPU is lost'); }, close() {} };
    const tracker = new Tracker(options(store, {
      clock, collectors: [broken, scriptedCollector([cpu], [{ readings: [{ deviceId: 'cpu', powerWatts: 50 }] }, { readings: [{ deviceId: 'cpu', powerWatts: 50 }] }])],
    }));
    await tracker.tick();
    clock.advance(10);
    await tracker.tick();
    expect(tracker.snapshot.itEnergyJoules).toBe(500);
    expect(tracker.snapshot.collectors.find((c) => c.name === 'nvml')).toMatchObject({ up: false, errorsTotal: { error: 2 }, lastError: 'GPU is lost' });
    store.close();
  });
});

describe('Tracker: devices that stop answering', () => {
  it('shows a gap to the end of the run for a device silent since its last reading', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0 + 10 * 60_000);
    const readings = [
      { readings: [{ deviceId: 'gpu0', counterJoules: 100 }, { deviceId: 'cpu', powerWatts: 50 }] },
      { readings: [{ deviceId: 'gpu0', counterJoules: 400 }, { deviceId: 'cpu', powerWatts: 50 }] },
      ...Array.from({ length: 8 }, () => ({ readings: [{ deviceId: 'cpu', powerWatts: 50 }], dropped: [{ deviceId: 'gpu0', reason: 'lost' }] })),
    ];
    const tracker = new Tracker(options(store, { clock, intervalSeconds: 1, collectors: [scriptedCollector([gpu, cpu], readings)] }));
    await tracker.tick();
    clock.advance(1);
    await tracker.tick();
    for (let i = 0; i < 7; i++) {
      clock.advance(1);
      await tracker.tick();
    }
    clock.advance(1);
    const report = await tracker.stop(0);
    expect(report.gaps).toEqual([{
      deviceId: 'gpu0', startAt: new Date(T0 + 10 * 60_000 + 1000).toISOString(), endAt: new Date(T0 + 10 * 60_000 + 9000).toISOString(),
      reason: 'no readings until the end of the run (device lost or collector failing)',
    }]);
    expect(report.energy.byDevice.find((d) => d.id === 'gpu0')!.kwh * 3.6e6).toBeCloseTo(300, 9);
    expect(tracker.snapshot.collectors[0]!.errorsTotal).toEqual({ lost: 8 });
    store.close();
  });
});
