import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/prometheus.js';
import { AGENT_FLAGS, exportedMetricNames, metricNamesIn } from './exported-names.js';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const read = (p: string): string => readFileSync(join(examples, p), 'utf8');

/** flagsIn lists the long options used in non-comment lines of a file. */
function flagsIn(text: string): string[] {
  const code = text.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  return [...code.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]);
}

describe('examples use only real agent flags', () => {
  it.each([
    ['systemd/wattprint-agent.service', ['--db', '--run-id', '--interval', '--pue', '--zone', '--label', '--listen', '--report-file', '--quiet']],
    ['kubernetes/daemonset.yaml', ['--run-id', '--db', '--sysfs', '--procfs', '--label', '--zone', '--pue', '--listen', '--token', '--quiet']],
    ['slurm/prolog.sh', ['--run-id', '--db', '--label', '--label', '--listen', '--report-file', '--quiet', '--token', '--pushgateway', '--gpus']],
  ])('%s', (file, expected) => {
    const flags = flagsIn(read(file));
    expect(flags).toEqual(expected);
    for (const f of flags) expect(AGENT_FLAGS.has(f), `${f} in ${file}`).toBe(true);
  });

  it('the DaemonSet mounts the host /sys read-only and points --sysfs at it', () => {
    const yaml = read('kubernetes/daemonset.yaml');
    expect(yaml).toMatch(/- name: sys\n\s+mountPath: \/host\/sys\n\s+readOnly: true/);
    expect(yaml).toMatch(/- name: sys\n\s+hostPath:\n\s+path: \/sys\n/);
    expect(yaml).toMatch(/- --sysfs\n\s+- \/host\/sys\n/);
    expect(yaml).toMatch(/path: \/healthz/);
  });
});

describe('Prometheus example config', () => {
  it('uses only exported metric names in its rules', async () => {
    const exported = await exportedMetricNames();
    const exprs = [...read('prometheus/wattprint-rules.yml').matchAll(/expr: (.+)/g)].map((m) => m[1]!);
    expect(exprs.length).toBe(5);
    for (const e of exprs) for (const n of metricNamesIn(e)) expect(exported.has(n), n).toBe(true);
  });

  const promtool = findBinary('promtool');
  it.skipIf(!promtool)('passes promtool check config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-promtool-'));
    try {
      for (const f of ['prometheus.yml', 'wattprint-rules.yml']) copyFileSync(join(examples, 'prometheus', f), join(dir, f));
      writeFileSync(join(dir, 'wattprint.token'), 'token\n');
      const out = execFileSync(promtool!, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      expect(out).toContain('SUCCESS: 5 rules found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SLURM prolog/epilog', () => {
  it('start one agent for the job with the job id as run id, and stop it with SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-slurm-'));
    try {
      // A stand-in for the wattprint binary: records its argv, and its SIGTERM, like the agent would stop.
      const fake = join(dir, 'wattprint');
      writeFileSync(fake, `#!/bin/bash\nprintf '%s\\n' "$@" > "${dir}/argv"\n` +
        `trap 'echo TERM > "${dir}/signal"; exit 0' TERM\nwhile true; do sleep 0.05; done\n`);
      chmodSync(fake, 0o755);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SLURM_JOB_ID: '4242', SLURM_JOB_PARTITION: 'gpu',
        SLURM_JOB_USER: 'ada', SLURM_JOB_GPUS: '0,1', WATTPRINT: fake, WATTPRINT_STATE_DIR: dir, WATTPRINT_PORT: '19477' };
      const prolog = spawnSync('bash', [join(examples, 'slurm/prolog.sh')], { env, encoding: 'utf8', timeout: 10_000 });
      expect(prolog.status).toBe(0);
      await waitFor(() => existsSync(join(dir, 'argv')));
      const argv = readFileSync(join(dir, 'argv'), 'utf8').trim().split('\n');
      expect(argv.slice(0, 3)).toEqual(['agent', '--run-id', 'slurm-4242']);
      expect(argv).toContain('partition=gpu');
      expect(argv.slice(argv.indexOf('--gpus'), argv.indexOf('--gpus') + 2)).toEqual(['--gpus', '0,1']);
      expect(argv.slice(argv.indexOf('--listen'), argv.indexOf('--listen') + 2)).toEqual(['--listen', '0.0.0.0:19477']);
      const epilog = spawnSync('bash', [join(examples, 'slurm/epilog.sh')], { env, encoding: 'utf8', timeout: 20_000 });
      expect(epilog.status).toBe(0);
      expect(readFileSync(join(dir, 'signal'), 'utf8')).toBe('TERM\n');
      expect(existsSync(join(dir, 'jobs/4242.pid'))).toBe(false);
    } finally {
      // If the epilog failed, do not leave the stand-in agent running.
      const pidFile = join(dir, 'jobs/4242.pid');
      if (existsSync(pidFile)) { try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ } }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok()).toBe(true);
}
