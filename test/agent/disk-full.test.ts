// A database that fills up mid-run (SQLite's max_page_count: a real SQLITE_FULL from the real engine) loses no
// energy: ticks keep integrating in memory and are stored when the database takes writes again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo, Reading } from '../../src/types.js';
import { hourlyProvider, manualClock, scriptedCollector } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 2, 1, 10, 50, 0);
const HOURS = { [Date.UTC(2026, 2, 1, 10)]: 400, [Date.UTC(2026, 2, 1, 11)]: 100 };
const devices: DeviceInfo[] = [
  ...Array.from({ length: 40 }, (_, i): DeviceInfo => ({ id: `gpu${i}`, kind: 'gpu', name: 'G', method: 'counter', collector: 'sim', powerLimitWatts: 700 })),
  { id: 'smi', kind: 'gpu', name: 'S', method: 'sampled', collector: 'sim', powerLimitWatts: 700 },
];

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-full-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a database that fills up mid-run', () => {
  it('holds the energy in memory and stores all of it once space returns: no loss, no gap, no double count', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const TICKS = 40; // one a minute: 10:50 → 11:29
    const reading = (i: number): Reading[] => [
      ...Array.from({ length: 40 }, (_, g) => ({ deviceId: `gpu${g}`, counterJoules: i * 60 * (200 + g) })),
      { deviceId: 'smi', powerWatts: 250 },
    ];
    const collector = scriptedCollector(devices, [...Array.from({ length: TICKS }, (_, i) => ({ readings: reading(i) })), { readings: reading(TICKS - 1) }]);
    const tracker = new Tracker({
      store, runId: 'full', hostname: 'h', labels: {}, intervalSeconds: 60, pue: { value: 1.2, source: 'flag' },
      intensity: hourlyProvider(HOURS), market: {}, collectors: [collector], sampleRetentionSeconds: 600, clock,
    });
    await tracker.tick();
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages}`); // the disk is full from here on
    const failures: string[] = [];
    for (let i = 1; i < TICKS; i++) {
      clock.advance(60);
      if (i === 30) store.db.pragma('max_page_count = 1073741823'); // space freed
      await tracker.tick().catch((err: Error & { code?: string }) => failures.push(err.code ?? err.message));
    }
    expect(failures.length).toBeGreaterThan(5);
    expect(failures.every((f) => f === 'SQLITE_FULL')).toBe(true);
    const report = await tracker.stop(0);
    expect(tracker.storageError).toBeUndefined();
    const secs = (TICKS - 1) * 60;
    const expected = Array.from({ length: 40 }, (_, g) => secs * (200 + g)).reduce((a, b) => a + b, 0) + 250 * secs;
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(expected, 6);
    expect(report.hourly.reduce((s, h) => s + h.itKwh, 0) * 3.6e6).toBeCloseTo(expected, 6);
    expect(report.gaps).toEqual([]);
    // Each part at its own hour's intensity: 10:50 → 11:00 at 400 g, 11:00 → 11:29 at 100 g.
    const perSecond = expected / secs;
    expect(report.co2e.locationKg * 1000).toBeCloseTo((perSecond * 600 * 1.2 / 3.6e6) * 400 + (perSecond * (secs - 600) * 1.2 / 3.6e6) * 100, 9);
    store.close();
  });

  it('closes the report from what was stored when the disk is still full at the end, and says so', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    // 20 minutes: a tick now writes a device's minute once (when the next one starts), so filling the pages the
    // file still has takes more than the 6 minutes that used to.
    const collector = scriptedCollector(devices, Array.from({ length: 21 }, (_, i) => ({ readings: [{ deviceId: 'smi', powerWatts: 250 }, ...Array.from({ length: 40 }, (_, g) => ({ deviceId: `gpu${g}`, counterJoules: i * 60 * 200 }))] })));
    const tracker = new Tracker({
      store, runId: 'full2', hostname: 'h', labels: {}, intervalSeconds: 60, pue: { value: 1.2, source: 'flag' },
      intensity: hourlyProvider(HOURS), market: {}, collectors: [collector], sampleRetentionSeconds: 600, clock,
    });
    await tracker.tick();
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
    for (let i = 1; i < 20; i++) {
      clock.advance(60);
      await tracker.tick().catch(() => undefined);
    }
    const report = await tracker.stop(0);
    expect(tracker.storageError?.message).toMatch(/full/);
    expect(report.notes.join('\n')).toMatch(/database refused writes at the end of the run .*minute rows of energy measured but not stored/);
    store.close();
  });
});
