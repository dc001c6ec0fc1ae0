import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import type { IntensityProvider } from '../../src/intensity/types.js';
import { Integrator } from '../../src/ledger/integrator.js';
import { Ledger, type LedgerBatch } from '../../src/ledger/ledger.js';
import { MINUTE_MS, splitByTime } from '../../src/ledger/split.js';
import { replayTrace } from '../../src/sources/replay.js';
import { parseTrace } from '../../src/sources/replay-parse.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo, Reading } from '../../src/types.js';
import { hourlyProvider, manualClock, scriptedCollector } from '../helpers/scripted.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 10, 58, 30); // 90 s before an hour boundary
const HOURS = { [Date.UTC(2026, 2, 1, 10)]: 300, [Date.UTC(2026, 2, 1, 11)]: 120, [Date.UTC(2026, 2, 1, 12)]: 450 };

function ledger(intensity: IntensityProvider = hourlyProvider(HOURS), extra: Partial<ConstructorParameters<typeof Ledger>[0]> = {}): Ledger {
  return new Ledger({ intervalSeconds: 30, startMs: T0, accounting: { pue: 1.25, market: { cfe: 0.2 }, intensity }, ...extra });
}

describe('Ledger: integrate, split, account (values chosen so no two errors can cancel)', () => {
  it('splits a counter delta and a trapezoid across a minute and an hour boundary, each hour at its own intensity', () => {
    const l = ledger();
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'counter', powerLimitWatts: 700 });
    l.addDevice({ id: 'cpu', kind: 'cpu', method: 'modelled' });
    l.ingest({ deviceId: 'gpu0', counterJoules: 1_000 }, 0, T0);
    l.ingest({ deviceId: 'cpu', powerWatts: 100 }, 0, T0);
    // 10:58:30 → 11:00:30 (120 s): GPU 48 000 J (400 W), CPU trapezoid 100 → 140 W = 14 400 J
    l.ingest({ deviceId: 'gpu0', counterJoules: 49_000 }, 120, T0 + 120_000);
    l.ingest({ deviceId: 'cpu', powerWatts: 140 }, 120, T0 + 120_000);
    const b = l.takeBatch();
    const perMinute = (id: string) => b.minutes.filter((m) => m.deviceId === id).map((m) => [m.minuteStartMs - T0 + 30_000, m.energyJoules]);
    // Pieces by time: 30 s of 120 in 10:58, 60 s in 10:59, 30 s in 11:00.
    expect(perMinute('gpu0')).toEqual([[0, 12_000], [60_000, 24_000], [120_000, 12_000]]);
    expect(perMinute('cpu')).toEqual([[0, 3_600], [60_000, 7_200], [120_000, 3_600]]);
    const hours = b.periods.sort((x, y) => x.periodStartMs - y.periodStartMs);
    expect(hours.map((p) => p.itJoules)).toEqual([12_000 + 24_000 + 3_600 + 7_200, 12_000 + 3_600]);
    // facility = IT × 1.25; location = facility kWh × g/kWh; market = × (1 − 0.2)
    expect(hours[0]!.co2eLocationGrams).toBeCloseTo((46_800 * 1.25 / 3.6e6) * 300, 12);
    expect(hours[1]!.co2eLocationGrams).toBeCloseTo((15_600 * 1.25 / 3.6e6) * 120, 12);
    expect(hours[1]!.co2eMarketGrams).toBeCloseTo((15_600 * 1.25 / 3.6e6) * 120 * 0.8, 12);
    expect(l.totals.itJoules).toBe(62_400);
    expect(l.totals.facilityJoules).toBeCloseTo(62_400 * 1.25, 9);
    expect(l.account('cpu')!.powerWatts).toBe(140);
    expect(l.account('gpu0')!.powerWatts).toBe(400);
  });

  it('refuses implausible readings, counts them by reason, and continues from the last good reading', () => {
    const l = ledger();
    l.addDevice({ id: 'dram-0', kind: 'dram', method: 'counter' });
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'sampled', powerLimitWatts: 300 });
    l.ingest({ deviceId: 'dram-0', counterJoules: 100, counterRangeJoules: 65_532 }, 0, T0);
    l.ingest({ deviceId: 'gpu0', powerWatts: 250 }, 0, T0);
    // RAPL energy_uj of 99999999999999999999 µJ: beyond max_energy_range_uj
    l.ingest({ deviceId: 'dram-0', counterJoules: 99_999_999_999_999.99, counterRangeJoules: 65_532 }, 1, T0 + 1000);
    l.ingest({ deviceId: 'gpu0', powerWatts: 1e12 }, 1, T0 + 1000);
    l.ingest({ deviceId: 'gpu0', powerWatts: Number.NaN }, 2, T0 + 2000);
    l.ingest({ deviceId: 'gpu0', powerWatts: -5 }, 3, T0 + 3000);
    // A step no DRAM can make in 1 s (50 kJ) though inside the counter's range
    l.ingest({ deviceId: 'dram-0', counterJoules: 50_100, counterRangeJoules: 65_532 }, 4, T0 + 4000);
    l.ingest({ deviceId: 'dram-0', counterJoules: 120, counterRangeJoules: 65_532 }, 5, T0 + 5000);
    l.ingest({ deviceId: 'gpu0', powerWatts: 250 }, 5, T0 + 5000);
    l.takeBatch();
    expect(l.takeDropped().map((d) => `${d.deviceId}:${d.reason}`)).toEqual(['dram-0:absurd', 'gpu0:absurd', 'gpu0:nan', 'gpu0:negative', 'dram-0:absurd']);
    expect(l.account('dram-0')!.energyJoules).toBe(20);
    expect(l.account('gpu0')!.energyJoules).toBe(1250);
  });

  it('rolls a batch back exactly: the next batch covers both intervals', () => {
    const l = ledger();
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'counter' });
    l.ingest({ deviceId: 'gpu0', counterJoules: 0 }, 0, T0);
    l.takeBatch();
    const cp = l.checkpoint();
    l.ingest({ deviceId: 'gpu0', counterJoules: 300 }, 1, T0 + 1000);
    l.takeBatch();
    l.rollback(cp);
    expect(l.totals.itJoules).toBe(0);
    l.ingest({ deviceId: 'gpu0', counterJoules: 700 }, 2, T0 + 2000);
    const b = l.takeBatch();
    expect(b.minutes).toEqual([{ deviceId: 'gpu0', minuteStartMs: T0 - 30_000, energyJoules: 700 }]);
    expect(l.totals.itJoules).toBe(700);
  });
});

describe('Ledger: gaps on each device\'s own interval, and held edges', () => {
  it('does not call a device read every 60 s silent, but still sees a true silence of it', () => {
    const l = ledger(hourlyProvider(HOURS), { intervalSeconds: 1 });
    l.addDevice({ id: 'cpu', kind: 'cpu', method: 'sampled', intervalSeconds: 60 });
    for (let s = 0; s <= 600; s += 60) l.ingest({ deviceId: 'cpu', powerWatts: 80 }, s, T0 + s * 1000);
    l.ingest({ deviceId: 'cpu', powerWatts: 80 }, 1200, T0 + 1_200_000); // 600 s silent: > 5 × 60 s
    const b = l.takeBatch();
    expect(l.account('cpu')!.energyJoules).toBe(600 * 80);
    expect(b.gaps.map((g) => [g.startMs - T0, g.endMs - T0, g.reason])).toEqual([[600_000, 1_200_000, 'no readings for more than 5 intervals: not bridged']]);
  });

  it('holds a sampled device\'s first and last samples to the run\'s edges, within the gap limit', () => {
    const l = ledger(hourlyProvider(HOURS), { intervalSeconds: 1 });
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'sampled' });
    // nvidia-smi answers 1.5 s after the start; the job ends 0.5 s after the last sample: 6 s at 250 W
    for (let s = 1.5; s <= 5.5; s += 1) l.ingest({ deviceId: 'gpu0', powerWatts: 250 }, s, T0 + s * 1000);
    l.close(T0 + 6000);
    const b = l.takeBatch();
    expect(l.account('gpu0')!.energyJoules).toBe(6 * 250);
    expect(b.gaps.map((g) => [g.reason.slice(0, 10), g.recoveredJoules])).toEqual([['edge, held', 375], ['edge, held', 125]]);
  });

  it('does not hold an edge longer than the gap limit: a late first sample leaves a gap', () => {
    const l = ledger(hourlyProvider(HOURS), { intervalSeconds: 1 });
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'sampled' });
    l.ingest({ deviceId: 'gpu0', powerWatts: 250 }, 9, T0 + 9000);
    l.ingest({ deviceId: 'gpu0', powerWatts: 250 }, 10, T0 + 10_000);
    l.close(T0 + 30_000);
    const b = l.takeBatch();
    expect(l.account('gpu0')!.energyJoules).toBe(250);
    expect(b.gaps.map((g) => [g.startMs - T0, g.endMs - T0])).toEqual([[0, 9000], [10_000, 30_000]]);
  });
});

describe('splitByTime: property', () => {
  it('gives aligned, non-negative pieces that sum exactly to the total, boundary-ending intervals included', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const startMs = T0 + Math.floor(rand() * 10 * MINUTE_MS);
      // Half the intervals end exactly on a minute boundary.
      const endMs = i % 2 === 0 ? (Math.floor(startMs / MINUTE_MS) + 1 + Math.floor(rand() * 5)) * MINUTE_MS : startMs + 1 + Math.floor(rand() * 5 * MINUTE_MS);
      const energyJoules = rand() * 1e4;
      const pieces = splitByTime(startMs, endMs, energyJoules);
      let sum = 0;
      for (const p of pieces) {
        expect(p.energyJoules).toBeGreaterThanOrEqual(0);
        expect(p.bucketStartMs % MINUTE_MS).toBe(0);
        expect(p.bucketStartMs).toBeGreaterThanOrEqual(Math.floor(startMs / MINUTE_MS) * MINUTE_MS);
        expect(p.bucketStartMs).toBeLessThan(endMs);
        sum += p.energyJoules;
      }
      expect(sum).toBe(energyJoules);
    }
  });
});

describe('Integrator: resume ambiguity at the exact boundary', () => {
  const range = 262_144;
  // A CPU package bounded at 1 kW, down for 300 s: at most 300 kJ, i.e. the delta seen plus one more range.
  const resumeWith = (deltaJoules: number) => {
    const integ = new Integrator({ intervalSeconds: 1, maxPowerWatts: () => 1_000 });
    integ.restore('package-0', { counterJoules: 1_000, counterEpoch: 'boot', wallMs: T0 });
    return integ.ingest({ deviceId: 'package-0', counterJoules: 1_000 + deltaJoules, counterRangeJoules: range, counterEpoch: 'boot' }, 'counter', 0, T0 + 300_000)!;
  };
  it('is ambiguous when one more wrap would exactly fit the device\'s ceiling', () => {
    expect(resumeWith(300_000 - range).event).toBe('gap');
    expect(resumeWith(300_000 - range - 1).event).toBe('gap');
  });
  it('recovers when one more wrap would exceed it by a joule', () => {
    expect(resumeWith(300_000 - range + 1)).toMatchObject({ event: 'recovered', energyJoules: 300_000 - range + 1 });
  });
});

describe('one ledger for live and replay', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-ledger-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores, live, exactly the per-minute energy replay computes from the same readings', async () => {
    const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'G', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
    const smi: DeviceInfo = { id: 'gpu1', kind: 'gpu', name: 'S', method: 'sampled', collector: 'sim', powerLimitWatts: 700 };
    // 14 ticks 10 s apart across 10:58:30 → 11:00:40; the sampled GPU misses one tick (a late nvidia-smi line).
    const ticks: Reading[][] = Array.from({ length: 14 }, (_, i) => [
      { deviceId: 'gpu0', counterJoules: 5_000 + i * 3_217.25 + (i % 3) * 11.5 },
      ...(i !== 4 ? [{ deviceId: 'gpu1', powerWatts: 180 + ((i * 37) % 90) + 0.125 * i }] : []),
    ]);
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = scriptedCollector([gpu, smi], [...ticks.map((readings) => ({ readings })), { readings: [] }]);
    const tracker = new Tracker({
      store, runId: 'live', hostname: 'h', labels: {}, intervalSeconds: 10, pue: { value: 1.1, source: 'flag' },
      intensity: hourlyProvider(HOURS), market: {}, collectors: [collector], sampleRetentionSeconds: 600, clock,
    });
    for (let i = 0; i < ticks.length; i++) {
      if (i > 0) clock.advance(10);
      await tracker.tick();
    }
    await tracker.stop(0);
    const live = store.db.prepare(`SELECT d.device_id AS deviceId, m.minute * 60000 AS minuteStartMs, m.joules AS energyJoules
      FROM energy_minute m JOIN devices d ON d.dev_key = m.dev_key ORDER BY d.device_id, m.minute`).all();
    store.close();

    const csv = ['timestamp,device,watts', ...ticks.flatMap((readings, i) => readings.filter((r) => r.powerWatts !== undefined).map((r) => `${(T0 + i * 10_000) / 1000},${r.deviceId},${r.powerWatts}`))];
    const counters = ['timestamp,device,joules_total', ...ticks.map((readings, i) => `${(T0 + i * 10_000) / 1000},gpu0,${readings[0]!.counterJoules}`)];
    const settings = { runId: 'r', fileName: 't.csv', pue: { value: 1.1, source: 'flag' }, intensity: hourlyProvider(HOURS), market: {}, intervalSeconds: 10 };
    const sampled = replayTrace(parseTrace(csv.join('\n'), 'w.csv'), settings);
    const counted = replayTrace(parseTrace(counters.join('\n'), 'c.csv'), settings);
    const replayed = [...counted.deviceMinutes, ...sampled.deviceMinutes].sort((a, b) => a.deviceId.localeCompare(b.deviceId) || a.minuteStartMs - b.minuteStartMs);
    expect(live.length).toBeGreaterThan(3);
    expect(live).toEqual(replayed);
  });

  it('replays a trace of mixed sampling intervals (GPU 1 s, CPU 60 s, 1 h) giving each device its energy within 1%', () => {
    const start = Date.UTC(2026, 2, 1, 10) / 1000;
    const lines = ['timestamp,device,watts'];
    for (let s = 0; s <= 3600; s += 1) lines.push(`${start + s},gpu0,${300 + (s % 2)}`);
    for (let s = 0; s <= 3600; s += 60) lines.push(`${start + s},cpu,95`);
    const r = replayTrace(parseTrace(lines.join('\n'), 'mixed.csv'), {
      runId: 'r', fileName: 'mixed.csv', pue: { value: 1, source: 'flag' }, intensity: hourlyProvider(HOURS), market: {},
    });
    const kwh = Object.fromEntries(r.report.energy.byDevice.map((d) => [d.id, d.kwh * 3.6e6]));
    expect(kwh.gpu0! / (300.5 * 3600)).toBeCloseTo(1, 2);
    expect(kwh.cpu! / (95 * 3600)).toBeCloseTo(1, 2);
    expect(r.report.gaps).toEqual([]);
    expect(r.deviceIntervalSeconds).toEqual(new Map([['gpu0', 1], ['cpu', 60]]));
  });
});

/** batchJoules sums a batch's minute pieces (helper kept for readability of failures). */
export function batchJoules(b: LedgerBatch): number {
  return b.minutes.reduce((s, m) => s + m.energyJoules, 0);
}
void H;

describe('Ledger: a restart of the tracker is always recorded', () => {
  it('says how the downtime was covered: recovered from a counter, bridged between samples, or not bridged', () => {
    const l = new Ledger({ intervalSeconds: 1, startMs: T0, accounting: { pue: 1, market: {}, intensity: hourlyProvider(HOURS) } });
    l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'counter' }, { counterJoules: 100, counterEpoch: 'b', wallMs: T0 - 3000 });
    l.addDevice({ id: 'smi', kind: 'gpu', method: 'sampled' }, { powerWatts: 200, wallMs: T0 - 3000 });
    l.addDevice({ id: 'cpu', kind: 'cpu', method: 'modelled' }, { powerWatts: 50, wallMs: T0 - 60_000 });
    l.ingest({ deviceId: 'gpu0', counterJoules: 1000, counterEpoch: 'b' }, 0, T0);
    l.ingest({ deviceId: 'smi', powerWatts: 220 }, 0, T0);
    l.ingest({ deviceId: 'cpu', powerWatts: 50 }, 0, T0);
    const reasons = l.takeBatch().gaps.map((g) => [g.deviceId, g.reason.split(':')[0] + ': ' + g.reason.split(': ')[1]?.split(' ').slice(0, 3).join(' '), g.recoveredJoules]);
    expect(reasons).toEqual([
      ['gpu0', 'tracker restarted: the downtime\'s energy', 900],
      ['smi', 'tracker restarted: the downtime bridged', 630],
      ['cpu', 'tracker restarted: no readings in', undefined],
    ]);
  });
});
