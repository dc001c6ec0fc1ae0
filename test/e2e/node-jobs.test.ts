/**
 * `wattprint agent` on a shared SLURM node, end to end: the real CLI, the real RAPL collector on a fixture
 * powercap tree, the real node attributor on a cgroup v2 fixture tree (SLURM layout) and a fixture /proc, and
 * the real SQLite store. The test owns every counter, so every share and every joule is known:
 *
 * - two SLURM jobs appear at once (one rename) having used 3 s and 1 s of CPU while the node was busy 4 s, and
 *   holding 3 GiB and 1 GiB of the node's 8 GiB used: CPU 3:1 (nothing unattributed), DRAM 3/8 and 1/8 (half
 *   unattributed). No counter moves afterwards, so the CPU split carries and the DRAM split holds, whenever the
 *   agent's ticks fall;
 * - only then does the test advance the RAPL energy counters; job 2 ends (its cgroup leaves), more energy follows.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { baseEnv, REPO, runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';

const GIB = 1024 ** 3;
const dir = tempDir('e2e-node-jobs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** setInPlace rewrites a file the agent keeps open without truncating it (same length), so no read sees it empty. */
function setInPlace(path: string, text: string): void {
  const before = readFileSync(path, 'utf8');
  if (before.length !== text.length) throw new Error(`${path}: ${JSON.stringify(text)} must keep the length of ${JSON.stringify(before)}`);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, text, 0);
  } finally {
    closeSync(fd);
  }
}

const rapl = { 'package-0': 5_000_000_000, 'dram-0': 3_000_000_000 };
const raplPath = { 'package-0': join(dir, 'sys/class/powercap/intel-rapl:0/energy_uj'), 'dram-0': join(dir, 'sys/class/powercap/intel-rapl:0:0/energy_uj') };
function advanceRapl(device: keyof typeof rapl, microjoules: number): void {
  rapl[device] += microjoules;
  setInPlace(raplPath[device], `${rapl[device]}\n`);
}

/** procStat prints /proc/stat's aggregate line with `busy` user ticks (USER_HZ 100) and a fixed idle. */
const procStat = (busyTicks: number): string => `cpu  ${busyTicks} 0 0 8000000 0 0 0 0 0 0\n`;
const jobFiles = (cpuMicros: number, memoryBytes: number): Record<string, string> => ({
  'cpu.stat': `usage_usec ${cpuMicros}\nuser_usec ${cpuMicros}\nsystem_usec 0\n`,
  'memory.current': `${memoryBytes}\n`,
  'memory.stat': 'anon 0\nfile 0\ninactive_file 0\n',
});

function nodeDevices(db: string, runId: string): Record<string, number> | undefined {
  let store: Store | undefined;
  try {
    store = Store.open(db, { readonly: true });
    const run = store.findRun(runId);
    return run ? Object.fromEntries(store.devicesOf(run.runKey).flatMap((d) => [[d.id, d.energyJoules], [`${d.id}:samples`, d.samples]])) : undefined;
  } catch {
    return undefined;
  } finally {
    store?.close();
  }
}

function runStatus(db: string, runId: string): string | undefined {
  let store: Store | undefined;
  try {
    store = Store.open(db, { readonly: true });
    return store.findRun(runId)?.status;
  } catch {
    return undefined;
  } finally {
    store?.close();
  }
}

/** series parses a Prometheus exposition into (name, labels, value). */
function series(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text.split('\n').flatMap((line) => {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    return [{ name: m[1]!, labels, value: Number(m[3]) }];
  });
}

describe('wattprint agent on a shared SLURM node', () => {
  it('charges each job share × device energy into its own run; jobs + unattributed = node on /metrics; report slurm-<id> prints it', async () => {
    // The name the SLURM epilog example reads ($WATTPRINT_STATE_DIR/wattprint.db).
    const db = join(dir, 'wattprint.db');
    const cg = join(dir, 'cgroup');
    writeTree(dir, {
      'sys/class/powercap/intel-rapl/enabled': '1\n',
      'sys/class/powercap/intel-rapl:0/name': 'package-0\n',
      'sys/class/powercap/intel-rapl:0/max_energy_range_uj': '262143328850\n',
      'sys/class/powercap/intel-rapl:0/energy_uj': `${rapl['package-0']}\n`,
      'sys/class/powercap/intel-rapl:0:0/name': 'dram\n',
      'sys/class/powercap/intel-rapl:0:0/max_energy_range_uj': '65712999613\n',
      'sys/class/powercap/intel-rapl:0:0/energy_uj': `${rapl['dram-0']}\n`,
      'proc/sys/kernel/random/boot_id': '4c6d8f0e-0000-4000-8000-000000000002\n',
      'proc/cpuinfo': 'model name\t: Test CPU 9000\n',
      'proc/stat': procStat(1_000_000),
      'proc/meminfo': `MemTotal:       ${16 * 1024 * 1024} kB\nMemFree:        ${8 * 1024 * 1024} kB\nMemAvailable:   ${8 * 1024 * 1024} kB\n`,
      'cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
      'cgroup/system.slice/cgroup.controllers': 'cpuset cpu io memory pids\n',
    });
    // The two jobs are prepared aside and appear in one rename: the agent sees both or neither.
    const staging = join(dir, 'staging/slurmstepd.scope');
    for (const [job, files] of Object.entries({ job_1: jobFiles(3_000_000, 3 * GIB), job_2: jobFiles(1_000_000, 1 * GIB) })) {
      writeTree(join(staging, job), files);
    }
    mkdirSync(join(staging, 'system'));

    const agent = startCli(['agent', '--db', db, '--sysfs', join(dir, 'sys'), '--procfs', join(dir, 'proc'), '--cgroup-root', cg,
      '--collectors', 'rapl', '--interval', '0.2', '--intensity', '300', '--pue', '1.2', '--run-id', 'node-7',
      '--listen', '127.0.0.1:0', '--attribute-jobs'], baseEnv({ WATTPRINT_AGENT_LOCK: join(dir, 'agent.lock') }));
    let stderr = '';
    agent.stderr!.on('data', (d) => (stderr += d));
    try {
      const url = await waitFor(() => /live at (http:\/\/[^/\s]+)\//.exec(stderr)?.[1], 15_000, 'listen line');
      // The jobs must appear after the agent's first tick (its baseline): they are then new, all their CPU time theirs.
      await waitFor(() => (nodeDevices(db, 'node-7')?.['package-0:samples'] ?? 0) >= 1, 15_000, 'baseline tick');

      // The node was busy 4 s (400 ticks) since the last tick: the jobs' 3 s and 1 s, nothing else.
      setInPlace(join(dir, 'proc/stat'), procStat(1_000_400));
      renameSync(staging, join(cg, 'system.slice/slurmstepd.scope'));
      await waitFor(() => runStatus(db, 'slurm-1') && runStatus(db, 'slurm-2'), 15_000, 'both jobs seen');

      // 100 J of CPU package and 20 J of DRAM while both jobs run.
      for (let i = 0; i < 10; i++) {
        advanceRapl('package-0', 10_000_000);
        advanceRapl('dram-0', 2_000_000);
        await new Promise((r) => setTimeout(r, 60));
      }
      await waitFor(() => { const d = nodeDevices(db, 'node-7'); return d && Math.abs(d['package-0']! - 100) < 1e-9 && Math.abs(d['dram-0']! - 20) < 1e-9; }, 15_000, 'first energy committed');

      // Job 2 ends: its cgroup leaves (moved away in one rename, as rmdir removes it at once).
      renameSync(join(cg, 'system.slice/slurmstepd.scope/job_2'), join(dir, 'staging/job_2-gone'));
      await waitFor(() => runStatus(db, 'slurm-2') === 'ended', 15_000, 'job 2 closed');
      // 40 J of CPU package and 8 J of DRAM with job 1 alone.
      for (let i = 0; i < 4; i++) {
        advanceRapl('package-0', 10_000_000);
        advanceRapl('dram-0', 2_000_000);
        await new Promise((r) => setTimeout(r, 60));
      }
      await waitFor(() => { const d = nodeDevices(db, 'node-7'); return d && Math.abs(d['package-0']! - 140) < 1e-9 && Math.abs(d['dram-0']! - 28) < 1e-9; }, 15_000, 'second energy committed');
      // Published with the tick after the commit.
      const text = await waitFor(async () => {
        const t = await (await fetch(`${url}/metrics`)).text();
        return /wattprint_energy_joules_total\{device="package-0"[^}]*\} 140\b/.test(t) ? t : undefined;
      }, 15_000, 'metrics of the last tick');

      const s = series(text);
      const job = (id: string, device: string) => s.find((x) => x.name === 'wattprint_job_energy_joules_total' && x.labels.job === id && x.labels.device === device)!.value;
      // Job energy = share × device energy, tick by tick.
      expect(job('slurm-1', 'package-0')).toBeCloseTo(0.75 * 100 + 0.75 * 40, 9);
      expect(job('slurm-2', 'package-0')).toBeCloseTo(0.25 * 100, 9);
      expect(job('slurm-1', 'dram-0')).toBeCloseTo((3 / 8) * 28, 9);
      expect(job('slurm-2', 'dram-0')).toBeCloseTo((1 / 8) * 20, 9);
      // Jobs + unattributed = node, per device.
      for (const device of ['package-0', 'dram-0']) {
        const node = s.find((x) => x.name === 'wattprint_energy_joules_total' && x.labels.device === device)!.value;
        const jobs = s.filter((x) => x.name === 'wattprint_job_energy_joules_total' && x.labels.device === device).reduce((a, x) => a + x.value, 0);
        const rest = s.find((x) => x.name === 'wattprint_unattributed_energy_joules_total' && x.labels.device === device)!.value;
        expect(Math.abs(jobs + rest - node), device).toBeLessThanOrEqual(node * 1e-12);
      }
      expect(s.find((x) => x.name === 'wattprint_unattributed_energy_joules_total' && x.labels.device === 'package-0')!.value).toBeCloseTo(0.25 * 40, 9);
      expect(s.find((x) => x.name === 'wattprint_job_co2e_grams_total' && x.labels.job === 'slurm-2' && x.labels.basis === 'location')!.value)
        .toBeCloseTo(((25 + 2.5) * 1.2 / 3.6e6) * 300, 12);

      // Job 1 ends and its epilog runs at once: the example epilog, with the real CLI, waits for the agent to
      // close the job's run and writes its report.
      renameSync(join(cg, 'system.slice/slurmstepd.scope/job_1'), join(dir, 'staging/job_1-gone'));
      const epilog = spawn('bash', [join(REPO, 'examples/slurm/epilog.sh')], {
        env: { PATH: process.env.PATH, SLURM_JOB_ID: '1', WATTPRINT: join(REPO, 'bin/wattprint.cjs'), WATTPRINT_STATE_DIR: dir }, stdio: 'ignore',
      });
      expect(await new Promise((resolve) => epilog.on('exit', resolve))).toBe(0);
      const md = readFileSync(join(dir, `jobs/1-${hostname().split('.')[0]}.md`), 'utf8');
      expect(md).toMatch(/^# wattprint report: run `slurm-1`/);
      expect(md).not.toMatch(/still running/);
      expect(runStatus(db, 'slurm-1')).toBe('ended');
    } finally {
      agent.kill('SIGTERM');
    }
    const done = await agent.result;
    expect(done.code, done.stderr).toBe(0);

    const report = await runCli(['report', 'slurm-2', '--db', db, '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    const r2 = JSON.parse(report.stdout);
    expect(r2.status).toBe('ended');
    expect(r2.labels).toEqual({ job: 'slurm-2', node_run: 'node-7' });
    expect(r2.attribution).toMatchObject({ scope: 'cgroup', policy: 'proportional' });
    expect(r2.attribution.share['package-0']).toBeCloseTo(0.25, 9);
    expect(r2.attribution.share['dram-0']).toBeCloseTo(0.125, 9);
    const pkg = r2.energy.byDevice.find((d: { id: string }) => d.id === 'package-0');
    expect(pkg.kwh * 3.6e6).toBeCloseTo(25, 9);
    expect(pkg.nodeKwh * 3.6e6).toBeCloseTo(100, 9);
    expect(r2.co2e.locationKg * 1000).toBeCloseTo(((25 + 2.5) * 1.2 / 3.6e6) * 300, 12);

    const markdown = await runCli(['report', 'slurm-1', '--db', db, '--format', 'markdown']);
    expect(markdown.code, markdown.stderr).toBe(0);
    expect(markdown.stdout).toMatch(/slurm-1/);
    expect(markdown.stdout).toMatch(/Attribution \(scope cgroup, policy proportional/);

    const node = JSON.parse((await runCli(['report', 'node-7', '--db', db, '--format', 'json'])).stdout);
    expect(node.nodeJobs.jobs.map((j: { runId: string; status: string }) => [j.runId, j.status])).toEqual([['slurm-1', 'ended'], ['slurm-2', 'ended']]);
    const unattributedPkg = node.nodeJobs.byDevice.find((d: { id: string }) => d.id === 'package-0');
    expect(unattributedPkg.unattributedKwh * 3.6e6).toBeCloseTo(10, 9);
    expect(node.energy.itKwh * 3.6e6).toBeCloseTo(168, 9);
  }, 90_000);
});
