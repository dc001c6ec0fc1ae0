import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv as cleanEnv, runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';

const node = process.execPath;
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  dir = tempDir('e2e-start-within');
  writeTree(dir, { 'sys/class/.keep': '' });
  env = cleanEnv({ XDG_DATA_HOME: join(dir, 'data'), TZ: 'UTC' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * intensityAroundNow writes a plain intensity file of one-second periods around the real clock: 500 g/kWh,
 * except 100 from `lowFromS` to `lowToS` seconds ahead. A 1 s job then has its lowest-carbon start there.
 */
function intensityAroundNow(name: string, lowFromS: number, lowToS: number): { path: string; lowStartMs: number } {
  const nowS = Math.floor(Date.now() / 1000);
  const rows: string[] = [];
  for (let s = nowS - 2; s <= nowS + 60; s++) rows.push(`${s},ZZ,${s >= nowS + lowFromS && s < nowS + lowToS ? 100 : 500}`);
  const path = join(dir, name);
  writeFileSync(path, `datetime,zone,intensity_g_per_kwh\n${rows.join('\n')}\n`);
  return { path, lowStartMs: (nowS + lowFromS) * 1000 };
}

const common = () => ['--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--pue', '1'];

describe('run --start-within', () => {
  it('waits for the lowest-carbon start inside the window, then runs the job and records the deferral and the saving', async () => {
    const { path, lowStartMs } = intensityAroundNow('soon.csv', 3, 5);
    const db = join(dir, 'w.db');
    const report = join(dir, 'r.json');
    const started = join(dir, 'started.txt');
    const r = await runCli(['run', '--db', db, ...common(), '--intensity-file', path, '--start-within', '0.002', '--expected-duration', '1',
      '--report-file', report, '--', node, '-e', `require('fs').writeFileSync(${JSON.stringify(started)}, String(Date.now()))`], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^wattprint: starting at ${new Date(lowStartMs).toISOString().replace(/[.]/g, '\\.')} \\(in [1-5] s\\), the lowest-carbon 0\\.000278 h window within 0\\.002 h of csv: soon\\.csv \\(plain\\); expected 100 gCO2e/kWh against 500 at once: −80\\.0%\\n`));
    expect(Number(readFileSync(started, 'utf8'))).toBeGreaterThanOrEqual(lowStartMs);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.deferral).toMatchObject({ plannedStartAt: new Date(lowStartMs).toISOString(), withinHours: 0.002, avgGramsPerKwh: 100, nowGramsPerKwh: 500, savingPercent: 80, source: 'csv: soon.csv (plain)' });
    expect(json.deferral.waitedSeconds).toBeGreaterThan(1);
    expect(json.notes.some((n: string) => n.startsWith('start deferred') && n.includes('expected 100 gCO2e/kWh against 500 at once (−80.0%'))).toBe(true);
    // Stored with the run: `wattprint report` shows it again, and the CSV has a deferral record.
    const csv = await runCli(['report', '--db', db, '--format', 'csv'], env);
    expect(csv.stdout.split('\n').find((l) => l.startsWith('deferral,'))).toContain(`${new Date(lowStartMs).toISOString()}`);
  });

  it('SIGTERM while waiting: the job never starts, exit 128 + 15', async () => {
    const { path } = intensityAroundNow('later.csv', 40, 42);
    const started = join(dir, 'never.txt');
    const child = startCli(['run', '--db', join(dir, 'w2.db'), ...common(), '--intensity-file', path, '--start-within', '0.02', '--expected-duration', '1',
      '--', node, '-e', `require('fs').writeFileSync(${JSON.stringify(started)}, 'x')`], env);
    // The signal goes the moment the line arrives: the line says the wait has begun, so a signal after it must
    // cancel the wait (it killed the process outright when the handlers came after the line: CI, 2026-12-08).
    let stderr = '';
    let sent = false;
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (!sent && stderr.includes('wattprint: starting at')) sent = child.kill('SIGTERM');
    });
    await waitFor(() => sent, 10_000, 'the wait to begin');
    const r = await child.result;
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('wattprint: SIGTERM while waiting for the start: the job was not started\n');
    expect(() => readFileSync(started)).toThrow();
  });

  it('needs the job length and an hourly source', async () => {
    const flat = await runCli(['run', ...common(), '--db', join(dir, 'w3.db'), '--intensity', '300', '--start-within', '1', '--expected-duration', '60', '--', 'true'], env);
    expect([flat.code, flat.stderr]).toEqual([2, 'wattprint: --intensity-source constant is one flat figure, so every start is the same: use uk, electricitymaps, watttime or --intensity-file\n']);
    const noLength = await runCli(['run', ...common(), '--db', join(dir, 'w3.db'), '--intensity', '300', '--start-within', '1', '--', 'true'], env);
    expect([noLength.code, noLength.stderr]).toEqual([2, 'wattprint: --start-within needs the job\'s length to choose a window: add --expected-duration SECONDS\n']);
  });
});

describe('forecast --format slurm', () => {
  it('prints a ready --begin= in local time for sbatch', async () => {
    const file = join(dir, 'de.csv');
    writeFileSync(file, 'datetime,zone,intensity_g_per_kwh\n2024-01-01T00:00:00Z,DE,300\n2024-01-01T01:00:00Z,DE,100\n2024-01-01T02:00:00Z,DE,500\n2024-01-01T03:00:00Z,DE,400\n');
    const r = await runCli(['forecast', '--intensity-file', file, '--hours', '1.5', '--now', '2024-01-01T00:00:00Z', '--format', 'slurm'], { ...env, TZ: 'Europe/Berlin' });
    expect([r.code, r.stderr, r.stdout]).toEqual([0, '', '--begin=2024-01-01T01:30:00\n']);
    const json = JSON.parse((await runCli(['forecast', '--intensity-file', file, '--hours', '1.5', '--now', '2024-01-01T00:00:00Z', '--json'], env)).stdout);
    expect(json).toMatchObject({ startAt: '2024-01-01T00:30:00.000Z', endAt: '2024-01-01T02:00:00.000Z', slurmBegin: '--begin=2024-01-01T00:30:00', nowGramsPerKwh: expect.closeTo(700 / 3, 9) });
    expect(json.avgGramsPerKwh).toBeCloseTo(500 / 3, 9);
    expect(json.savingPercent).toBeCloseTo((200 / 3 / (700 / 3)) * 100, 9);
  });
});
