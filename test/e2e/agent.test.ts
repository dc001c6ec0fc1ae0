import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';

// A RAPL package zone whose energy_uj the test itself advances: the agent reads it through the real
// collector and the real SQLite store, so every joule can be accounted for exactly.
let dir: string;
let energyPath: string;
let energyMicrojoules = 5_000_000_000;
let args: string[];

function setEnergy(uj: number): void {
  energyMicrojoules = uj;
  writeFileSync(energyPath, `${uj}\n`);
}

function deviceState(runId: string): { energyJoules: number; samples: number } | undefined {
  let store: Store | undefined;
  try {
    store = Store.open(join(dir, 'w.db'), { readonly: true });
    const run = store.findRun(runId);
    return run ? store.devicesOf(run.runKey)[0] : undefined;
  } catch {
    return undefined; // not created yet, or busy
  } finally {
    store?.close();
  }
}

beforeAll(() => {
  dir = tempDir('e2e-agent');
  writeTree(dir, {
    'sys/class/powercap/intel-rapl/enabled': '1\n',
    'sys/class/powercap/intel-rapl:0/name': 'package-0\n',
    'sys/class/powercap/intel-rapl:0/max_energy_range_uj': '262143328850\n',
    'sys/class/powercap/intel-rapl:0/energy_uj': `${energyMicrojoules}\n`,
    'proc/sys/kernel/random/boot_id': '4c6d8f0e-0000-4000-8000-000000000001\n',
    'proc/cpuinfo': 'model name\t: Test CPU 9000\n',
  });
  energyPath = join(dir, 'sys/class/powercap/intel-rapl:0/energy_uj');
  args = ['agent', '--db', join(dir, 'w.db'), '--sysfs', join(dir, 'sys'), '--procfs', join(dir, 'proc'), '--collectors', 'rapl',
    '--interval', '0.2', '--intensity', '300', '--pue', '1.2', '--run-id', 'resume-test'];
});
/** Agents this file started, stopped by pid at the end even when a test failed half-way. */
const started: ReturnType<typeof startCli>[] = [];
afterAll(() => {
  for (const a of started) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function advance(stepMicrojoules: number, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    setEnergy(energyMicrojoules + stepMicrojoules);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('wattprint agent', () => {
  it('serves /metrics and /ws, survives kill -9, resumes without double counting, stops on SIGTERM', async () => {
    const initial = energyMicrojoules;
    let agent = startCli([...args, '--listen', '127.0.0.1:0']);
    started.push(agent);
    let err = '';
    agent.stderr!.on('data', (d) => (err += d));
    await waitFor(() => (deviceState('resume-test')?.samples ?? 0) >= 1, 15_000, 'baseline reading');
    const url = await waitFor(() => /live at (http:\/\/[^/\s]+)\//.exec(err)?.[1], 15_000, 'listen line');

    await advance(2_000_000, 10); // 20 J
    await waitFor(() => (deviceState('resume-test')?.energyJoules ?? 0) >= 20, 15_000, 'energy committed');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/wattprint_energy_joules_total\{[^}]*device="package-0"[^}]*\} 20/);
    expect(metrics).toMatch(/wattprint_co2e_grams_total\{[^}]*basis="location"[^}]*\} /);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (m) => resolve(JSON.parse(String(m))));
      ws.once('error', reject);
    });
    expect(first).toMatchObject({ type: 'snapshot', v: 1 });
    const tick = await new Promise<Record<string, unknown>>((resolve) => ws.on('message', (m) => {
      const msg = JSON.parse(String(m));
      if (msg.type === 'tick') resolve(msg);
    }));
    expect(tick.v).toBe(1);
    ws.close();

    agent.kill('SIGKILL');
    await agent.result;
    await advance(3_000_000, 10); // 30 J while no agent runs: the counter keeps them

    agent = startCli([...args, '--no-listen']);
    started.push(agent);
    await waitFor(() => (deviceState('resume-test')?.energyJoules ?? 0) >= 50 - 1e-6, 15_000, 'downtime recovered');
    await advance(1_000_000, 10); // 10 J more
    await new Promise((r) => setTimeout(r, 500));
    agent.kill('SIGTERM');
    const done = await agent.result;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('SIGTERM');

    const report = await runCli(['report', 'resume-test', '--db', join(dir, 'w.db'), '--format', 'json']);
    expect(report.code).toBe(0);
    const json = JSON.parse(report.stdout);
    const expectedJoules = (energyMicrojoules - initial) / 1e6;
    expect(expectedJoules).toBe(60);
    expect(json.energy.itKwh * 3.6e6).toBeCloseTo(expectedJoules, 6);
    expect(json.energy.facilityKwh * 3.6e6).toBeCloseTo(expectedJoules * 1.2, 6);
    expect(json.co2e.locationKg).toBeCloseTo((expectedJoules * 1.2 / 3.6e6) * 300 / 1000, 12);
    expect(json.gaps.some((g: { reason: string; recoveredJoules?: number }) => g.recoveredJoules !== undefined && Math.abs(g.recoveredJoules - 30) < 1e-6)).toBe(true);
    expect(json.energy.byDevice).toEqual([expect.objectContaining({ id: 'package-0', kind: 'cpu', method: 'counter' })]);
  });

  it('stopped the moment it says it is tracking, closes the run (exit 0) instead of dying by the signal', async () => {
    // The line tells a service manager or a script that the agent is up: SIGTERM sent on seeing it must close the
    // run and print its report, as at any later time (the handlers once came after the line).
    for (let i = 0; i < 3; i++) {
      const agent = startCli(['agent', '--db', join(dir, 'stop.db'), '--sysfs', join(dir, 'sys'), '--procfs', join(dir, 'proc'), '--collectors', 'rapl',
        '--interval', '0.2', '--intensity', '300', '--pue', '1', '--run-id', `stop-${i}`, '--no-listen']);
      started.push(agent);
      let err = '';
      let sent = false;
      agent.stderr!.on('data', (d) => {
        err += d;
        if (!sent && err.includes('wattprint: tracking run')) sent = agent.kill('SIGTERM');
      });
      const done = await agent.result;
      expect([done.code, done.signal]).toEqual([0, null]);
      expect(done.stderr).toContain(`wattprint: SIGTERM: run stop-${i} closed`);
    }
  });
});
