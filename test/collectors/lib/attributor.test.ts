/** Attributor: its scopes and fallbacks (cgroup → process tree → node, each with one line and a note) and GPUs. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Attributor, type AttributorOptions } from '../../../collectors/lib/attributor.js';
import type { NodeSample, NodeUsageSource } from '../../../collectors/lib/node-usage.js';
import type { GpuProcessSnapshot } from '../../../collectors/lib/gpu-processes.js';
import type { DeviceInfo } from '../../../src/types.js';
import { buildTree, removeTree, tempRoot } from '../../helpers/sysfs-tree.js';

const CPU: DeviceInfo = { id: 'cpu', kind: 'cpu', name: 'CPU', method: 'modelled', collector: 'cpu' };
const RAM: DeviceInfo = { id: 'ram', kind: 'dram', name: 'RAM', method: 'modelled', collector: 'ram' };
const GPU0: DeviceInfo = { id: 'gpu0', kind: 'gpu', name: 'GPU', method: 'counter', collector: 'nvml' };
const TPU: DeviceInfo = { id: 'tpu0', kind: 'tpu', name: 'TPU', method: 'modelled', collector: 'tpu' };
const GIB = 1024 ** 3;

const children: ChildProcess[] = [];
const roots: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  roots.splice(0).forEach(removeTree);
});

/** sleeper starts a real idle process to be the job. */
function sleeper(): number {
  const c = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  children.push(c);
  return c.pid!;
}

class ScriptedNode implements NodeUsageSource {
  private i = 0;
  constructor(private readonly samples: NodeSample[]) {}
  read(): NodeSample {
    return this.samples[Math.min(this.i++, this.samples.length - 1)]!;
  }
  close(): void {}
}
const node = () => new ScriptedNode([
  { busyTicks: 0, totalTicks: 0, memTotalBytes: 64 * GIB, memUsedBytes: 16 * GIB },
  { busyTicks: 100, totalTicks: 400, memTotalBytes: 64 * GIB, memUsedBytes: 16 * GIB },
]);

function make(over: Partial<AttributorOptions>, warnings: string[]): Attributor {
  return new Attributor({
    scope: { kind: 'node' }, policy: 'proportional', devices: [CPU, RAM], procfsRoot: '/proc', cgroupRoot: '/nonexistent',
    warn: (l) => warnings.push(l), nodeUsage: node(), ...over,
  });
}

/** v2Tree makes a cgroup v2 root with one scope whose cpu.stat is given. */
function v2Tree(cpuStat: string, withMemory = true): string {
  const r = tempRoot('wattprint-attr-');
  roots.push(r);
  buildTree(r, {
    'cgroup.controllers': 'cpu memory',
    'system.slice/train.scope/cpu.stat': cpuStat,
    ...(withMemory ? { 'system.slice/train.scope/memory.current': '1048576' } : {}),
  });
  return r;
}

describe('Attributor scopes and fallbacks', () => {
  it('--attribution node: every share is 1, said once in the notes, no warning', () => {
    const warnings: string[] = [];
    const a = make({}, warnings);
    const tick = a.tick();
    expect(tick).toMatchObject({ scope: 'node', policy: 'proportional', baseline: false });
    expect([...tick.shares]).toEqual([['cpu', 1], ['ram', 1]]);
    expect(tick.notes).toEqual(["attribution off (--attribution node): every device's whole energy is charged to the job"]);
    expect(warnings).toEqual([]);
  });

  it('a named scope that works: cgroup scope, its own counters', () => {
    const cg = v2Tree('usage_usec 1000000\nuser_usec 1\nsystem_usec 1\n');
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'cgroup', name: 'train.scope' }, cgroupRoot: cg }, warnings);
    expect(a.scope).toBe('cgroup');
    a.tick();
    buildTree(cg, { 'system.slice/train.scope/cpu.stat': 'usage_usec 1250000\n' });
    const tick = a.tick();
    expect(tick.shares.get('cpu')).toBe(0.25);
    expect(tick.shares.get('ram')).toBe(1048576 / (16 * GIB));
    expect(warnings).toEqual([]);
  });

  it('a named scope that does not exist → the process tree, with one line', () => {
    const pid = sleeper();
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'cgroup', name: 'nosuch.scope', rootPid: pid }, cgroupRoot: v2Tree('usage_usec 1\n') }, warnings);
    expect(a.scope).toBe('process-tree');
    expect(warnings).toEqual([`wattprint: attribution: cgroup nosuch.scope not found; measuring the process tree of pid ${pid} instead`]);
    expect(a.tick().notes).toEqual([warnings[0]!.slice('wattprint: '.length)]);
    expect(a.memberPids()).toEqual([pid]);
  });

  it('v1/v2 mix: a cpu.stat without usage_usec → the process tree at the first read, then measured', () => {
    // The EKS capture's v1 cpu.stat, found where a v2 one was expected.
    const cg = v2Tree('nr_periods 0\nnr_throttled 0\nthrottled_time 0\n');
    const pid = sleeper();
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'cgroup', name: 'train.scope', rootPid: pid }, cgroupRoot: cg }, warnings);
    expect(a.scope).toBe('cgroup');
    const first = a.tick();
    expect(first.scope).toBe('process-tree');
    expect(first.baseline).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(`wattprint: attribution: cgroup read failed (parse ${join(cg, 'system.slice/train.scope/cpu.stat')}: `
      + `cpu.stat has no usage_usec line (a cgroup v1 cpu.stat?)); measuring the process tree of pid ${pid} instead`);
    const second = a.tick();
    expect(second.scope).toBe('process-tree');
    expect(second.shares.get('cpu')).toBe(0); // a sleeping job
    expect(second.shares.get('ram')!).toBeGreaterThan(0);
    expect(second.notes).toEqual([warnings[0]!.slice('wattprint: '.length)]);
    expect(warnings).toHaveLength(1);
  });

  it('a cgroup without a memory counter → the process tree at once', () => {
    const pid = sleeper();
    const warnings: string[] = [];
    const cg = v2Tree('usage_usec 5\n', false);
    const a = make({ scope: { kind: 'cgroup', name: 'train.scope', rootPid: pid }, cgroupRoot: cg }, warnings);
    expect(a.scope).toBe('process-tree');
    expect(warnings[0]).toMatch(/cgroup \/system.slice\/train.scope unreadable \(no memory.current \(v2\) or memory group \(v1\) for this cgroup\); measuring the process tree/);
  });

  it('then to the node when the root cannot be read either — said, never silent', () => {
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'cgroup', name: 'nosuch.scope', rootPid: 999_999_999 }, cgroupRoot: v2Tree('usage_usec 1\n') }, warnings);
    expect(a.scope).toBe('node');
    expect(warnings).toEqual([
      'wattprint: attribution: cgroup nosuch.scope not found; measuring the process tree of pid 999999999 instead',
      "wattprint: attribution: process 999999999 unreadable (no such process); charging the job every device's whole energy",
    ]);
    const tick = a.tick();
    expect(tick.scope).toBe('node');
    expect([...tick.shares.values()]).toEqual([1, 1]);
    expect(tick.notes).toEqual(warnings.map((w) => w.slice('wattprint: '.length)));
  });

  // As root the kernel ignores file modes, so the attributor runs in a child as nobody (uid 65534) through
  // setpriv, from the build in dist/ (npm test builds it first).
  const dist = fileURLToPath(new URL('../../../dist/collectors/lib/attributor.js', import.meta.url));
  const canDrop = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') && existsSync(dist);
  it.skipIf(!canDrop)('a cgroup the agent may not read (EACCES) → the process tree, with one line (as nobody)', () => {
    const r = tempRoot('wattprint-attr-');
    roots.push(r);
    buildTree(r, {
      'cgroup.controllers': 'cpu memory',
      'system.slice/train.scope/cpu.stat': { content: 'usage_usec 5\n', mode: 0o400 },
      'system.slice/train.scope/memory.current': '4096',
    });
    const pid = sleeper();
    const options = { scope: { kind: 'cgroup', name: 'train.scope', rootPid: pid }, policy: 'proportional', devices: [CPU, RAM], procfsRoot: '/proc', cgroupRoot: r };
    const script = `import(${JSON.stringify(dist)}).then(({ Attributor }) => {
      const warnings = [];
      const a = new Attributor({ ...${JSON.stringify(options)}, warn: (l) => warnings.push(l) });
      process.stdout.write(JSON.stringify({ scope: a.scope, warnings, notes: a.tick().notes }));
      a.close();
    });`;
    const out = JSON.parse(execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    })) as { scope: string; warnings: string[]; notes: string[] };
    const line = `attribution: cgroup /system.slice/train.scope unreadable (EACCES: permission denied, open '${join(r, 'system.slice/train.scope/cpu.stat')}'); `
      + `measuring the process tree of pid ${pid} instead`;
    expect(out).toEqual({ scope: 'process-tree', warnings: [`wattprint: ${line}`], notes: [line] });
  });

  it('auto: a job outside any job cgroup (this machine) is measured as a process tree', () => {
    const pid = sleeper();
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'auto', rootPid: pid }, cgroupRoot: '/sys/fs/cgroup' }, warnings);
    expect(a.scope).toBe('process-tree');
    expect(warnings).toEqual([]);
  });

  it('a TPU (or other kind) is not attributed: the whole device, with a note', () => {
    const pid = sleeper();
    const a = make({ scope: { kind: 'process-tree', rootPid: pid }, devices: [CPU, TPU] }, []);
    a.tick();
    const tick = a.tick();
    expect(tick.shares.get('tpu0')).toBe(1);
    expect(tick.notes).toContain("tpu0: tpu energy is not attributed; its whole energy is charged to the job");
  });
});

describe('Attributor on GPUs', () => {
  const gpus = (snapshot: GpuProcessSnapshot | undefined) => ({
    read: () => new Map(snapshot ? [['gpu0', snapshot]] : []),
    close: () => undefined,
  });

  it('splits a shared GPU by SM time between the job\'s process and another one', () => {
    const pid = sleeper();
    // pid 1 stands for another user's process: visible, not the job's.
    const snapshot = { processes: [{ pid, smUtilPercent: 70 }, { pid: 1, smUtilPercent: 30 }], mig: false, smSamples: true };
    const a = make({ scope: { kind: 'process-tree', rootPid: pid }, devices: [GPU0], gpuProcesses: gpus(snapshot) }, []);
    a.tick();
    expect(a.tick().shares.get('gpu0')).toBeCloseTo(0.7, 12);
  });

  it('a GPU nobody uses: all of it under proportional (it was given to the job), nothing under none', () => {
    const pid = sleeper();
    const empty = { processes: [], mig: false, smSamples: true };
    for (const [policy, share] of [['proportional', 1], ['none', 0]] as const) {
      const a = make({ scope: { kind: 'process-tree', rootPid: pid }, devices: [GPU0], policy, gpuProcesses: gpus(empty) }, []);
      a.tick();
      expect(a.tick().shares.get('gpu0')).toBe(share);
    }
  });

  it('no process list, or processes from another pid namespace: the whole GPU, said once', () => {
    const pid = sleeper();
    const warnings: string[] = [];
    const a = make({ scope: { kind: 'process-tree', rootPid: pid }, devices: [GPU0], gpuProcesses: gpus(undefined) }, warnings);
    a.tick();
    a.tick();
    expect(a.tick().shares.get('gpu0')).toBe(1);
    expect(warnings).toEqual(["wattprint: gpu0: per-process GPU use unreadable; its whole energy is charged to the job"]);
    const foreign = { processes: [{ pid: 999_999_998, smUtilPercent: 50 }], mig: false, smSamples: true };
    const b = make({ scope: { kind: 'process-tree', rootPid: pid }, devices: [GPU0], gpuProcesses: gpus(foreign) }, warnings);
    b.tick();
    expect(b.tick().shares.get('gpu0')).toBe(1);
    expect(warnings[1]).toBe("wattprint: gpu0: its processes are not visible in this pid namespace; its whole energy is charged to the job");
  });
});
