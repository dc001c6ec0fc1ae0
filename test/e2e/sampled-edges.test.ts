// Sampled devices at constant power report their true average over a short job: the time from the run's start to
// a device's first sample (a stream that answers late) and from its last sample to the end is held, not lost.
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTree, loadTreeSpec, removeTree, tempRoot } from '../helpers/sysfs-tree.js';
import { baseEnv, runCli, tempDir } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const FAKE_SMI = join(FIXTURES, 'nvidia-smi', 'fake-nvidia-smi.mjs');

describe('sampled devices at constant power over a 6 s job', () => {
  const dir = tempDir('edges');
  const root = tempRoot();
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    removeTree(root);
  });

  it('nvidia-smi at 250 W and 180 W reports each average within 1%', async () => {
    chmodSync(FAKE_SMI, 0o755);
    const reportFile = join(dir, 'smi.json');
    const samples = JSON.stringify([{ 0: { 'power.draw.average': ['250.00'], 'power.draw': ['250.00'] }, 1: { 'power.draw.average': ['180.00'], 'power.draw': ['180.00'] } }]);
    const r = await runCli(['run', '--db', join(dir, 'smi.db'), '--collectors', 'nvidia-smi', '--nvidia-smi', FAKE_SMI, '--nvml-library', '/nonexistent/libnvidia-ml.so.1',
      '--interval', '0.5', '--zone', 'DE', '--no-listen', '--quiet', '--report-file', reportFile, '--', 'sleep', '6'],
    baseEnv({ FAKE_SMI_SAMPLES: samples, FAKE_SMI_STATE: join(dir, 'smi-state') }));
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    const avg = Object.fromEntries(report.energy.byDevice.map((d: { id: string; avgWatts: number }) => [d.id, d.avgWatts]));
    expect(Object.keys(avg)).toHaveLength(2);
    const [first, second] = Object.values(avg) as number[];
    expect(Math.abs(first! / 250 - 1), `${first} W`).toBeLessThan(0.01);
    expect(Math.abs(second! / 180 - 1), `${second} W`).toBeLessThan(0.01);
    expect(report.gaps.some((g: { reason: string }) => g.reason.startsWith('edge, held'))).toBe(true);
  }, 30_000);

  it('an AMD card read through hwmon power1_average reports its average within 1%', async () => {
    const tree = buildTree(root, loadTreeSpec(join(FIXTURES, 'amdgpu/mi100-rx6700xt.json')));
    const reportFile = join(dir, 'amd.json');
    const r = await runCli(['run', '--db', join(dir, 'amd.db'), '--collectors', 'amdgpu', '--sysfs', join(tree, 'sys'), '--procfs', join(tree, 'proc'),
      '--interval', '0.5', '--zone', 'DE', '--no-listen', '--quiet', '--report-file', reportFile, '--', 'sleep', '6'], baseEnv());
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    const avg = Object.fromEntries(report.energy.byDevice.map((d: { id: string; avgWatts: number }) => [d.id, d.avgWatts]));
    expect(Math.abs(avg.amdgpu0 / 36 - 1), `${avg.amdgpu0} W`).toBeLessThan(0.01);
    expect(Math.abs(avg.amdgpu1 / 6 - 1), `${avg.amdgpu1} W`).toBeLessThan(0.01);
  }, 30_000);
});
