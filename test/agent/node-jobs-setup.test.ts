/** When `agent` charges the node's jobs (--attribute-jobs auto|on|off), and how it says it cannot. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasJobHierarchy } from '../../agent/node-jobs-setup.js';
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
