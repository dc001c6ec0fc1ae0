/**
 * cgroup discovery, counters and the node attributor on fixture trees in the real file formats: the SLURM v1+v2
 * capture (cgroup_exporter), the EKS v1, hybrid and session-scope captures (elastic), and wattprint's own
 * Kubernetes trees in test/fixtures/cgroups-*, built into temp directories by the tests.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CgroupCounters, detectCgroupLayout, resolveJobCgroup, cgroupPathsOf } from '../../../collectors/lib/cgroup-reader.js';
import { discoverPods, discoverSlurm } from '../../../collectors/lib/cgroup-discovery.js';
import { NodeAttributor, type NodeAttributionTick } from '../../../collectors/lib/node-attributor.js';
import { Attributor } from '../../../collectors/lib/attributor.js';
import type { NodeSample, NodeUsageSource } from '../../../collectors/lib/node-usage.js';
import type { GpuProcessSnapshot, GpuProcessSource } from '../../../collectors/lib/gpu-processes.js';
import { parseProcCgroup } from '../../../collectors/lib/proc-pid.js';
import type { DeviceInfo } from '../../../src/types.js';
import { buildTree, extractTtar, loadTreeSpec, removeTree, tempRoot } from '../../helpers/sysfs-tree.js';
import { extractZip } from '../../helpers/zip.js';

const shared = fileURLToPath(new URL('../../../../shared/fixtures/cgroups/', import.meta.url));
const own = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const describeShared = existsSync(shared) || process.env.CI === 'true' ? describe : describe.skip;

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeTree));
function root(): string {
  const r = tempRoot('wattprint-cgroup-');
  roots.push(r);
  return r;
}

const DEVICES: DeviceInfo[] = [
  { id: 'cpu', kind: 'cpu', name: 'CPU', method: 'modelled', collector: 'cpu' },
  { id: 'ram', kind: 'dram', name: 'RAM', method: 'modelled', collector: 'ram' },
  { id: 'gpu0', kind: 'gpu', name: 'GPU', method: 'counter', collector: 'nvml' },
];
const GIB = 1024 ** 3;

/** ScriptedNode returns the given node samples in turn (the last repeats). */
class ScriptedNode implements NodeUsageSource {
  private i = 0;
  constructor(private readonly samples: NodeSample[]) {}
  read(): NodeSample {
    return this.samples[Math.min(this.i++, this.samples.length - 1)]!;
  }
  close(): void {}
}
const nodeAt = (busyTicks: number, totalTicks: number, memUsedBytes = 16 * GIB): NodeSample => ({
  busyTicks, totalTicks, memTotalBytes: 64 * GIB, memUsedBytes,
});

/** fixedGpus returns the same GPU snapshot every read. */
function fixedGpus(snapshots: Record<string, GpuProcessSnapshot | undefined>): GpuProcessSource {
  return {
    read: () => new Map(Object.entries(snapshots).filter((e): e is [string, GpuProcessSnapshot] => e[1] !== undefined)),
    close: () => undefined,
  };
}

/** expectPartition checks that for every device the jobs' shares and unattributed add up to 1. */
function expectPartition(tick: NodeAttributionTick): void {
  for (const d of DEVICES) {
    const sum = [...tick.jobs.values()].reduce((s, j) => s + j.shares.get(d.id)!, 0) + tick.unattributed.get(d.id)!;
    expect(sum).toBeCloseTo(1, 12);
  }
}

let pristineSlurm: string | undefined;
afterAll(() => pristineSlurm && removeTree(pristineSlurm));

/**
 * slurmTree gives each test its own copy of the cgroup_exporter capture (extracted once); the root's
 * cgroup.controllers, left out of the capture, is added.
 */
function slurmTree(): string {
  if (!pristineSlurm) {
    pristineSlurm = tempRoot('wattprint-cgroup-ttar-');
    // Only the files attribution reads: the capture holds 1 547, mostly cpuset and pressure files.
    const needed = new Set(['cpu.stat', 'cpuacct.usage', 'cpuacct.stat', 'memory.current', 'memory.stat', 'memory.usage_in_bytes', 'cgroup.procs']);
    extractTtar(join(shared, 'cgroup_exporter__fixtures.ttar'), pristineSlurm, (p) => p.includes('/proc/') || needed.has(p.split('/').pop()!));
    writeFileSync(join(pristineSlurm, 'fixtures', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  }
  const r = root();
  cpSync(pristineSlurm, r, { recursive: true });
  return join(r, 'fixtures');
}

describeShared('SLURM: the cgroup_exporter capture (v2 job_4, v1 jobs 10 and 11)', () => {
  it('finds every job in both hierarchies', () => {
    const cg = slurmTree();
    const layout = detectCgroupLayout(cg);
    expect(layout).toEqual({ root: cg, v2Root: cg, cpuV1Root: join(cg, 'cpuacct'), memoryV1Root: join(cg, 'memory') });
    expect(discoverSlurm(layout)).toEqual([
      { id: 'slurm-4', kind: 'slurm', paths: { v2: '/system.slice/slurmstepd.scope/job_4' } },
      { id: 'slurm-10', kind: 'slurm', paths: { cpuV1: '/slurm/uid_20821/job_10', memoryV1: '/slurm/uid_20821/job_10' } },
      { id: 'slurm-11', kind: 'slurm', paths: { cpuV1: '/slurm/uid_20821/job_11', memoryV1: '/slurm/uid_20821/job_11' } },
    ]);
  });

  it('reads the captured counters: v2 usage_usec and memory.current, v1 cpuacct.usage (ns) and memory.usage_in_bytes', () => {
    const layout = detectCgroupLayout(slurmTree());
    const [v2, , v1] = discoverSlurm(layout);
    const job4 = new CgroupCounters(resolveJobCgroup(layout, v2!.paths));
    const job11 = new CgroupCounters(resolveJobCgroup(layout, v1!.paths));
    // Working set = usage − inactive_file (v2: inactive_file 499 712 B; v1: total_inactive_file 69 820 416 B in the capture).
    expect(job4.read()).toEqual({ cpuMicros: 126686, memoryBytes: 5660672 - 499712 });
    expect(job11.read()).toEqual({ cpuMicros: 33146523011.972, memoryBytes: 6126714880 - 69820416 });
    job4.close();
    job11.close();
  });

  it('splits each device between the jobs; jobs + unattributed = 1; a GPU process of no job stays unattributed', () => {
    const cg = slurmTree();
    const warnings: string[] = [];
    const attributor = new NodeAttributor({
      policy: 'proportional', devices: DEVICES, procfsRoot: join(cg, 'proc'), cgroupRoot: cg, warn: (l) => warnings.push(l), pods: false,
      // 4 s of busy CPU time in the tick, 8 s of capacity (2 CPUs × 4 s).
      nodeUsage: new ScriptedNode([nodeAt(1000, 4000), nodeAt(1400, 4800)]),
      gpuProcesses: fixedGpus({
        // 49276 is job 4's task (0::/system.slice/slurmstepd.scope/job_4/step_0/user/task_0), 67998 a login shell.
        gpu0: { processes: [{ pid: 49276, smUtilPercent: 60 }, { pid: 67998, smUtilPercent: 20 }, { pid: 999999, smUtilPercent: 20 }], mig: false, smSamples: true },
      }),
    });
    const first = attributor.tick();
    expect(first.baseline).toBe(true);
    expect([...first.jobs.keys()]).toEqual(['slurm-4', 'slurm-10', 'slurm-11']);
    expect(first.started).toEqual(['slurm-4', 'slurm-10', 'slurm-11']);
    // In the tick: job 4 used 1 s of CPU, job 11 used 2 s, job 10 nothing.
    writeFileSync(join(cg, 'system.slice/slurmstepd.scope/job_4/cpu.stat'), 'usage_usec 1126686\nuser_usec 549043\nsystem_usec 577642\n');
    writeFileSync(join(cg, 'cpuacct/slurm/uid_20821/job_11/cpuacct.usage'), `${33146523011972 + 2e9}\n`);
    const tick = attributor.tick();
    expect(tick.baseline).toBe(false);
    const cpu = (id: string) => tick.jobs.get(id)!.shares.get('cpu');
    expect([cpu('slurm-4'), cpu('slurm-10'), cpu('slurm-11'), tick.unattributed.get('cpu')]).toEqual([0.25, 0, 0.5, 0.25]);
    const ram = (id: string) => tick.jobs.get(id)!.shares.get('ram')!;
    expect(ram('slurm-11')).toBeCloseTo((6126714880 - 69820416) / (16 * GIB), 12);
    expect(tick.jobs.get('slurm-4')!.shares.get('gpu0')).toBeCloseTo(0.6, 12);
    expect(tick.unattributed.get('gpu0')).toBeCloseTo(0.4, 12);
    expectPartition(tick);
    expect(warnings).toEqual([]);
    attributor.close();
  });

  it('policy none charges capacity used: the idle part goes to unattributed', () => {
    const cg = slurmTree();
    const attributor = new NodeAttributor({
      policy: 'none', devices: DEVICES, procfsRoot: join(cg, 'proc'), cgroupRoot: cg, warn: () => undefined,
      nodeUsage: new ScriptedNode([nodeAt(1000, 4000), nodeAt(1400, 4800)]),
    });
    attributor.tick();
    writeFileSync(join(cg, 'system.slice/slurmstepd.scope/job_4/cpu.stat'), 'usage_usec 1126686\n');
    const tick = attributor.tick();
    expect(tick.jobs.get('slurm-4')!.shares.get('cpu')).toBe(0.125);
    expect(tick.unattributed.get('cpu')).toBe(0.875);
    // No GPU process source: nobody can be charged for the GPU.
    expect(tick.unattributed.get('gpu0')).toBe(1);
    expectPartition(tick);
    attributor.close();
  });

  it('a job that ends leaves, a job that starts is charged its CPU time since it was created', () => {
    const cg = slurmTree();
    const attributor = new NodeAttributor({
      policy: 'proportional', devices: DEVICES, procfsRoot: join(cg, 'proc'), cgroupRoot: cg, warn: () => undefined,
      nodeUsage: new ScriptedNode([nodeAt(1000, 4000), nodeAt(1200, 4400)]),
    });
    attributor.tick();
    rmSync(join(cg, 'cpuacct/slurm/uid_20821/job_10'), { recursive: true });
    const job5 = join(cg, 'system.slice/slurmstepd.scope/job_5');
    mkdirSync(job5);
    writeFileSync(join(job5, 'cpu.stat'), 'usage_usec 500000\nuser_usec 400000\nsystem_usec 100000\n');
    writeFileSync(join(job5, 'memory.current'), '1048576\n');
    const tick = attributor.tick();
    expect(tick.ended).toEqual(['slurm-10']);
    expect(tick.started).toEqual(['slurm-5']);
    expect(tick.jobs.get('slurm-5')!.shares.get('cpu')).toBe(0.25); // 0.5 s of 2 s busy
    expectPartition(tick);
    attributor.close();
  });

  it('a job whose cgroup cannot be read: one line, a note, and its use unattributed', () => {
    const cg = slurmTree();
    // A directory where memory.usage_in_bytes should be: opening works, reading fails (EISDIR), as a file
    // that vanished or lost its permissions mid-run would.
    const mem = join(cg, 'memory/slurm/uid_20821/job_11/memory.usage_in_bytes');
    rmSync(mem);
    mkdirSync(mem);
    const warnings: string[] = [];
    const attributor = new NodeAttributor({
      policy: 'proportional', devices: DEVICES, procfsRoot: join(cg, 'proc'), cgroupRoot: cg, warn: (l) => warnings.push(l),
      nodeUsage: new ScriptedNode([nodeAt(1000, 4000), nodeAt(1200, 4400)]),
    });
    attributor.tick();
    const tick = attributor.tick();
    expect([...tick.jobs.keys()]).toEqual(['slurm-4', 'slurm-10']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^wattprint: attribution: job slurm-11: cgroup unreadable \(.*EISDIR.*\); its use counts as unattributed$/);
    expect(tick.notes).toContain(warnings[0]!.slice('wattprint: '.length));
    expectPartition(tick);
    attributor.close();
  });

  it('run inside a SLURM job: the attributor takes the job\'s cgroup (all its steps) from the root\'s /proc/PID/cgroup', () => {
    const cg = slurmTree();
    const attributor = new Attributor({
      scope: { kind: 'auto', rootPid: 49276 }, policy: 'proportional', devices: DEVICES.slice(0, 2), procfsRoot: join(cg, 'proc'),
      cgroupRoot: cg, warn: () => undefined, nodeUsage: new ScriptedNode([nodeAt(1000, 4000), nodeAt(1200, 4400)]),
    });
    expect(attributor.scope).toBe('cgroup');
    expect(attributor.tick().baseline).toBe(true);
    writeFileSync(join(cg, 'system.slice/slurmstepd.scope/job_4/cpu.stat'), 'usage_usec 1626686\n');
    const tick = attributor.tick();
    expect(tick).toMatchObject({ scope: 'cgroup', policy: 'proportional', notes: [] });
    expect(tick.shares.get('cpu')).toBe(0.75); // 1.5 s of 2 s busy
    expect(tick.measured).toEqual({ cpuSeconds: 1.5, memoryBytes: 5660672 - 499712 });
    attributor.close();
  });
});

describe('Kubernetes, cgroup v2, systemd driver (test/fixtures/cgroups-k8s-v2)', () => {
  const uid = '0d6ee2b1-5c1a-4b53-9f3e-3d1c7e0f2a11';
  function tree(): string {
    const r = root();
    buildTree(r, loadTreeSpec(join(own, 'cgroups-k8s-v2/tree.json')));
    return r;
  }

  it('finds one pod per QoS class with its UID', () => {
    const pods = discoverPods(detectCgroupLayout(tree()));
    expect(pods.map((p) => p.id).sort()).toEqual([
      `pod-${uid}`, 'pod-8f2c4a7e-1b3d-4e5f-a6b7-c8d9e0f1a2b3', 'pod-c3b2a190-8f7e-4d6c-b5a4-9382716f5e4d',
    ]);
    expect(pods.find((p) => p.id === `pod-${uid}`)!.paths).toEqual({
      v2: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`,
    });
  });

  it('charges a GPU process to the pod its container is in; the kubelet\'s is unattributed', () => {
    const r = tree();
    const attributor = new NodeAttributor({
      policy: 'proportional', devices: DEVICES, procfsRoot: join(r, 'proc'), cgroupRoot: r, warn: () => undefined, slurm: false,
      nodeUsage: new ScriptedNode([nodeAt(0, 0), nodeAt(100, 400)]),
      gpuProcesses: fixedGpus({ gpu0: { processes: [{ pid: 4242, smUtilPercent: 70 }, { pid: 777, smUtilPercent: 30 }], mig: false, smSamples: true } }),
    });
    attributor.tick();
    const tick = attributor.tick();
    expect(tick.jobs.get(`pod-${uid}`)!.shares.get('gpu0')).toBeCloseTo(0.7, 12);
    expect(tick.unattributed.get('gpu0')).toBeCloseTo(0.3, 12);
    expectPartition(tick);
    attributor.close();
  });
});

describe('Kubernetes, cgroup v1, cgroupfs driver (test/fixtures/cgroups-k8s-v1-cgroupfs)', () => {
  it('finds the pods under kubepods/<qos>/pod<uid> and follows a container process to its pod', () => {
    const r = root();
    buildTree(r, loadTreeSpec(join(own, 'cgroups-k8s-v1-cgroupfs/tree.json')));
    const layout = detectCgroupLayout(r);
    expect(layout.v2Root).toBeUndefined();
    expect(discoverPods(layout).map((p) => p.id).sort()).toEqual(['pod-11111111-2222-4333-8444-555555555555', 'pod-74c13223-5a00-11e9-b385-42010a80018d']);
    const attributor = new Attributor({
      scope: { kind: 'auto', rootPid: 31337 }, policy: 'proportional', devices: DEVICES.slice(0, 2), procfsRoot: join(r, 'proc'),
      cgroupRoot: r, warn: () => undefined, nodeUsage: new ScriptedNode([nodeAt(0, 0), nodeAt(100, 200)]),
    });
    expect(attributor.scope).toBe('cgroup');
    expect(attributor.tick().measured).toEqual({ cpuSeconds: undefined, memoryBytes: 1215860736 - 78557184 });
    writeFileSync(join(r, 'cpu,cpuacct/kubepods/besteffort/pod74c13223-5a00-11e9-b385-42010a80018d/cpuacct.usage'), `${124659500367000 + 250_000_000}\n`);
    expect(attributor.tick().shares.get('cpu')).toBe(0.25);
    attributor.close();
  });
});

describeShared('Kubernetes, cgroup v1, systemd driver: the EKS capture', () => {
  it('finds the pod and reads it; its counters are those of its only container', () => {
    const r = root();
    extractZip(join(shared, 'elastic-agent-system-metrics__amzn2-eks__kubepods-systemd-v1.zip'), r);
    const cg = join(r, 'amzn2/sys/fs/cgroup');
    // The capture holds the container's files only; a pod with one container counts the same at pod level.
    for (const ctrl of ['cpu,cpuacct', 'memory']) {
      const pod = join(cg, ctrl, 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice');
      const container = readdirSync(pod).find((d) => d.startsWith('cri-containerd-'))!;
      cpSync(join(pod, container), pod, { recursive: true, filter: (src) => !src.endsWith('.scope') || src.endsWith(container) });
    }
    const layout = detectCgroupLayout(cg);
    expect(layout).toMatchObject({ cpuV1Root: join(cg, 'cpu,cpuacct'), memoryV1Root: join(cg, 'memory') });
    const [pod] = discoverPods(layout);
    expect(pod!.id).toBe('pod-7a96c459-d529-44ae-9f99-90d3798d6426');
    const counters = new CgroupCounters(resolveJobCgroup(layout, pod!.paths));
    expect(counters.read()).toEqual({ cpuMicros: 124659500367, memoryBytes: 1215860736 - 78557184 });
    counters.close();
    const attributor = new Attributor({
      scope: { kind: 'auto', rootPid: 493239 }, policy: 'proportional', devices: DEVICES.slice(0, 1), procfsRoot: join(r, 'amzn2/proc'),
      cgroupRoot: cg, warn: () => undefined, nodeUsage: new ScriptedNode([nodeAt(0, 0)]),
    });
    expect(attributor.scope).toBe('cgroup');
    attributor.close();
  });
});

describeShared('hybrid host and named scopes: the ubuntu1804 and docker2 captures', () => {
  it('hybrid: CPU from the unified cpu.stat, memory from the v1 memory hierarchy', () => {
    const r = root();
    extractZip(join(shared, 'elastic-agent-system-metrics__ubuntu1804__hybrid-v1-v2.zip'), r);
    const cg = join(r, 'ubuntu1804/sys/fs/cgroup');
    writeFileSync(join(cg, 'unified/cgroup.controllers'), '\n'); // the unified root's interface file, left out of the capture
    const layout = detectCgroupLayout(cg);
    expect(layout.v2Root).toBe(join(cg, 'unified'));
    const paths = cgroupPathsOf(parseProcCgroup(readFileSync(join(r, 'ubuntu1804/proc/3757/cgroup'), 'latin1')));
    const job = resolveJobCgroup(layout, paths);
    expect(job.cpu).toEqual({ version: 2, dir: join(cg, 'unified/system.slice/networkd-dispatcher.service') });
    expect(job.memory).toEqual({ version: 1, dir: join(cg, 'memory/system.slice/networkd-dispatcher.service') });
    const counters = new CgroupCounters(job);
    expect(counters.read().cpuMicros).toBeGreaterThan(0);
    counters.close();
  });

  it('a systemd scope named on the command line is a job (v2 session scope)', () => {
    const r = root();
    extractZip(join(shared, 'elastic-agent-system-metrics__docker2__v2-user-session-cgroupns.zip'), r);
    const cg = join(r, 'docker2/sys/fs/cgroup');
    writeFileSync(join(cg, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const attributor = new NodeAttributor({
      policy: 'proportional', devices: DEVICES.slice(0, 2), procfsRoot: join(r, 'docker2/proc'), cgroupRoot: cg, warn: () => undefined,
      scopes: ['session-520.scope'], nodeUsage: new ScriptedNode([nodeAt(0, 0), nodeAt(100, 200, 20 * GIB)]),
    });
    expect(attributor.discover()).toEqual([{ id: 'scope-session-520', kind: 'scope', paths: { v2: '/user.slice/user-1000.slice/session-520.scope' } }]);
    attributor.tick();
    const tick = attributor.tick();
    // memory.current 10 498 404 352 − inactive_file 6 685 749 248 of 20 GiB used.
    expect(tick.jobs.get('scope-session-520')!.shares.get('ram')).toBeCloseTo((10498404352 - 6685749248) / (20 * GIB), 12);
    attributor.close();
  });
});
