// A real full filesystem (a small tmpfs) under the database: at start one line and exit 2; mid-run the job goes
// on, nothing measured is lost once space returns, and the exit code is the job's.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, startCli, waitFor } from '../helpers/cli.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'wattprint-tmpfs-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint], { stdio: 'ignore' }).status === 0;
if (!mounted && process.env.CI) throw new Error('cannot mount a tmpfs for the full-disk tests (CI runs them as root)');
if (!mounted) console.warn('skipping the full-disk tests: mounting a tmpfs needs root');

/** fill writes a filler file until the filesystem is full; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=4096'], { stdio: 'ignore' });
  return path;
}

describe.skipIf(!mounted)('a full disk under the database', () => {
  afterAll(() => {
    spawnSync('umount', [mountPoint], { stdio: 'ignore' });
    rmSync(mountPoint, { recursive: true, force: true });
  });
  beforeAll(() => execFileSync('sync'));

  it('refuses to start with one line and exit 2, no internal error', async () => {
    const dir = join(mountPoint, 'start');
    execFileSync('mkdir', ['-p', dir]);
    const filler = fill(dir);
    try {
      const r = await runCli(['run', '--db', join(dir, 'w.db'), '--collectors', 'cpu', '--no-listen', '--zone', 'DE', '--', 'true'], baseEnv());
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^wattprint: .*(full|space)/);
      expect(r.stderr).not.toContain('internal error');
    } finally {
      unlinkSync(filler);
    }
  });

  it('keeps the job running and its energy whole while the disk is full, and stores it when space returns', async () => {
    const dir = join(mountPoint, 'mid');
    execFileSync('mkdir', ['-p', dir]);
    const db = join(dir, 'w.db');
    const reportFile = join(mkdtempSync(join(tmpdir(), 'wattprint-full-report-')), 'r.json');
    const cli = startCli(['run', '--db', db, '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--zone', 'DE', '--report-file', reportFile,
      '--', 'sh', '-c', 'sleep 5; exit 7'], baseEnv());
    await waitFor(() => { try { return readFileSync(db).length > 0; } catch { return false; } }, 10_000, 'database');
    await new Promise((r) => setTimeout(r, 800));
    const filler = fill(dir);
    await new Promise((r) => setTimeout(r, 2_000));
    unlinkSync(filler);
    writeFileSync(join(dir, 'probe'), 'x'); // space is back
    const r = await cli.result;
    expect(r.code).toBe(7);
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).toMatch(/cannot store a tick .*full.*held in memory/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.status).toBe('ended');
    expect(report.gaps).toEqual([]);
    // The modelled CPU and RAM integrate every tick: energy over the whole run, not just the stored part.
    const hourlyJoules = report.hourly.reduce((s: number, h: { itKwh: number }) => s + h.itKwh, 0) * 3.6e6;
    expect(hourlyJoules).toBeCloseTo(report.energy.itKwh * 3.6e6, 6);
    const ram = report.energy.byDevice.find((d: { kind: string }) => d.kind === 'dram');
    expect(ram.avgWatts * report.durationSeconds).toBeCloseTo(ram.kwh * 3.6e6, 6);
    expect(report.durationSeconds).toBeGreaterThan(4.5);
  }, 30_000);
});
