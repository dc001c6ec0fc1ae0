import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker, type TrackerOptions } from '../../agent/tracker.js';
import { Integrator } from '../../src/ledger/integrator.js';
import type { IntensityProvider, IntensityValue } from '../../src/intensity/types.js';
import { loadReport } from '../../src/report/load.js';
import { restatedReport, restateMinutes, storedFacts } from '../../src/sources/restate.js';
import { minutesOf } from '../../src/store/queries.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo } from '../../src/types.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'Test GPU', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
/** A device big enough that the round kWh-per-minute figures below pass the ledger's plausibility ceiling. */
const rack: DeviceInfo = { ...gpu, name: 'Test rack', powerLimitWatts: 100_000 };
const cpu: DeviceInfo = { id: 'cpu', kind: 'cpu', name: 'Test CPU', method: 'modelled', collector: 'sim' };

/** flat answers a constant g/kWh per UTC hour. */
function flat(gramsPerKwh: number, name = 'flat'): IntensityProvider {
  return {
    name,
    lookup(atMs: number): IntensityValue {
      const periodStartMs = Math.floor(atMs / 3_600_000) * 3_600_000;
      return { gramsPerKwh, source: name, periodStartMs, periodSeconds: 3600, quality: 'actual' };
    },
  };
}

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-integrity-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function options(store: Store, overrides: Partial<TrackerOptions>): TrackerOptions {
  return {
    store, runId: 'run-1', hostname: 'node1', labels: {}, intervalSeconds: 10,
    pue: { value: 1.5, source: 'flag --pue' }, intensity: flat(400), market: {}, collectors: [], sampleRetentionSeconds: 600,
    ...overrides,
  };
}

const sumHourlyJoules = (r: { hourly: { itKwh: number }[] }) => r.hourly.reduce((s, h) => s + h.itKwh, 0) * 3.6e6;

describe('resume after kill -9', () => {
  it('keeps the total of a device that is not probed again on resume (runs.state_json is rewritten per tick)', async () => {
    const path = join(dir, 'w.db');
    const clock = manualClock(T0 + 60_000);
    let store = Store.open(path);
    const first = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([gpu, cpu], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 1_000, counterEpoch: 'b' }, { deviceId: 'cpu', powerWatts: 100 }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 10_000, counterEpoch: 'b' }, { deviceId: 'cpu', powerWatts: 100 }] },
      ])],
    }));
    await first.tick();
    clock.advance(10);
    await first.tick(); // gpu0 9 kJ, cpu 1 kJ committed
    store.close(); // kill -9
    clock.advance(5);
    store = Store.open(path);
    // On restart NVML fails to initialise (or --gpus changed): only the CPU model is tracked.
    const second = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([cpu], [
        { readings: [{ deviceId: 'cpu', powerWatts: 100 }] },
        { readings: [{ deviceId: 'cpu', powerWatts: 100 }] },
      ])],
    }));
    await second.tick();
    clock.advance(10);
    const report = await second.stop(0);
    const gpuRow = report.energy.byDevice.find((d) => d.id === 'gpu0')!;
    expect(gpuRow.kwh * 3.6e6).toBeCloseTo(9_000, 6);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(sumHourlyJoules(report), 6);
    store.close();
  });
});

describe('a tick whose commit fails', () => {
  it('does not count energy in totals that never reached energy_minute / energy_period', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0 + 60_000);
    const tracker = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([gpu], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 0, counterEpoch: 'b' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 5_000, counterEpoch: 'b' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 10_000, counterEpoch: 'b' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 10_000, counterEpoch: 'b' }] },
      ])],
    }));
    await tracker.tick();
    const real = store.commitTick.bind(store);
    let fail = true;
    store.commitTick = (t) => {
      if (fail) { fail = false; throw new Error('SQLITE_BUSY: database is locked'); }
      real(t);
    };
    clock.advance(10);
    await expect(tracker.tick()).rejects.toThrow(/SQLITE_BUSY/);
    clock.advance(10);
    await tracker.tick();
    const report = await tracker.stop(0);
    // Whatever the policy (retry, or carry the tick's minutes over), the device total and the per-hour
    // energy must agree: here the total says 10 kJ and energy_period only has 5 kJ.
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(sumHourlyJoules(report), 6);
    expect(minutesOf(store.db, tracker.run.runKey).reduce((s, m) => s + m.itJoules, 0)).toBeCloseTo(10_000, 6);
    store.close();
  });
});

describe('hourly rows', () => {
  it('an hour whose intensity changed mid-hour (API arrives, forecast → actual) reports co2e consistent with its intensity and source', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0 + 60_000);
    let value = 500; // fallback (table) at first
    const provider: IntensityProvider = {
      name: 'api',
      lookup(atMs) {
        const periodStartMs = Math.floor(atMs / 3_600_000) * 3_600_000;
        return value === 500
          ? { gramsPerKwh: 500, source: 'table (fallback: api has no value)', periodStartMs, periodSeconds: 3600, quality: 'annual' }
          : { gramsPerKwh: 100, source: 'api', periodStartMs, periodSeconds: 3600, quality: 'actual' };
      },
    };
    const tracker = new Tracker(options(store, {
      clock, intensity: provider, collectors: [scriptedCollector([rack], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 0, counterEpoch: 'b' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 3_600_000, counterEpoch: 'b' }] }, // 1 kWh at 500
        { readings: [{ deviceId: 'gpu0', counterJoules: 7_200_000, counterEpoch: 'b' }] }, // 1 kWh at 100
        { readings: [{ deviceId: 'gpu0', counterJoules: 7_200_000, counterEpoch: 'b' }] },
      ])],
    }));
    await tracker.tick();
    clock.advance(600);
    await tracker.tick();
    value = 100; // the API answered
    clock.advance(600);
    await tracker.tick();
    const report = await tracker.stop(0);
    expect(report.hourly).toHaveLength(1);
    const h = report.hourly[0]!;
    // The row says 100 g/kWh, 'api', 'actual' while its CO2e is 1.5 kWh×500 + 1.5 kWh×100 = 900 g.
    expect(h.co2eLocationKg).toBeCloseTo((h.facilityKwh * h.intensityGramsPerKwh) / 1000, 9);
    store.close();
  });
});

describe('restatement and later energy', () => {
  it('a run resumed after a restatement reports the CO2e of all its energy', async () => {
    const path = join(dir, 'w.db');
    const clock = manualClock(T0 + 60_000);
    let store = Store.open(path);
    const gpuScript = (from: number) => scriptedCollector([rack], [
      { readings: [{ deviceId: 'gpu0', counterJoules: from, counterEpoch: 'b' }] },
      { readings: [{ deviceId: 'gpu0', counterJoules: from + 3_600_000, counterEpoch: 'b' }] },
      { readings: [{ deviceId: 'gpu0', counterJoules: from + 3_600_000, counterEpoch: 'b' }] },
    ]);
    const first = new Tracker(options(store, { clock, collectors: [gpuScript(0)] }));
    await first.tick();
    clock.advance(60);
    await first.tick();
    await first.stop(0);
    // `wattprint report run-1 --restate --intensity 200`
    const run = store.findRun('run-1')!;
    const after = restateMinutes(minutesOf(store.db, run.runKey), { pue: run.pue, pueSource: run.pueSource, market: run.market, intensity: flat(200, 'constant') });
    store.saveRestatement(run.runKey, { createdAtMs: T0, source: 'constant 200', before: storedFacts(store, run), after });
    store.close();
    // SLURM requeues the job: same run id, one more kWh (with a 1 s downtime: the counter moved by then).
    clock.advance(1);
    store = Store.open(path);
    const second = new Tracker(options(store, { clock, collectors: [gpuScript(3_600_000)] }));
    await second.tick();
    clock.advance(60);
    await second.tick();
    await second.stop(0);
    const ended = store.findRun('run-1')!;
    // `wattprint report run-1` uses the latest restatement
    const report = restatedReport(store, ended, store.latestRestatement(ended.runKey)!);
    expect(report.energy.itKwh).toBeCloseTo(2, 6);
    // The restatement covers only the first kWh, so the tracked figures hold for both: 2 kWh × 1.5 × 400 g.
    expect(report.co2e.locationKg).toBeCloseTo(2 * 1.5 * 0.4, 12);
    store.close();
  });
});

describe('resume over a RAPL wrap', () => {
  const range = 262_143.328850; // max_energy_range_uj of a common package zone, in J
  it('recovers energy across downtime when the counter wrapped once (as a live tick would)', () => {
    // A CPU package bounded at 1 kW cannot wrap twice in 60 s (60 kJ < one 262 kJ range): unambiguous.
    const integ = new Integrator({ intervalSeconds: 1, maxPowerWatts: () => 1_000 });
    integ.restore('package-0', { counterJoules: 260_000, counterEpoch: 'boot', wallMs: T0 });
    // 60 s down at 100 W: 6 kJ, the counter wrapped once to 3 856.7 J
    const c = integ.ingest({ deviceId: 'package-0', counterJoules: 260_000 + 6_000 - range, counterRangeJoules: range, counterEpoch: 'boot' }, 'counter', 5, T0 + 60_000);
    expect(c).toMatchObject({ event: 'recovered' });
    expect(c!.energyJoules).toBeCloseTo(6_000, 6);
  });

  it('does not claim an exact recovery when the downtime is long enough for the counter to wrap unseen', () => {
    const integ = new Integrator({ intervalSeconds: 1 });
    integ.restore('package-0', { counterJoules: 1_000, counterEpoch: 'boot', wallMs: T0 });
    // 1 h down at 200 W = 720 kJ = 2.75 ranges; the counter reads 1 000 + 720 000 − 2 × range
    const cur = 1_000 + 720_000 - 2 * range;
    const c = integ.ingest({ deviceId: 'package-0', counterJoules: cur, counterRangeJoules: range, counterEpoch: 'boot' }, 'counter', 5, T0 + 3_600_000);
    expect(c?.event).not.toBe('recovered'); 
  });
});

describe('Prometheus counters across resume', () => {
  it('wattprint_facility_energy_joules_total never goes backwards when a run resumes with another --pue', async () => {
    const path = join(dir, 'w.db');
    const clock = manualClock(T0 + 60_000);
    let store = Store.open(path);
    const first = new Tracker(options(store, {
      clock, pue: { value: 1.5, source: 'flag' }, collectors: [scriptedCollector([rack], [
        { readings: [{ deviceId: 'gpu0', counterJoules: 0, counterEpoch: 'b' }] },
        { readings: [{ deviceId: 'gpu0', counterJoules: 100_000, counterEpoch: 'b' }] },
      ])],
    }));
    await first.tick();
    clock.advance(60);
    await first.tick();
    const before = first.snapshot.facilityEnergyJoules;
    expect(before).toBe(150_000);
    store.close(); // kill -9; restarted by a unit file whose --pue was corrected to 1.1
    store = Store.open(path);
    const second = new Tracker(options(store, { clock, pue: { value: 1.1, source: 'flag' }, collectors: [scriptedCollector([gpu], [])] }));
    expect(second.snapshot.facilityEnergyJoules).toBe(before);
    store.close();
  });
});

describe('readings refused at the ledger\'s door', () => {
  it('never become energy, are counted by reason under their collector, and the report says how many', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0 + 60_000);
    const dram: DeviceInfo = { id: 'dram-0', kind: 'dram', name: 'DRAM', method: 'counter', collector: 'sim' };
    const range = 65_532.000_000;
    const tracker = new Tracker(options(store, {
      clock, collectors: [scriptedCollector([dram], [
        { readings: [{ deviceId: 'dram-0', counterJoules: 100, counterRangeJoules: range }] },
        // RAPL energy_uj read as 99999999999999999999 µJ: 1e14 J, beyond the counter's own range
        { readings: [{ deviceId: 'dram-0', counterJoules: 99_999_999_999_999.99, counterRangeJoules: range }] },
        { readings: [{ deviceId: 'dram-0', counterJoules: 160, counterRangeJoules: range }] },
        { readings: [{ deviceId: 'dram-0', counterJoules: 160, counterRangeJoules: range }] },
      ])],
    }));
    await tracker.tick();
    clock.advance(10);
    await tracker.tick();
    clock.advance(10);
    await tracker.tick();
    expect(tracker.snapshot.collectors[0]!.errorsTotal).toEqual({ absurd: 1 });
    const report = await tracker.stop(0);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(60, 9);
    expect(report.notes).toContain('1 reading dropped by sim: absurd 1 (never stored as energy)');
    store.close();
  });
});
