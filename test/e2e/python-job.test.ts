// A real Python job under `wattprint run`, using the client in clients/python, on a stub GPU drawing a steady
// 300 W in real time: the tracker's phase energy, work and efficiency are checked against physics.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NvmlStubHarness } from '../fixtures/nvml-stub/stub-harness.js';
import { REPO, baseEnv, runCli, tempDir } from '../helpers/cli.js';

const PYTHON = process.env.WATTPRINT_TEST_PYTHON ?? '/usr/bin/python3';
const havePython = existsSync(PYTHON);
if (!havePython && process.env.CI) throw new Error(`${PYTHON} is missing: CI installs Debian's python3`);

const JOB = `
import sys, time, wattprint
tokens = 0
with wattprint.phase("warmup"):
    time.sleep(1.0)
with wattprint.phase("train"):
    for step in range(1, 11):
        time.sleep(0.2)
        tokens += 4096
        wattprint.progress(step=step, total_steps=10, samples=step * 8, tokens=tokens)
with wattprint.phase("eval"):
    time.sleep(1.0)
wattprint.flush(2.0)
print("tokens", tokens)
sys.exit(3)
`;

describe.skipIf(!havePython)('a Python job using the client, under wattprint run on a 300 W stub GPU', () => {
  let stub: NvmlStubHarness;
  let dir: string;
  beforeAll(() => {
    stub = new NvmlStubHarness();
    stub.script('gpu\nname NVIDIA H100 80GB HBM3\nuuid GPU-00000000-0000-0000-0000-000000000300\nbus 00000000:01:00.0\nlimit_mw 700000\narch 9\nsteady_mw 300000\n');
    dir = tempDir('pyjob');
    writeFileSync(join(dir, 'job.py'), JOB);
    // The same job forced onto TCP: without the socket the client uses WATTPRINT_URL and WATTPRINT_TOKEN.
    writeFileSync(join(dir, 'job_tcp.py'), `import os\nos.environ.pop("WATTPRINT_SOCKET", None)\n${JOB}`);
  });
  afterAll(() => {
    stub.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (extra: string[], script = 'job.py') => runCli([
    'run', '--db', join(dir, `${script}.db`), '--collectors', 'nvml', '--nvml-library', stub.libraryPath,
    '--procfs', join(stub.dir, 'proc'), '--interval', '0.25', '--zone', 'DE', '--pue', '1.2', '--quiet', ...extra,
    '--', PYTHON, join(dir, script),
  ], baseEnv({ NVML_STUB_SCRIPT: process.env.NVML_STUB_SCRIPT!, PYTHONPATH: join(REPO, 'clients', 'python') }));

  it('charges each phase 300 W × its seconds within 2%, stores the tokens exactly, and J/token = IT energy / tokens', async () => {
    const reportFile = join(dir, 'report.json');
    const r = await run(['--no-listen', '--report-file', reportFile]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('tokens 40960');
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.phases.map((p: { name: string }) => p.name)).toEqual(['warmup', 'train', 'eval']);
    for (const p of report.phases as { name: string; seconds: number; itKwh: number }[]) {
      const joules = p.itKwh * 3.6e6;
      expect(Math.abs(joules / (300 * p.seconds) - 1), `${p.name}: ${joules} J over ${p.seconds} s`).toBeLessThan(0.02);
    }
    const phaseJoules = report.phases.reduce((s: number, p: { itKwh: number }) => s + p.itKwh * 3.6e6, 0);
    expect(phaseJoules).toBeLessThanOrEqual(report.energy.itKwh * 3.6e6 * (1 + 1e-9));
    expect(report.work).toEqual({ steps: 10, samples: 80, tokens: 40960 });
    expect(report.efficiency.itJoulesPerToken).toBeCloseTo((report.energy.itKwh * 3.6e6) / 40960, 9);
    const train = report.phases[1];
    expect(train.work).toEqual({ steps: 10, samples: 80, tokens: 40960 });
    expect(train.efficiency.itJoulesPerToken).toBeCloseTo((train.itKwh * 3.6e6) / 40960, 9);
    expect(report.phasesByName.map((p: { name: string; windows: number }) => [p.name, p.windows])).toEqual([['warmup', 1], ['train', 1], ['eval', 1]]);

    // The same run as Hugging Face model-card metadata, parsed by a real YAML parser (PyYAML).
    const card = await runCli(['report', '--db', join(dir, 'job.py.db'), '--format', 'model-card', '--training-type', 'fine-tuning'], baseEnv());
    expect(card.code, card.stderr).toBe(0);
    const front = /^---\n([\s\S]*?)\n---\n/.exec(card.stdout);
    expect(front, card.stdout).not.toBeNull();
    const parsed = spawnSync(PYTHON, ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: front![1], encoding: 'utf8' });
    expect(parsed.status, parsed.stderr).toBe(0);
    const meta = JSON.parse(parsed.stdout).co2_eq_emissions;
    expect(meta.emissions).toBeCloseTo(report.co2e.locationKg * 1000, 3);
    expect(meta).toMatchObject({ training_type: 'fine-tuning', geographical_location: 'DE', hardware_used: '1 x NVIDIA H100 80GB HBM3' });
    expect(meta.source).toContain('1 counter');
    expect(card.stdout).toContain('## Environmental impact');
    expect(card.stdout).toContain('| warmup | 1 |');
  });

  it('gives the job WATTPRINT_TOKEN (not argv) so its calls over TCP are accepted with --token', async () => {
    const reportFile = join(dir, 'tcp.json');
    const r = await run(['--listen', '127.0.0.1:0', '--token', 's3cret-token', '--report-file', reportFile], 'job_tcp.py');
    expect(r.code).toBe(3);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.work.tokens).toBe(40960);
    expect(report.phases).toHaveLength(3);
    expect(r.stderr).not.toContain('s3cret-token');
  });
});
