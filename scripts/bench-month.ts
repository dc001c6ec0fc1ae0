import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Tracker } from '../agent/tracker.js';
import { createSimCollector } from '../collectors/sim.js';
import { constantProvider } from '../src/intensity/constant.js';
import { Store } from '../src/store/store.js';
import { manualClock } from './bench-util.js';

/** MonthDb is a stored run of `devices` GPUs over `totalDays` at 1 Hz, for timing `report` as a process. */
export interface MonthDb {
  path: string;
  runId: string;
  devices: number;
  trackedSeconds: number;
  totalDays: number;
  /** Database bytes per device and tracked day (after a WAL checkpoint), before the bulk extension. */
  dbBytesPerDeviceDay: number;
}

/**
 * buildMonthDb tracks `trackedSeconds` of a 1 Hz, `devices`-GPU run through the real tracker and store on a
 * simulated clock, then extends the run to `totalDays` with the same per-minute and per-hour rows in bulk
 * (tracking a whole month tick by tick takes minutes and stores the same rows) and closes it.
 */
export async function buildMonthDb(dir: string, devices = 8, trackedSeconds = 2 * 86_400, totalDays = 30): Promise<MonthDb> {
  const path = join(dir, 'month.db');
  const store = Store.open(path);
  const start = Date.UTC(2026, 0, 1);
  const clock = manualClock(start);
  const tracker = new Tracker({
    store, runId: 'month', hostname: 'bench', labels: {}, intervalSeconds: 1, pue: { value: 1.1, source: 'bench' },
    intensity: constantProvider(400), market: {}, sampleRetentionSeconds: 600,
    collectors: [createSimCollector({ devices, now: () => clock.monoSeconds() })], clock,
  });
  await tracker.tick();
  for (let s = 0; s < trackedSeconds; s++) {
    clock.advance(1);
    await tracker.tick();
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const dbBytesPerDeviceDay = statSync(path).size / (devices * Math.max(trackedSeconds, 1) / 86_400);
  // Closed first: the devices' totals move from the last tick's state into their rows, which extend() adds to.
  store.endRun(tracker.run.runKey, start + trackedSeconds * 1000);
  extend(store, tracker.run.runKey, start, trackedSeconds / 86_400, totalDays);
  store.endRun(tracker.run.runKey, start + totalDays * 86_400_000);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
  return { path, runId: 'month', devices, trackedSeconds, totalDays, dbBytesPerDeviceDay };
}

function extend(store: Store, runKey: number, start: number, fromDay: number, toDay: number): void {
  const devKeys = store.devicesOf(runKey).map((d) => d.devKey);
  const minute = store.db.prepare('INSERT INTO energy_minute (dev_key, minute, joules, samples) VALUES (?, ?, 18000, 60)');
  const period = store.db.prepare(`INSERT INTO energy_period (run_key, period_start_ms, period_seconds, it_joules, facility_joules,
    intensity_g_per_kwh, co2e_location_g, co2e_market_g, source, quality) VALUES (?, ?, 3600, ?, ?, 400, ?, ?, 'bench', 'assumed')`);
  store.db.transaction(() => {
    const firstMinute = Math.ceil(start / 60_000 + fromDay * 1440);
    for (let m = firstMinute; m < start / 60_000 + toDay * 1440; m++) {
      for (const k of devKeys) minute.run(k, m);
    }
    for (let h = start + Math.ceil(fromDay * 24) * 3_600_000; h < start + toDay * 86_400_000; h += 3_600_000) {
      const it = 18_000 * 60 * devKeys.length;
      period.run(runKey, h, it, it * 1.1, (it * 1.1 / 3.6e6) * 400, (it * 1.1 / 3.6e6) * 400);
    }
    const joules = 18_000 * ((start / 60_000 + toDay * 1440) - firstMinute);
    store.db.prepare('UPDATE devices SET energy_joules = energy_joules + ?, node_energy_joules = node_energy_joules + ? WHERE run_key = ?').run(joules, joules, runKey);
  })();
}
