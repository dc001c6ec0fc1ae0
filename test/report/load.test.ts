// The report's power chart from the stored per-minute energy: downsampled to about 120 points however long the
// run, each point the mean power of its bucket.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/cli.js';
import { storeSharedRun } from '../helpers/shared-run.js';

describe('loadReport power series', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** storedRun is a closed run of one 300 W device over `days`, stored as per-minute energy. */
  function storedRun(days: number, withPeriods = false): Store {
    dir = tempDir('load');
    const store = Store.open(join(dir, 'w.db'));
    const startMs = Date.UTC(2026, 0, 1);
    const run = store.createRun({ runId: 'r', hostname: 'h', startedAtMs: startMs, pue: 1, pueSource: 'test', intensitySource: 'constant', market: {}, labels: {} });
    const dev = store.upsertDevice(run.runKey, { id: 'gpu0', kind: 'gpu', name: 'GPU', method: 'counter', collector: 'nvml' });
    const minutes = [];
    for (let m = 0; m < days * 1440; m++) minutes.push({ devKey: dev.devKey, minute: startMs / 60_000 + m, energyJoules: 300 * 60 });
    const endMs = startMs + days * 86_400_000;
    const periods = [];
    for (let h = 0; withPeriods && h < days * 24; h++) {
      periods.push({ periodStartMs: startMs + h * 3_600_000, periodSeconds: 3600, itJoules: 300 * 3600, facilityJoules: 300 * 3600, intensityGramsPerKwh: 400,
        co2eLocationGrams: 120, co2eMarketGrams: 120, source: 'test', quality: 'actual' as const });
    }
    store.commitTick({ runKey: run.runKey, wallMs: endMs, minutes, periods, devices: [{ devKey: dev.devKey, energyJoules: 300 * days * 86_400, samples: 1 }], co2eLocationGrams: 0, co2eMarketGrams: 0 });
    store.endRun(run.runKey, endMs);
    return store;
  }

  it('charts a 30-day run in about 120 points of its mean power, not one point per minute', () => {
    const store = storedRun(30);
    const report = loadReport(store, store.findRun('r')!);
    store.close();
    expect(report.powerSeries.length).toBeGreaterThan(100);
    expect(report.powerSeries.length).toBeLessThanOrEqual(121);
    for (const p of report.powerSeries) expect(p.watts).toBeCloseTo(300, 6);
    expect(Date.parse(report.powerSeries[1]!.at) - Date.parse(report.powerSeries[0]!.at)).toBe(360 * 60_000);
    expect(report.powerSeriesScope).toBeUndefined(); // nothing attributed: the chart is the run's own power
    expect(renderReport(report, 'table')).toMatch(/\nTotal IT power\n/);
  });

  it('charts a 30-day run from its hourly periods the same way', () => {
    const store = storedRun(30, true);
    const report = loadReport(store, store.findRun('r')!);
    store.close();
    expect(report.powerSeries.length).toBe(120);
    for (const p of report.powerSeries) expect(p.watts).toBeCloseTo(300, 6);
    expect(Date.parse(report.powerSeries[0]!.at)).toBe(Date.UTC(2026, 0, 1));
    expect(Date.parse(report.powerSeries[1]!.at) - Date.parse(report.powerSeries[0]!.at)).toBe(360 * 60_000);
  });

  it('charts every stored minute on request (--full-series)', () => {
    const store = storedRun(2);
    const report = loadReport(store, store.findRun('r')!, [], { fullSeries: true });
    store.close();
    expect(report.powerSeries.length).toBe(2 * 1440);
    for (const p of report.powerSeries) expect(p.watts).toBeCloseTo(300, 6);
  });
  it('says so when an attributed run\'s chart is the shared devices\' whole power, not the power charged to it', () => {
    // A 10-minute `run` on a shared 300 W GPU whose job was charged half of it: the raw samples hold the device's
    // whole power (300 W), the minutes and totals the job's share (150 W). The chart is drawn from the samples (a
    // short run), so the report must say it is the devices' whole power and what share the run was charged.
    dir = tempDir('load');
    const store = Store.open(join(dir, 'w.db'));
    const seconds = 600;
    storeSharedRun(store, 'r', Date.UTC(2026, 0, 1), seconds);
    const report = loadReport(store, store.findRun('r')!);
    store.close();
    expect(report.energy.byDevice[0]!.kwh * 3.6e6).toBeCloseTo(150 * seconds, 3);
    expect(report.energy.byDevice[0]!.nodeKwh * 3.6e6).toBeCloseTo(300 * seconds, 3);
    expect(report.powerSeries.length).toBeGreaterThan(1);
    for (const p of report.powerSeries) expect(p.watts).toBeCloseTo(300, 6);
    expect(report.powerSeriesScope).toBe('devices');
    expect(renderReport(report, 'table')).toContain('Total IT power of the devices (whole devices, shared: this run was charged 50% of their IT energy)');
  });
});
