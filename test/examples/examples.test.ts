import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../helpers/prometheus.js';
import { AGENT_FLAGS, REPORT_FLAGS, exportedMetricNames, metricNamesIn } from './exported-names.js';

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
    ['kubernetes/daemonset.yaml', ['--run-id', '--db', '--sysfs', '--procfs', '--cgroup-root', '--label', '--zone', '--pue', '--listen', '--token', '--quiet']],
    ['slurm/prolog.sh', ['--run-id', '--db', '--attribute-jobs', '--listen', '--quiet', '--token', '--label']],
  ])('%s', (file, expected) => {
    const flags = flagsIn(read(file));
    expect(flags).toEqual(expected);
    for (const f of flags) expect(AGENT_FLAGS.has(f), `${f} in ${file}`).toBe(true);
  });

  it('slurm/epilog.sh uses only real report flags', () => {
    const flags = flagsIn(read('slurm/epilog.sh'));
    expect(flags).toEqual(['--db', '--wait', '--format']);
    for (const f of flags) expect(REPORT_FLAGS.has(f), f).toBe(true);
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
    expect(exprs.length).toBe(8);
    for (const e of exprs) for (const n of metricNamesIn(e)) expect(exported.has(n), n).toBe(true);
  });

  const promtool = findBinary('promtool');
  it.skipIf(!promtool)('passes promtool check config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-promtool-'));
    try {
      for (const f of ['prometheus.yml', 'wattprint-rules.yml']) copyFileSync(join(examples, 'prometheus', f), join(dir, f));
      writeFileSync(join(dir, 'wattprint.token'), 'token\n');
      const out = execFileSync(promtool!, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      expect(out).toContain('SUCCESS: 8 rules found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SLURM prolog/epilog', () => {
  it('start ONE agent per node however many jobs start at once, and write each job\'s report from its database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-slurm-'));
    const host = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim();
    try {
      // A stand-in for the wattprint binary: `agent` records its argv and runs until SIGTERM; `report` records its
      // argv and prints a report for the jobs the agent saw (4242, 4243) and fails like the real one for others.
      const fake = join(dir, 'wattprint');
      writeFileSync(fake, `#!/bin/bash
if [ "$1" = agent ]; then printf '%s\\n' "$@" > "${dir}/agent-argv.$$"; trap 'exit 0' TERM; while true; do sleep 0.05; done; fi
if [ "$1" = report ]; then printf '%s\\n' "$@" > "${dir}/report-argv"
  case "$2" in slurm-4242|slurm-4243) echo "# wattprint report: run \\\`$2\\\`"; exit 0;; *) echo "wattprint: unknown run '$2'" >&2; exit 2;; esac
fi
exit 3
`);
      chmodSync(fake, 0o755);
      const env = (job: string) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', SLURM_JOB_ID: job, SLURM_JOB_PARTITION: 'gpu', SLURM_JOB_USER: 'ada',
        WATTPRINT: fake, WATTPRINT_STATE_DIR: dir, WATTPRINT_PORT: '19477', WATTPRINT_CLUSTER: 'train-a' });
      const prolog = (job: string) => new Promise<number | null>((resolve) => {
        spawn('bash', [join(examples, 'slurm/prolog.sh')], { env: env(job), stdio: 'ignore' }).on('exit', (code) => resolve(code));
      });
      // Two jobs start on the node at once: their prologs race for the lock, and one agent starts.
      expect(await Promise.all([prolog('4242'), prolog('4243')])).toEqual([0, 0]);
      await waitFor(() => readdirSync(dir).some((f) => f.startsWith('agent-argv.')));
      expect(await prolog('4244')).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      const started = readdirSync(dir).filter((f) => f.startsWith('agent-argv.'));
      expect(started).toHaveLength(1);
      const argv = readFileSync(join(dir, started[0]!), 'utf8').trim().split('\n');
      expect(argv).toEqual(['agent', '--run-id', `node-${host}`, '--db', join(dir, 'wattprint.db'), '--attribute-jobs', 'on',
        '--listen', '0.0.0.0:19477', '--quiet', '--label', 'cluster=train-a']);
      const agentPid = Number(readFileSync(join(dir, 'agent.pid'), 'utf8'));
      expect(started[0]).toBe(`agent-argv.${agentPid}`);

      const epilog = spawnSync('bash', [join(examples, 'slurm/epilog.sh')], { env: env('4242'), encoding: 'utf8', timeout: 20_000 });
      expect(epilog.status).toBe(0);
      expect(readFileSync(join(dir, 'report-argv'), 'utf8').trim().split('\n'))
        .toEqual(['report', 'slurm-4242', '--db', join(dir, 'wattprint.db'), '--wait', '10', '--format', 'markdown']);
      expect(readFileSync(join(dir, `jobs/4242-${host}.md`), 'utf8')).toBe('# wattprint report: run `slurm-4242`\n');
      // The node's agent goes on for the other jobs.
      expect(alive(agentPid)).toBe(true);
      // A job the agent never saw: no report, and the epilog still succeeds (a failing epilog drains the node).
      const unseen = spawnSync('bash', [join(examples, 'slurm/epilog.sh')], { env: env('9999'), encoding: 'utf8', timeout: 20_000 });
      expect(unseen.status).toBe(0);
      expect(existsSync(join(dir, `jobs/9999-${host}.md`))).toBe(false);
      expect(readFileSync(join(dir, `jobs/9999-${host}.md.err`), 'utf8')).toMatch(/unknown run 'slurm-9999'/);
    } finally {
      const pidFile = join(dir, 'agent.pid');
      if (existsSync(pidFile)) { try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM'); } catch { /* gone */ } }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok()).toBe(true);
}
