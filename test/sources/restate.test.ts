import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { csvProvider } from '../../src/intensity/csv-provider.js';
import { tableProvider } from '../../src/intensity/table.js';
import { restatedReport, restateMinutes, storedFacts, type Restatement } from '../../src/sources/restate.js';
import { minutesOf } from '../../src/store/queries.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo } from '../../src/types.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';
import { storeSharedRun } from '../helpers/shared-run.js';

const T0 = Date.UTC(2024, 0, 1, 0, 59); // one minute before 01:00
const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'Test GPU', method: 'counter', collector: 'sim' };
const FILE = `datetime,zone,intensity_g_per_kwh,cfe
2024-01-01T00:00:00Z,DE,300,0.5
2024-01-01T01:00:00Z,DE,100,
`;

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wattprint-restate-'));
  store = Store.open(join(dir, 'w.db'));
  // Tracked live at a flat 400 g/kWh, PUE 1.5: 36 kJ in the 00:00 hour, 72 kJ in the 01:00 hour.
  const clock = manualClock(T0);
  const collector = scriptedCollector([gpu], [
    { readings: [{ deviceId: 'gpu0', counterJoules: 0 }] },
    { readings: [{ deviceId: 'gpu0', counterJoules: 36_000 }] },
    { readings: [{ deviceId: 'gpu0', counterJoules: 108_000 }] },
  ]);
  const tracker = new Tracker({
    store, runId: 'run-1', hostname: 'h', labels: {}, intervalSeconds: 60, pue: { value: 1.5, source: 'set with --pue' },
    zone: 'DE', intensity: constantProvider(400), market: {}, collectors: [collector], sampleRetentionSeconds: 600, clock,
  });
  await tracker.tick();
  clock.advance(60);
  await tracker.tick();
  clock.advance(60);
  await tracker.tick();
  await tracker.stop(0);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('restatement', () => {
  it('recomputes from the stored per-minute energy with a better file and keeps both figures', () => {
    const run = store.findRun('run-1')!;
    const minutes = minutesOf(store.db, run.runKey);
    expect(minutes).toEqual([{ minuteStartMs: T0, itJoules: 36_000 }, { minuteStartMs: T0 + 60_000, itJoules: 72_000 }]);
    const before = storedFacts(store, run);
    // 108 kJ × 1.5 = 0.045 kWh at 400 g/kWh
    expect(before.co2eLocationGrams).toBeCloseTo(0.045 * 400, 12);
    expect(before.intensitySource).toBe('constant (--intensity)');
    const file = csvProvider(parseIntensityCsv(FILE, { fileName: 'de.csv' }), { fallback: tableProvider('DE'), zone: 'DE' });
    const after = restateMinutes(minutes, { pue: 1.5, pueSource: run.pueSource, market: run.market, intensity: file, zone: 'DE' });
    // 00:00: 0.015 kWh × 300 = 4.5 g (market × 0.5 = 2.25 g); 01:00: 0.03 kWh × 100 = 3 g
    expect(after.periods.map((p) => [p.intensityGramsPerKwh, p.co2eLocationGrams, p.co2eMarketGrams])).toEqual([
      [300, expect.closeTo(4.5, 12), expect.closeTo(2.25, 12)], [100, expect.closeTo(3, 12), expect.closeTo(3, 12)],
    ]);
    expect(after.co2eLocationGrams).toBeCloseTo(7.5, 12);
    expect(after.avgGramsPerKwh).toBeCloseTo(7.5 / 0.045, 9);
    const record: Restatement = { createdAtMs: Date.UTC(2024, 0, 2), source: 'csv: de.csv (plain)', before, after };
    store.saveRestatement(run.runKey, record);
    expect(store.latestRestatement(run.runKey)).toEqual(record);

    const report = restatedReport(store, run, record);
    expect(report.restatement).toEqual({
      createdAt: '2024-01-02T00:00:00.000Z', source: 'csv: de.csv (plain)',
      before: { co2eLocationKg: expect.closeTo(0.018, 15), co2eMarketKg: expect.closeTo(0.018, 15), avgGramsPerKwh: expect.closeTo(400, 9), intensitySource: 'constant (--intensity)' },
      after: { co2eLocationKg: expect.closeTo(0.0075, 15), co2eMarketKg: expect.closeTo(0.00525, 15), avgGramsPerKwh: expect.closeTo(7.5 / 0.045, 9), intensitySource: 'csv: de.csv (plain)' },
    });
    expect(report.co2e.locationKg).toBeCloseTo(0.0075, 15);
    expect(report.hourly.map((h) => h.intensityGramsPerKwh)).toEqual([300, 100]);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(108_000, 9);
    // The tracked periods are untouched.
    expect(storedFacts(store, run).co2eLocationGrams).toBeCloseTo(18, 12);
  });

  it('applies a new PUE to facility energy and CO2e', () => {
    const run = store.findRun('run-1')!;
    const after = restateMinutes(minutesOf(store.db, run.runKey), { pue: 1.1, pueSource: 'set with --pue', market: {}, intensity: constantProvider(400) });
    const record: Restatement = { createdAtMs: 1, source: 'constant 400 gCO2e/kWh', before: storedFacts(store, run), after };
    const report = restatedReport(store, run, record);
    expect(report.pue).toBe(1.1);
    expect(report.energy.facilityKwh).toBeCloseTo(0.108 * 1.1 / 3.6, 15);
    expect(report.co2e.locationKg * 1000).toBeCloseTo(0.033 * 400, 12);
  });
});

describe('restatement of a run charged a share of shared devices', () => {
  it('keeps saying that its chart is the devices\' whole power', () => {
    // A 10-minute run on a shared 300 W GPU charged half of it (samples: 300 W; minutes and totals: 150 W).
    const stored = storeSharedRun(store, 'shared', Date.UTC(2024, 0, 1), 600);
    const after = restateMinutes(minutesOf(store.db, stored.runKey), { pue: 1.1, pueSource: 'set with --pue', market: {}, intensity: constantProvider(400) });
    const report = restatedReport(store, stored, { createdAtMs: 1, source: 'constant 400 gCO2e/kWh', before: storedFacts(store, stored), after });
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(90_000, 6);
    expect(report.powerSeries[0]!.watts).toBeCloseTo(300, 6);
    expect(report.powerSeriesScope).toBe('devices');
  });
});
