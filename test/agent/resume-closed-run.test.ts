// Review test (risk, a policy question): resuming a run that was *closed* (clean stop, then the same run id again,
// e.g. a SLURM requeue hours later) "recovers" the energy between the two sessions from the hardware counter.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo } from '../../src/types.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const gpu: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'GPU', method: 'counter', collector: 'sim', powerLimitWatts: 700 };
const flat = { name: 'flat', lookup: (t: number) => ({ gramsPerKwh: 100, source: 'flat', periodStartMs: Math.floor(t / 3.6e6) * 3.6e6, periodSeconds: 3600, quality: 'actual' as const }) };

describe('resuming a closed run', () => {
  it('does not add the energy drawn between a clean stop and the resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-closed-'));
    try {
      const path = join(dir, 'w.db');
      const clock = manualClock(T0);
      const opts = (store: Store, queue: number[]) => ({
        store, runId: 'slurm-42', hostname: 'n1', labels: {}, intervalSeconds: 1, pue: { value: 1, source: 'x' }, intensity: flat, market: {},
        sampleRetentionSeconds: 60, clock, collectors: [scriptedCollector([gpu], queue.map((j) => ({ readings: [{ deviceId: 'gpu0', counterJoules: j, counterEpoch: 'boot' }] })))],
      });
      let store = Store.open(path);
      const first = new Tracker(opts(store, [0, 1_000, 1_000]));
      await first.tick();
      clock.advance(10);
      await first.tick();
      await first.stop(0); // the job ended: 1 kJ
      store.close();
      clock.advance(6 * 3600); // requeued 6 h later; another user's job drew 6 h × 400 W on that GPU meanwhile
      store = Store.open(path);
      const second = new Tracker(opts(store, [1_000 + 8_640_000, 1_000 + 8_640_000 + 1_000, 1_000 + 8_640_000 + 1_000]));
      await second.tick();
      clock.advance(10);
      await second.tick();
      const report = await second.stop(0);
      expect(report.energy.itKwh * 3.6e6).toBeCloseTo(2_000, 3);
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
