import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitForRunEnd } from '../../agent/wait-run.js';
import { Store } from '../../src/store/store.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wattprint-wait-'));
  store = Store.open(join(dir, 'w.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function running(runId: string, ownerPid: number): number {
  const run = store.createRun({ runId, hostname: hostname(), startedAtMs: 1_000, pue: 1, pueSource: 'x', intensitySource: 'constant', market: {}, labels: {} });
  store.claimRun(run.runKey, hostname(), ownerPid);
  return run.runKey;
}

describe('report --wait', () => {
  it('waits for a live tracker to close the run', async () => {
    const key = running('slurm-5', process.pid);
    const closer = setTimeout(() => store.endRun(key, 2_000), 400);
    const started = Date.now();
    expect(await waitForRunEnd(store, 'slurm-5', 10)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    clearTimeout(closer);
  });

  it('gives up at the deadline, at once for a run not stored, and at once when its tracker is gone', async () => {
    running('slurm-6', process.pid);
    expect(await waitForRunEnd(store, 'slurm-6', 0.3)).toBe(false);
    expect(await waitForRunEnd(store, 'slurm-404', 30)).toBe(false);
    // A pid far above pid_max: no such process.
    running('slurm-7', 2 ** 22 + 17);
    const started = Date.now();
    expect(await waitForRunEnd(store, 'slurm-7', 30)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
