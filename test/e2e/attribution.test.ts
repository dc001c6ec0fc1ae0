// `wattprint run` charges the job its share of the node's devices, measured on its real process tree. The exact
// ranges (0.3–0.7 beside an equal process, ≥ 0.85 alone) are held by test/attribution on a node made of the
// processes the test controls; here, through the CLI and beside whatever else the machine runs, the report
// must say how it charged and a busy job must be charged far more of the CPU than an idle one.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempDir } from '../helpers/cli.js';
import { chartJoules } from '../helpers/shared-run.js';

const BUSY = fileURLToPath(new URL('../fixtures/attribution/busy.mjs', import.meta.url));

interface Report {
  energy: { itKwh: number; nodeItKwh: number; byDevice: { id: string; kind: string; kwh: number; nodeKwh: number }[] };
  attribution: { scope: string; policy: string; share: Record<string, number>; notes: string[] };
  disclosure: { mwh: number };
  startedAt: string;
  endedAt: string;
  powerSeries: { at: string; watts: number }[];
  powerSeriesScope?: 'devices';
}

describe('run charges the job its share of the node', () => {
  const dir = tempDir('attr');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const track = async (name: string, extra: string[], job: string[]): Promise<Report> => {
    const reportFile = join(dir, `${name}.json`);
    const r = await runCli(['run', '--db', join(dir, `${name}.db`), '--collectors', 'cpu,ram', '--interval', '0.2', '--zone', 'DE',
      '--no-listen', '--quiet', '--report-file', reportFile, ...extra, '--', ...job], baseEnv());
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  };

  it('charges a busy job (with its forked workers) far more CPU than an idle one, and keeps the node\'s figures beside', async () => {
    const busy = await track('busy', [], [process.execPath, BUSY, 'workers', '3', '150000000']);
    const idle = await track('idle', [], [process.execPath, BUSY, 'idle', '1500']);
    for (const r of [busy, idle]) {
      expect(r.attribution.scope).toBe('process-tree');
      expect(r.attribution.policy).toBe('proportional');
      for (const d of r.energy.byDevice) expect(d.kwh).toBeLessThanOrEqual(d.nodeKwh * (1 + 1e-12));
      expect(r.energy.itKwh).toBeLessThanOrEqual(r.energy.nodeItKwh * (1 + 1e-12));
    }
    // Shares follow the rest of the machine (an idle job on an idle node still gets its own startup's share), so
    // the job's charged CPU energy is what a busy job must have far more of.
    const cpuKwh = (r: Report) => r.energy.byDevice.find((d) => d.id === 'cpu')!.kwh;
    expect(busy.attribution.share.cpu).toBeGreaterThan(0);
    expect(cpuKwh(busy)).toBeGreaterThan(3 * cpuKwh(idle));
    // Table 4 stays on the job's energy.
    expect(busy.disclosure.mwh).toBeLessThan(busy.energy.nodeItKwh * 1.58 / 1000 + 1e-15);
  }, 60_000);

  it('charges whole devices with --attribution node, and only used capacity with --idle-attribution none', async () => {
    const node = await track('node', ['--attribution', 'node'], ['sleep', '1']);
    expect(node.attribution.scope).toBe('node');
    expect(node.energy.itKwh).toBeCloseTo(node.energy.nodeItKwh, 15);
    const none = await track('none', ['--idle-attribution', 'none'], [process.execPath, BUSY, 'spin', '40000000']);
    expect(none.attribution.policy).toBe('none');
    expect(none.attribution.share.cpu).toBeLessThanOrEqual(1);
    expect(none.energy.itKwh).toBeLessThan(none.energy.nodeItKwh);
    // A short run's chart is drawn from the raw samples, the devices' whole power: the report says so, since the
    // energy beside it is only the job's share (the chart holds more energy than the job was charged).
    expect(none.powerSeries.length).toBeGreaterThan(1);
    expect(none.powerSeriesScope).toBe('devices');
    expect(chartJoules(none)).toBeGreaterThan(none.energy.itKwh * 3.6e6);
    expect(node.powerSeriesScope).toBeUndefined(); // charged whole devices: the chart is the run's own power
  }, 60_000);

  it('falls back from an unreadable cgroup to the process tree with one line and a note, never a silent node charge', async () => {
    const reportFile = join(dir, 'fallback.json');
    const r = await runCli(['run', '--db', join(dir, 'fallback.db'), '--collectors', 'cpu', '--interval', '0.2', '--zone', 'DE', '--no-listen',
      '--attribution', 'cgroup', '--cgroup', 'no-such.scope', '--cgroup-root', join(dir, 'no-cgroupfs'), '--report-file', reportFile, '--', 'sleep', '1'], baseEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wattprint: attribution: .*process tree/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report & { notes: string[] };
    expect(report.attribution.scope).toBe('process-tree');
    expect(report.notes.join('\n')).toMatch(/attribution: .*process tree/);
  }, 30_000);
});
