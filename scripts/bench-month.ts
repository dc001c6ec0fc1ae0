import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tracker } from '../agent/tracker.js';
import { createSimCollector } from '../collectors/sim.js';
import { constantProvider } from '../src/intensity/constant.js';
import { loadReport } from '../src/report/load.js';
import { Store } from '../src/store/store.js';
import { manualClock, rssMb } from './bench-util.js';

/** MonthBench is storage size, memory and report time for a long run. */
export interface MonthBench {
  devices: number;
  trackedDays: number;
  totalDays: number;
  ticksPerSecondSimulated: number;
  dbBytesPerDeviceDay: number;
  rssMbByDay: number[];
  heapMbByDay: number[];
  reportMs: number;
  reportEnergyKwh: number;
}

/**
 * benchMonth tracks `trackedDays` of a 1 Hz, `devices`-GPU run through the real tracker and store on a
 * simulated clock (sampling RSS each day), extends the run to `totalDays` with the same per-minute and
 * per-hour rows in bulk, then times building the report of the whole run.
 */
export async function benchMonth(devices = 8, trackedDays = 2, totalDays = 30): Promise<MonthBench> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-month-'));
  const path = join(dir, 'month.db');
  const store = Store.open(path);
  const start = Date.UTC(2026, 0, 1);
  const clock = manualClock(start);
  const tracker = new Tracker({
    store, runId: 'month', hostname: 'bench', labels: {}, intervalSeconds: 1, pue: { value: 1.1, source: 'bench' },
    intensity: constantProvider(400), market: {}, sampleRetentionSeconds: 600,
    collectors: [createSimCollector({ devices, now: () => clock.monoSeconds() })], clock,
  });
  const rssMbByDay: number[] = [];
  const heapMbByDay: number[] = [];
  const t0 = performance.now();
  await tracker.tick();
  for (let day = 0; day < trackedDays; day++) {
    for (let s = 0; s < 86_400; s++) {
      clock.advance(1);
      await tracker.tick();
    }
    // Collect first: the simulated month runs ~10,000 ticks a second, so without a GC the sample would mostly
    // measure garbage that a 1 Hz agent never accumulates; what is left is what the agent keeps.
    (globalThis as { gc?: () => void }).gc?.();
    rssMbByDay.push(Math.round(rssMb()));
    heapMbByDay.push(Math.round(process.memoryUsage().heapUsed / 1048576 * 10) / 10);
  }
  const ticksPerSecondSimulated = (trackedDays * 86_400) / ((performance.now() - t0) / 1000);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const dbBytesPerDeviceDay = statSync(path).size / (devices * trackedDays);
  extend(store, tracker.run.runKey, start, trackedDays, totalDays);
  store.endRun(tracker.run.runKey, start + totalDays * 86_400_000);
  const r0 = performance.now();
  const report = loadReport(store, store.findRun('month')!);
  const reportMs = performance.now() - r0;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { devices, trackedDays, totalDays, ticksPerSecondSimulated, dbBytesPerDeviceDay, rssMbByDay, heapMbByDay, reportMs, reportEnergyKwh: report.energy.itKwh };
}

function extend(store: Store, runKey: number, start: number, fromDay: number, toDay: number): void {
  const devKeys = store.devicesOf(runKey).map((d) => d.devKey);
  const minute = store.db.prepare('INSERT INTO energy_minute (dev_key, minute, joules, samples) VALUES (?, ?, 18000, 60)');
  const period = store.db.prepare(`INSERT INTO energy_period (run_key, period_start_ms, period_seconds, it_joules, facility_joules,
    intensity_g_per_kwh, co2e_location_g, co2e_market_g, source, quality) VALUES (?, ?, 3600, ?, ?, 400, ?, ?, 'bench', 'assumed')`);
  store.db.transaction(() => {
    const firstMinute = start / 60_000 + fromDay * 1440;
    for (let m = firstMinute; m < start / 60_000 + toDay * 1440; m++) {
      for (const k of devKeys) minute.run(k, m);
    }
    for (let h = start + fromDay * 86_400_000; h < start + toDay * 86_400_000; h += 3_600_000) {
      const it = 18_000 * 60 * devKeys.length;
      period.run(runKey, h, it, it * 1.1, (it * 1.1 / 3.6e6) * 400, (it * 1.1 / 3.6e6) * 400);
    }
    const row = store.db.prepare('SELECT state_json FROM runs WHERE run_key = ?').get(runKey) as { state_json: string };
    const state = JSON.parse(row.state_json) as Record<string, [number, ...unknown[]]>;
    for (const k of devKeys) state[k]![0] += 18_000 * 1440 * (toDay - fromDay);
    store.db.prepare('UPDATE runs SET state_json = ? WHERE run_key = ?').run(JSON.stringify(state), runKey);
  })();
}
