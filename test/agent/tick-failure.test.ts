// Review test: a tick that throws inside the timer loop (SQLITE_BUSY/SQLITE_FULL/SQLITE_IOERR on commit) must not
// crash the process with an unhandled rejection and a stack trace. Needs the build (`npx tsc -p tsconfig.json`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const script = (dbPath: string) => `
import { Tracker } from '${REPO}/dist/agent/tracker.js';
import { Store } from '${REPO}/dist/src/store/store.js';
const store = Store.open(${JSON.stringify(dbPath)});
let commits = 0;
const real = store.commitTick.bind(store);
store.commitTick = (t) => { if (++commits === 3) throw new Error('database or disk is full'); real(t); };
const dev = { id: 'cpu', kind: 'cpu', name: 'CPU', method: 'modelled', collector: 'sim' };
const collector = { name: 'sim', devices: [dev], read: () => ({ readings: [{ deviceId: 'cpu', powerWatts: 10 }] }), close() {} };
const intensity = { name: 'c', lookup: (t) => ({ gramsPerKwh: 100, source: 'c', periodStartMs: Math.floor(t / 3.6e6) * 3.6e6, periodSeconds: 3600, quality: 'actual' }) };
const tracker = new Tracker({ store, runId: 'r', hostname: 'h', labels: {}, intervalSeconds: 0.05, pue: { value: 1, source: 'x' },
  intensity, market: {}, collectors: [collector], sampleRetentionSeconds: 60 });
await tracker.start();
await new Promise((r) => setTimeout(r, 400));
const report = await tracker.stop(0);
console.log('stopped cleanly', report.runId, tracker.snapshot.tick);
store.close();
`;

describe('tick loop error handling', () => {
  it.skipIf(!existsSync(join(REPO, 'dist/agent/tracker.js')))('survives one failed commit in the timer loop and keeps ticking', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-loop-'));
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(join(dir, 'w.db'))], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/stopped cleanly/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('`wattprint run` when a commit fails (e2e)', () => {
  it.skipIf(!existsSync(join(REPO, 'dist/agent/main.js')))('does not die and orphan the job when the database is locked for > busy_timeout', async () => {
    const { startCli, baseEnv, waitFor } = await import('../helpers/cli.js');
    const Database = (await import('better-sqlite3')).default;
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-busy-'));
    const db = join(dir, 'w.db');
    const cli = startCli(['run', '--db', db, '--run-id', 'X', '--no-listen', '--zone', 'DE', '--collectors', 'cpu,ram', '--quiet', '--', 'sleep', '10'], baseEnv());
    try {
      await waitFor(() => existsSync(db), 10_000, 'database');
      await new Promise((r) => setTimeout(r, 1500));
      const other = new Database(db, { timeout: 10_000 });
      other.exec('BEGIN IMMEDIATE'); // e.g. another wattprint process, a backup, an NFS lock hiccup
      await new Promise((r) => setTimeout(r, 6_500));
      other.exec('COMMIT');
      other.close();
      const r = await cli.result;
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(0);
    } finally {
      cli.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
