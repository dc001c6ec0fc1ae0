// examples/train_torch.py, a real PyTorch CPU training job (Debian's python3-torch), under `wattprint run`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, baseEnv, runCli, tempDir } from '../helpers/cli.js';

const PYTHON = process.env.WATTPRINT_TEST_PYTHON ?? '/usr/bin/python3';
const haveTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!haveTorch && process.env.CI) throw new Error(`${PYTHON} cannot import torch: CI installs Debian's python3-torch`);
if (!haveTorch) console.warn(`skipping the PyTorch example: ${PYTHON} cannot import torch (apt-get install python3-torch)`);

describe.skipIf(!haveTorch)('examples/train_torch.py under wattprint run', () => {
  const dir = tempDir('torch');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const EXAMPLE = join(REPO, 'examples', 'train_torch.py');

  it('reports its phases and work: phases add up to no more than the run, efficiency = energy / work, exit code passed through', async () => {
    const reportFile = join(dir, 'torch.json');
    const r = await runCli(['run', '--db', join(dir, 'w.db'), '--collectors', 'cpu,ram', '--interval', '0.25', '--zone', 'FR', '--no-listen',
      '--quiet', '--report-file', reportFile, '--', PYTHON, EXAMPLE, '--epochs', '2', '--steps-per-epoch', '8', '--batch-size', '16', '--seq-len', '16'],
    baseEnv());
    expect(r.code, r.stderr).toBe(0);
    const done = /done: steps=(\d+) samples=(\d+) tokens=(\d+)/.exec(r.stdout);
    expect(done, r.stdout).not.toBeNull();
    const [steps, samples, tokens] = done!.slice(1).map(Number);
    expect([steps, samples, tokens]).toEqual([16, 256, 4096]);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.work).toEqual({ steps, samples, tokens });
    expect(report.phases.map((p: { name: string }) => p.name)).toEqual(['data', 'train', 'eval', 'train', 'eval']);
    const runJoules = report.energy.itKwh * 3.6e6;
    const phaseJoules = report.phases.reduce((s: number, p: { itKwh: number }) => s + p.itKwh * 3.6e6, 0);
    expect(runJoules).toBeGreaterThan(0);
    expect(phaseJoules).toBeGreaterThan(0);
    expect(phaseJoules).toBeLessThanOrEqual(runJoules * (1 + 1e-9));
    expect(report.efficiency.itJoulesPerToken).toBeCloseTo(runJoules / tokens!, 9);
    expect(report.efficiency.itJoulesPerSample).toBeCloseTo(runJoules / samples!, 9);
    const train = report.phasesByName.find((p: { name: string }) => p.name === 'train');
    expect(train.windows).toBe(2);
    expect(train.work.tokens).toBe(tokens);
    expect(train.efficiency.itJoulesPerToken).toBeCloseTo((train.itKwh * 3.6e6) / tokens!, 9);
  }, 120_000);

  it('passes a failing job\'s exit code through', async () => {
    const r = await runCli(['run', '--db', join(dir, 'w.db'), '--collectors', 'cpu', '--no-listen', '--quiet', '--', PYTHON, EXAMPLE, '--epochs', '0'], baseEnv());
    expect(r.code).toBe(2); // argparse's usage error
    expect(r.stderr).toContain('--epochs');
  }, 60_000);
});
