import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo } from '../../src/types.js';
import { hourlyProvider, manualClock, scriptedCollector } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 2, 1, 10, 59, 0);
const HOURS = { [Date.UTC(2026, 2, 1, 10)]: 400, [Date.UTC(2026, 2, 1, 11)]: 100 };

function ledger(): Ledger {
  const l = new Ledger({ intervalSeconds: 10, startMs: T0, accounting: { pue: 1.5, market: {}, intensity: hourlyProvider(HOURS) } });
  l.addDevice({ id: 'gpu0', kind: 'gpu', method: 'counter' });
  l.ingest({ deviceId: 'gpu0', counterJoules: 0 }, 0, T0);
  return l;
}

/** tick feeds the GPU counter at second s of the run (300 W until 60 s, then 100 W) and takes the batch. */
function tick(l: Ledger, s: number): void {
  const joules = s <= 60 ? 300 * s : 300 * 60 + 100 * (s - 60);
  l.ingest({ deviceId: 'gpu0', counterJoules: joules }, s, T0 + s * 1000);
  l.takeBatch();
}

describe('PhaseBook: phase energy split off the run by time', () => {
  it('charges a window the energy inside it, across an hour boundary, each part at its own hour\'s intensity', () => {
    const l = ledger();
    l.startPhase('p1', 'train', T0 + 15_000);
    for (const s of [10, 20, 30, 40, 50, 60, 70, 80]) tick(l, s);
    l.endPhase('p1', T0 + 75_000);
    tick(l, 90);
    const p = l.phases.get('p1')!;
    // 15 s → 60 s at 300 W (10:59) + 60 s → 75 s at 100 W (11:00)
    expect(p.itJoules).toBeCloseTo(45 * 300 + 15 * 100, 9);
    expect(p.facilityJoules).toBeCloseTo((45 * 300 + 15 * 100) * 1.5, 9);
    expect(p.co2eLocationGrams).toBeCloseTo((45 * 300 * 1.5 / 3.6e6) * 400 + (15 * 100 * 1.5 / 3.6e6) * 100, 12);
  });

  it('places edges that arrive late (after the ticks covering them) exactly, and nests and overlaps windows', () => {
    const l = ledger();
    for (const s of [10, 20, 30, 40]) tick(l, s);
    l.startPhase('outer', 'train', T0 + 5_000); // told 35 s late
    l.startPhase('inner', 'eval', T0 + 12_500);
    tick(l, 50);
    l.endPhase('inner', T0 + 27_500); // told 22.5 s late
    tick(l, 60);
    l.endPhase('outer', T0 + 55_000);
    tick(l, 70);
    expect(l.phases.get('outer')!.itJoules).toBeCloseTo(50 * 300, 9);
    expect(l.phases.get('inner')!.itJoules).toBeCloseTo(15 * 300, 9);
  });

  it('rolls phase energy back with a failed batch', () => {
    const l = ledger();
    l.startPhase('p', 'train', T0);
    tick(l, 10);
    const cp = l.checkpoint();
    l.ingest({ deviceId: 'gpu0', counterJoules: 6000 }, 20, T0 + 20_000);
    l.takeBatch();
    l.rollback(cp);
    expect(l.phases.get('p')!.itJoules).toBe(3000);
    tick(l, 20);
    expect(l.phases.get('p')!.itJoules).toBe(6000);
  });
});

describe('the job\'s account survives a restart of the tracker', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-phases-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps work, progress and an open phase across kill -9 and a resume with the same run id', async () => {
    const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'G', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
    const path = join(dir, 'w.db');
    const clock = manualClock(T0);
    const opts = (store: Store, readings: number[]) => ({
      store, runId: 'job', hostname: 'h', labels: {}, intervalSeconds: 10, pue: { value: 1.5, source: 'flag' },
      intensity: hourlyProvider(HOURS), market: {}, sampleRetentionSeconds: 600, clock,
      collectors: [scriptedCollector([gpu], readings.map((j) => ({ readings: [{ deviceId: 'gpu0', counterJoules: j, counterEpoch: 'b' }] })))],
    });
    let store = Store.open(path);
    const first = new Tracker(opts(store, [0, 3000]));
    await first.tick();
    first.startPhase('p1', 'train', T0);
    first.reportWork({ steps: 5, tokens: 5000 });
    first.setProgress(0.25, 'test');
    clock.advance(10);
    await first.tick();
    store.close(); // kill -9: no stop, the run stays 'running'
    store = Store.open(path);
    const second = new Tracker(opts(store, [4500, 6000, 6000]));
    expect(() => second.reportWork({ steps: 4 })).toThrow(/cumulative/);
    clock.advance(5);
    await second.tick(); // 5 s of downtime recovered from the counter: 1500 J
    clock.advance(5);
    await second.tick();
    second.reportWork({ steps: 10, tokens: 10_000 });
    second.endPhase('p1', clock.wallMs());
    const report = await second.stop(0);
    expect(report.work).toEqual({ steps: 10, tokens: 10_000 });
    expect(report.phases).toHaveLength(1);
    expect(report.phases![0]!.itKwh * 3.6e6).toBeCloseTo(6000, 6);
    expect(report.gaps.map((g) => g.recoveredJoules)).toEqual([1500]);
    expect(report.phases![0]!.work).toEqual({ steps: 10, tokens: 10_000 });
    expect(report.efficiency!.itJoulesPerToken).toBeCloseTo(0.6, 12);
    store.close();
  });
});
