// Each tick commits the devices' state and the energy of their current minute as one binary value; a minute
// becomes an energy_minute row once a device's energy moves past it. Whatever was committed must be visible to
// readers at every moment, survive kill -9 (a Store dropped without closing) and never be counted twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker, type TrackerOptions } from '../../agent/tracker.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { minutesOf, powerSeries, samplePowerSeries } from '../../src/store/queries.js';
import { Store } from '../../src/store/store.js';
import { decodeSamples, decodeTickState, encodeSamples, TickStateWriter } from '../../src/store/tick-state.js';
import type { DeviceInfo } from '../../src/types.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'GPU 0', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
const gpu1: DeviceInfo = { ...gpu, id: 'gpu1', name: 'GPU 1' };

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-tickstate-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** counters is a script of `ticks` readings, 10 s apart, each GPU drawing `watts` (counter joules). */
function counters(ticks: number, watts: number[], epoch = 'boot-a/550'): { readings: { deviceId: string; counterJoules: number; counterEpoch: string; powerWatts: number }[] }[] {
  return Array.from({ length: ticks }, (_, i) => ({
    readings: watts.map((w, g) => ({ deviceId: `gpu${g}`, counterJoules: 1_000 + w * 10 * i, counterEpoch: epoch, powerWatts: w })),
  }));
}

function tracker(store: Store, queue: ReturnType<typeof counters>, clock = manualClock(T0 + 5_000), devices = [gpu, gpu1]): Tracker {
  const options: TrackerOptions = {
    store, runId: 'r', hostname: 'node1', labels: {}, intervalSeconds: 10, pue: { value: 1.5, source: 'flag' },
    intensity: constantProvider(400), market: {}, collectors: [scriptedCollector(devices, queue)], sampleRetentionSeconds: 600, clock,
  };
  return new Tracker(options);
}

const minuteJoules = (store: Store, runKey: number) => minutesOf(store.db, runKey).reduce((s, m) => s + m.itJoules, 0);
const deviceJoules = (store: Store, runKey: number) => store.devicesOf(runKey).reduce((s, d) => s + d.energyJoules, 0);
const sumOf = (path: string, sql: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(sql).get() as { j: number }).j;
  } finally {
    db.close();
  }
};
const rowJoules = (path: string) => sumOf(path, 'SELECT COALESCE(SUM(joules), 0) AS j FROM energy_minute');
const periodRowJoules = (path: string) => sumOf(path, 'SELECT COALESCE(SUM(it_joules), 0) AS j FROM energy_period');
const periodJoules = (store: Store, runKey: number) => store.periodsOf(runKey).reduce((s, p) => s + p.itJoules, 0);

describe('tick state', () => {
  it('writes one energy_minute row per device-minute, and readers see the open minute before its row exists', async () => {
    const path = join(dir, 'w.db');
    const store = Store.open(path);
    const clock = manualClock(T0 + 5_000);
    const t = tracker(store, counters(20, [300, 500]), clock);
    for (let i = 0; i < 20; i++) {
      if (i > 0) clock.advance(10);
      await t.tick();
      // Every committed joule is in the minutes readers see, at every tick: rows plus open minutes.
      expect(minuteJoules(store, t.run.runKey)).toBeCloseTo(deviceJoules(store, t.run.runKey), 6);
    }
    // 19 intervals of 10 s from 10:00:05: minutes 10:00, 10:01, 10:02 closed (rows), 10:03 open (state only).
    const rows = store.db.prepare('SELECT dev_key, minute, joules, samples FROM energy_minute ORDER BY dev_key, minute').all() as { samples: number }[];
    expect(rows).toHaveLength(2 * 3);
    expect(deviceJoules(store, t.run.runKey)).toBeCloseTo(800 * 190, 6);
    const series = powerSeries(store.db, t.run.runKey, 1);
    expect(series.reduce((s, p) => s + p.watts * 60, 0)).toBeCloseTo(800 * 190, 6);
    store.close();
  });

  it('after kill -9 the open minutes are in the database, become rows on resume, and are counted once', async () => {
    const path = join(dir, 'w.db');
    const first = Store.open(path);
    const clock = manualClock(T0 + 5_000);
    const t1 = tracker(first, counters(9, [300, 500]), clock);
    for (let i = 0; i < 9; i++) {
      if (i > 0) clock.advance(10);
      await t1.tick();
    }
    const runKey = t1.run.runKey;
    // kill -9: the process is gone without closing anything; what the last commit wrote is all there is.
    const committed = 800 * 80;
    expect(rowJoules(path)).toBeLessThan(committed);
    expect(periodRowJoules(path)).toBe(0); // the hour is still open: only in the tick state
    const reader = Store.open(path, { readonly: true });
    expect(minuteJoules(reader, runKey)).toBeCloseTo(committed, 6);
    expect(periodJoules(reader, runKey)).toBeCloseTo(committed, 6);
    expect(reader.facilityJoulesOf(runKey)).toBeCloseTo(committed * 1.5, 6);
    reader.close();

    const second = Store.open(path);
    first.db.close();
    clock.advance(10);
    // Same counters, same epoch: the downtime (one interval here) is recovered from them.
    const script = counters(12, [300, 500]).slice(9);
    const t2 = tracker(second, script, clock);
    expect(rowJoules(path)).toBeCloseTo(committed, 6);
    expect(periodRowJoules(path)).toBeCloseTo(committed, 6);
    for (let i = 0; i < 3; i++) {
      if (i > 0) clock.advance(10);
      await t2.tick();
    }
    await t2.stop(0);
    expect(deviceJoules(second, runKey)).toBeCloseTo(800 * 110, 6);
    expect(rowJoules(path)).toBeCloseTo(800 * 110, 6);
    expect(minuteJoules(second, runKey)).toBeCloseTo(800 * 110, 6);
    expect(periodRowJoules(path)).toBeCloseTo(800 * 110, 6);
    expect(second.periodsOf(runKey)).toHaveLength(1);
    second.close();
  });

  it('a failed commit leaves the open minutes as they were, and the retry counts the energy once', async () => {
    const path = join(dir, 'w.db');
    const store = Store.open(path);
    const clock = manualClock(T0 + 50_000);
    const t = tracker(store, counters(4, [300, 500]), clock);
    await t.tick();
    clock.advance(10);
    const real = store.commitTick.bind(store);
    let failing = true;
    // A statement inside the transaction fails (here a gap row without a reason): SQLite undoes the tick's
    // writes, and the open minutes already added in memory must be undone with them.
    store.commitTick = ((w: Parameters<typeof real>[0]) => {
      if (failing) {
        failing = false;
        const bad = { ...w, gaps: [{ devKey: -1, startMs: Number.NaN, endMs: 0, reason: null as unknown as string }] };
        return real(bad);
      }
      return real(w);
    }) as typeof real;
    await expect(t.tick()).rejects.toThrow();
    clock.advance(10);
    await t.tick();
    clock.advance(10);
    await t.tick();
    await t.stop(0);
    expect(deviceJoules(store, t.run.runKey)).toBeCloseTo(800 * 30, 6);
    expect(rowJoules(path)).toBeCloseTo(800 * 30, 6);
    expect(periodRowJoules(path)).toBeCloseTo(800 * 30, 6);
    store.close();
  });
});

describe('tick state encoding', () => {
  it('round-trips totals, integrator state, epochs and open minutes exactly', () => {
    const writer = new TickStateWriter();
    expect(writer.addMinute(7, 100, 12.5)).toBeUndefined();
    expect(writer.addMinute(7, 100, 0.25)).toBeUndefined();
    writer.commit();
    const blob = writer.encode([
      { devKey: 7, energyJoules: 1 / 3, samples: 3, counterJoules: 123456.789, counterEpoch: 'boot/550', powerWatts: 301.5, stateWallMs: T0, nodeEnergyJoules: 0.5 },
      { devKey: 9, energyJoules: 0, samples: 0 },
    ]);
    const states = decodeTickState(Buffer.from(blob))?.devices;
    expect(states?.get(7)).toEqual({
      energyJoules: 1 / 3, samples: 3, counterJoules: 123456.789, counterEpoch: 'boot/550', powerWatts: 301.5, stateWallMs: T0, nodeEnergyJoules: 0.5,
      open: { minute: 100, joules: 12.75, samples: 2 },
    });
    expect(states?.get(9)).toEqual({ energyJoules: 0, samples: 0 });
    expect(writer.closeMissing([{ devKey: 9, energyJoules: 0, samples: 0 }])).toEqual([{ devKey: 7, minute: 100, joules: 12.75, samples: 2 }]);
    expect(decodeTickState(null)).toBeUndefined();
    expect(decodeTickState(Buffer.from('{"1":[1,2]}'))).toBeUndefined();
  });

  it('adds ticks to the open period while nothing but the amounts changes, and closes it when the intensity does', () => {
    const writer = new TickStateWriter();
    const part = (start: number, g: number, source = 'table DE') => ({ periodStartMs: start, periodSeconds: 3600, itJoules: 3600, facilityJoules: 3960,
      intensityGramsPerKwh: g, co2eLocationGrams: 0.0011 * g, co2eMarketGrams: 0.0011 * g, source, quality: 'assumed' as const });
    expect(writer.addPeriod(part(T0, 400))).toBeUndefined();
    expect(writer.addPeriod(part(T0, 400))).toBeUndefined();
    expect(writer.addPeriod(part(T0, 300, 'uk GB'))).toMatchObject({ periodStartMs: T0, itJoules: 7200, intensityGramsPerKwh: 400 });
    expect(writer.addPeriod(part(T0 + 3_600_000, 300, 'uk GB'))).toMatchObject({ periodStartMs: T0, itJoules: 3600, source: 'uk GB' });
    const decoded = decodeTickState(Buffer.from(writer.encode([])));
    expect(decoded?.period).toEqual(part(T0 + 3_600_000, 300, 'uk GB'));
  });

  it('grows its buffer for 64 devices and epochs of any length, and keeps reading back exactly', () => {
    const writer = new TickStateWriter();
    for (const n of [1, 64, 65, 3]) {
      const devices = Array.from({ length: n }, (_, i) => ({ devKey: i, energyJoules: i * 1.5, samples: i, counterJoules: i + 0.25, counterEpoch: `boot-${'x'.repeat(40 + (i % 7))}` }));
      const states = decodeTickState(Buffer.from(writer.encode(devices)))?.devices;
      expect(states?.size).toBe(n);
      expect(states?.get(n - 1)).toEqual({ energyJoules: (n - 1) * 1.5, samples: n - 1, counterJoules: n - 0.75, counterEpoch: `boot-${'x'.repeat(40 + ((n - 1) % 7))}` });
    }
  });

  it('turns a minute into a row when the device moves on, and takes energy of an earlier minute as a row at once', () => {
    const writer = new TickStateWriter();
    writer.addMinute(1, 10, 5);
    expect(writer.addMinute(1, 11, 2)).toEqual({ devKey: 1, minute: 10, joules: 5, samples: 1 });
    expect(writer.addMinute(1, 9, 1)).toEqual({ devKey: 1, minute: 9, joules: 1, samples: 1 });
    writer.rollback();
    // Rolled back to before the first addMinute: nothing open.
    expect(writer.closeAll([1])).toEqual([]);
  });

  it('reads raw samples written as BLOBs and as the JSON of older runs', () => {
    const blob = encodeSamples([{ devKey: 3, powerWatts: 250.5, counterJoules: 99 }, { devKey: 4 }]);
    expect(decodeSamples(Buffer.from(blob))).toEqual([[3, 250.5, 99], [4, null, null]]);
    expect(decodeSamples('[[3,250.5,null]]')).toEqual([[3, 250.5, null]]);
  });

  it('reads the per-tick JSON state of a run stored before schema v6', () => {
    const store = Store.open(join(dir, 'w.db'));
    const run = store.createRun({ runId: 'old', hostname: 'h', startedAtMs: T0, pue: 1, pueSource: 't', intensitySource: 'constant', market: {}, labels: {} });
    const dev = store.upsertDevice(run.runKey, gpu);
    store.db.prepare('UPDATE runs SET state_json = ?, state_blob = NULL WHERE run_key = ?')
      .run(JSON.stringify({ [dev.devKey]: [4200, 7, 1000, 'e', 300, T0 + 1000, 4300] }), run.runKey);
    expect(store.devicesOf(run.runKey)[0]).toMatchObject({ energyJoules: 4200, samples: 7, counterJoules: 1000, counterEpoch: 'e', powerWatts: 300, stateWallMs: T0 + 1000, nodeEnergyJoules: 4300 });
    store.db.prepare('INSERT INTO samples (run_key, t_ms, data) VALUES (?, ?, ?)').run(run.runKey, T0, JSON.stringify([[dev.devKey, 300, 1000]]));
    expect(samplePowerSeries(store.db, run.runKey)).toEqual([{ startMs: T0, watts: 300 }]);
    store.close();
  });
});
