import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';

// A hanging or babbling nvidia-smi must not hold up the user's job, and must not vanish in silence: the job
// starts while the probe still hangs, the probe gives up after 2 s, says so once on stderr, shows
// wattprint_collector_up{collector="nvidia-smi"} 0 from the start, and the report's notes name it.

const FAKE = fileURLToPath(new URL('../fixtures/nvidia-smi/fake-nvidia-smi.mjs', import.meta.url));
const node = process.execPath;
let dir: string;
beforeAll(() => {
  chmodSync(FAKE, 0o755);
  dir = tempDir('e2e-hung-smi');
  writeTree(dir, { 'sys/class/.keep': '' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** JOB notes when it started, reads collector_up from its tracker at once and after the probe's 2 s, prints JSON. */
const JOB = `
const startedAtMs = Date.now();
const up = async () => {
  const text = await (await fetch(process.env.WATTPRINT_URL + '/metrics')).text();
  return Object.fromEntries([...text.matchAll(/^wattprint_collector_up\\{collector="([^"]+)"\\} (\\d)$/gm)].map((m) => [m[1], Number(m[2])]));
};
const phase = (body) => fetch(process.env.WATTPRINT_URL + '/api/v1/phase', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status);
(async () => {
  // A phase opened while the collectors are still being probed: answered at once, kept for the tracker.
  const phaseStart = await phase({ event: 'start', id: 'w1', name: 'warmup' });
  const early = await up();
  await new Promise((r) => setTimeout(r, 3500));
  const phaseEnd = await phase({ event: 'end', id: 'w1' });
  console.log(JSON.stringify({ startedAtMs, early, later: await up(), phaseStart, phaseEnd }));
})();
`;

async function runWithFake(probe: string, collectors: string[], name: string) {
  const pidFile = join(dir, `${name}.pid`);
  const reportFile = join(dir, `${name}.json`);
  const args = ['run', '--db', join(dir, 'w.db'), '--sysfs', join(dir, 'sys'), ...collectors, '--nvidia-smi', FAKE,
    '--nvml-library', '/nonexistent/libnvidia-ml.so.1', '--interval', '0.25', '--intensity', '300', '--pue', '1.1', '--listen', '127.0.0.1:0',
    '--quiet', '--run-id', name, '--report-file', reportFile, '--', node, '-e', JOB];
  const launchedAtMs = Date.now();
  const r = await runCli(args, baseEnv({ FAKE_SMI_PROBE: probe, FAKE_SMI_PIDFILE: pidFile }));
  const job = JSON.parse(r.stdout) as { startedAtMs: number; early: Record<string, number>; later: Record<string, number>; phaseStart: number; phaseEnd: number };
  return { r, job, launchedAtMs, report: JSON.parse(readFileSync(reportFile, 'utf8')) as { notes: string[]; phases?: { name: string }[] } };
}

describe('wattprint run with a hanging nvidia-smi', () => {
  it('starts the job while the probe still hangs, and reports the hung probe once, in collector_up and in the notes', async () => {
    const { r, job, launchedAtMs, report } = await runWithFake('hang', ['--collectors', 'nvidia-smi,cpu,ram'], 'hang-requested');
    expect(r.code).toBe(0);
    // Before: the job waited for the probe's 15 s timeout. The figure includes both Node start-ups.
    expect(job.startedAtMs - launchedAtMs).toBeLessThan(1500);
    expect(job.early['nvidia-smi']).toBe(0); // a series from the start, while probing
    expect(job.later).toEqual({ 'nvidia-smi': 0, cpu: 1, ram: 1 });
    expect([job.phaseStart, job.phaseEnd]).toEqual([200, 200]);
    expect(JSON.stringify(report.phases)).toContain('warmup');
    const line = `wattprint: nvidia-smi is not measuring: ${FAKE} --help-query-gpu failed: no answer within 1.5 s (killed); ` +
      'fix: install the NVIDIA driver (it ships nvidia-smi) or pass --nvidia-smi PATH';
    expect(r.stderr).toBe(`${line}\n`);
    expect(report.notes).toContain(line.replace('wattprint: nvidia-smi is not measuring: ', 'nvidia-smi not measured: '));
  }, 60_000);

  it('with the default collectors too: a failed nvidia-smi is no longer dropped in silence', async () => {
    const { r, job, report } = await runWithFake('garbage', [], 'garbage-default');
    expect(r.code).toBe(0);
    expect(job.later['nvidia-smi']).toBe(0);
    expect(r.stderr).toBe('wattprint: nvidia-smi is not measuring: this nvidia-smi does not accept --query-gpu=index,power.draw ' +
      '(its --help-query-gpu lists neither); fix: install the NVIDIA driver (it ships nvidia-smi) or pass --nvidia-smi PATH\n');
    expect(report.notes.some((n) => n.startsWith('nvidia-smi not measured: this nvidia-smi does not accept'))).toBe(true);
  }, 60_000);
});
