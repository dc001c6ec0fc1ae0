/** When `agent` charges the node's jobs (--attribute-jobs auto|on|off), and how it says it cannot. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasJobHierarchy, nodeJobsFor } from '../../agent/node-jobs-setup.js';
import { collectorContext } from '../../agent/session.js';
import { Tracker } from '../../agent/tracker.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { Store } from '../../src/store/store.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';
import { baseEnv, runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';
import { buildTree, loadTreeSpec } from '../helpers/sysfs-tree.js';

const own = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dir = tempDir('node-jobs-setup');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeTree(join(dir, 'slurm-v2'), { 'cgroup.controllers': 'cpu memory\n', 'system.slice/slurmstepd.scope/system/cgroup.procs': '' });
writeTree(join(dir, 'slurm-v1'), { 'cpuacct/slurm/uid_1000/job_7/cpuacct.usage': '0\n', 'memory/slurm/uid_1000/job_7/memory.usage_in_bytes': '0\n' });
writeTree(join(dir, 'desktop'), { 'cgroup.controllers': 'cpu memory\n', 'user.slice/user-1000.slice/session-2.scope/cgroup.procs': '' });

describe('--attribute-jobs auto', () => {
  it('is on where the cgroup tree is a scheduler\'s: SLURM v2 or v1, Kubernetes with either driver; off elsewhere', () => {
    const k8sV2 = buildTree(join(dir, 'k8s-v2'), loadTreeSpec(join(own, 'cgroups-k8s-v2/tree.json')));
    const k8sV1 = buildTree(join(dir, 'k8s-v1'), loadTreeSpec(join(own, 'cgroups-k8s-v1-cgroupfs/tree.json')));
    expect([k8sV2, k8sV1, join(dir, 'slurm-v2'), join(dir, 'slurm-v1')].map(hasJobHierarchy)).toEqual([true, true, true, true]);
    expect(hasJobHierarchy(join(dir, 'desktop'))).toBe(false);
    expect(hasJobHierarchy(join(dir, 'no-such-root'))).toBe(false);
  });
});

describe('--scope', () => {
  it('charges a named systemd scope as a job (auto turns on for it), found anywhere in the tree', async () => {
    const root = join(dir, 'scope-node');
    writeTree(root, {
      'cgroup/cgroup.controllers': 'cpu memory\n',
      'cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/train.scope/cpu.stat': 'usage_usec 1000000\n',
      'cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/train.scope/memory.current': '1048576\n',
      'proc/stat': 'cpu  1000 0 0 1000 0 0 0 0 0 0\n',
      'proc/meminfo': 'MemTotal: 4096 kB\nMemAvailable: 2048 kB\n',
    });
    const cpu = { id: 'cpu', kind: 'cpu' as const, name: 'CPU', method: 'counter' as const, collector: 'sim' };
    const collector = scriptedCollector([cpu], [0, 100, 200].map((j) => ({ readings: [{ deviceId: 'cpu', counterJoules: j }] })));
    const ctx = collectorContext({ sysfs: join(root, 'sys'), procfs: join(root, 'proc'), nvidiaSmi: 'nvidia-smi', nvmlLibrary: 'x' }, {});
    const flags = { interval: 1, listen: false as const, sampleRetention: 600, sysfs: '', procfs: '', nvidiaSmi: '', nvmlLibrary: '', cgroupRoot: join(root, 'cgroup') };
    expect(nodeJobsFor({ ...flags }, [collector], ctx)).toBeUndefined();
    const participant = nodeJobsFor({ ...flags, scope: ['train.scope'] }, [collector], ctx)!;
    const store = Store.open(join(root, 'w.db'));
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const tracker = new Tracker({
      store, runId: 'node', hostname: 'h', labels: {}, intervalSeconds: 1, pue: { value: 1, source: 'x' }, intensity: constantProvider(100),
      market: {}, collectors: [collector], sampleRetentionSeconds: 60, clock, participant,
    });
    await tracker.tick();
    // 0.5 s of the scope's CPU time in 2 s of the node's busy time: a quarter of the CPU's 100 J.
    writeTree(root, { 'cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/train.scope/cpu.stat': 'usage_usec 1500000\n', 'proc/stat': 'cpu  1200 0 0 1000 0 0 0 0 0 0\n' });
    clock.advance(1);
    await tracker.tick();
    expect(tracker.snapshot.jobs!.map((j) => [j.id, j.devices[0]!.energyJoules])).toEqual([['scope-train', 25]]);
    expect(store.findRun('scope-train')!.labels).toEqual({ job: 'scope-train', node_run: 'node' });
    await tracker.stop();
    store.close();
  });
});

describe('wattprint agent --attribute-jobs', () => {
  const empty = join(dir, 'empty-proc');
  mkdirSync(empty, { recursive: true });
  const common = ['--collectors', 'sim', '--no-listen', '--procfs', empty, '--interval', '0.2', '--intensity', '100'];

  it('on: a node whose totals cannot be read is a usage error, one line naming the fix', async () => {
    const r = await runCli(['agent', '--db', join(dir, 'on.db'), ...common, '--cgroup-root', join(dir, 'desktop'), '--attribute-jobs', 'on'], baseEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wattprint: --attribute-jobs: cannot read the node's CPU and memory totals under .*; pass --procfs with the host's \/proc, or --attribute-jobs off\n$/);
  });

  it('auto on a scheduler\'s node: one line, and the agent goes on tracking the node', async () => {
    const agent = startCli(['agent', '--db', join(dir, 'auto.db'), ...common, '--cgroup-root', join(dir, 'slurm-v2')],
      baseEnv({ WATTPRINT_AGENT_LOCK: join(dir, 'lock.json') }));
    let stderr = '';
    agent.stderr!.on('data', (d) => (stderr += d));
    await waitFor(() => /tracking run/.test(stderr), 15_000, 'agent started');
    agent.kill('SIGTERM');
    const done = await agent.result;
    expect(done.code).toBe(0);
    expect(done.stderr.split('\n').filter((l) => /jobs are not attributed/.test(l))).toEqual([
      expect.stringMatching(/^wattprint: jobs are not attributed: cannot read the node's CPU and memory totals under /),
    ]);
  });

  it('refuses a mode it does not know', async () => {
    const r = await runCli(['agent', '--db', join(dir, 'bad.db'), ...common, '--attribute-jobs', 'sometimes'], baseEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--attribute-jobs/);
  });
});
