import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';

// The agent's RAPL counter file is replaced (a new file renamed over it, as a driver reload recreates it)
// in the middle of a run: the agent reopens it within the path-check interval (5 s; collectors/lib/sysfs.ts), counts the reopen, and the energy
// continues from the new file, so the run's total is exactly what the counters moved.

let dir: string;
let energyPath: string;
beforeAll(() => {
  dir = tempDir('e2e-reopen');
  writeTree(dir, {
    'sys/class/powercap/intel-rapl/enabled': '1\n',
    'sys/class/powercap/intel-rapl:0/name': 'package-0\n',
    'sys/class/powercap/intel-rapl:0/max_energy_range_uj': '262143328850\n',
    'sys/class/powercap/intel-rapl:0/energy_uj': '5000000000\n',
    'proc/sys/kernel/random/boot_id': '4c6d8f0e-0000-4000-8000-000000000002\n',
    'proc/cpuinfo': 'model name\t: Test CPU 9000\n',
  });
  energyPath = join(dir, 'sys/class/powercap/intel-rapl:0/energy_uj');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const metricValue = (text: string, pattern: RegExp): number | undefined => {
  const m = pattern.exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('wattprint agent with a counter file replaced mid-run', () => {
  it('reopens it, counts wattprint_collector_errors_total{reason="reopened"}, and loses no energy', async () => {
    const db = join(dir, 'w.db');
    const agent = startCli(['agent', '--db', db, '--sysfs', join(dir, 'sys'), '--procfs', join(dir, 'proc'), '--collectors', 'rapl',
      '--interval', '0.25', '--intensity', '300', '--pue', '1', '--run-id', 'reopen', '--listen', '127.0.0.1:0']);
    let err = '';
    agent.stderr!.on('data', (d) => (err += d));
    try {
      const url = await waitFor(() => /live at (http:\/\/[^/\s]+)\//.exec(err)?.[1], 20_000, `listen line (stderr: ${err})`);
      const metrics = async () => (await fetch(`${url}/metrics`)).text();
      const energy = async () => metricValue(await metrics(), /\nwattprint_energy_joules_total\{[^}]*device="package-0"[^}]*\} ([\d.e+-]+)\n/) ?? -1;
      const reopened = async () => metricValue(await metrics(), /\nwattprint_collector_errors_total\{collector="rapl",reason="reopened"\} (\d+)\n/) ?? 0;
      await waitFor(async () => (await energy()) >= 0, 20_000, 'first reading');
      writeFileSync(energyPath, '5006000000\n'); // +6 J in place
      await waitFor(async () => (await energy()) === 6, 20_000, 'energy 6 J');
      writeFileSync(`${energyPath}.new`, '5010000000\n'); // +4 J in a new file renamed over the old one
      renameSync(`${energyPath}.new`, energyPath);
      await waitFor(async () => (await reopened()) === 1, 20_000, 'reopen counted');
      await waitFor(async () => (await energy()) === 10, 20_000, 'energy 10 J from the new file');
      writeFileSync(energyPath, '5011000000\n'); // +1 J in the new file, in place
      await waitFor(async () => (await energy()) === 11, 20_000, 'energy 11 J');
      expect(await reopened()).toBe(1);
    } finally {
      agent.kill('SIGTERM');
    }
    expect((await agent.result).code).toBe(0);
    const report = JSON.parse((await runCli(['report', 'reopen', '--db', db, '--format', 'json'])).stdout);
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(11, 6);
    // A reopen cost no reading: it is said as what it was, not counted among the dropped readings.
    expect(report.notes).toContain('rapl reopened a counter file 1 time (replaced under the agent); its readings went on from the new file');
    expect(report.notes.filter((n: string) => /dropped by rapl/.test(n))).toEqual([]);
  }, 90_000);
});
