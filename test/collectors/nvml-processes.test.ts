/** Per-process GPU use through the stub libnvidia-ml: compute processes, SM samples, MIG instances. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeNvml } from '../../collectors/nvml.js';
import type { NvmlCollector } from '../../collectors/nvml/reader.js';
import type { NvmlProcessReader } from '../../collectors/nvml/processes.js';
import { Attributor } from '../../collectors/lib/attributor.js';
import type { NodeSample, NodeUsageSource } from '../../collectors/lib/node-usage.js';
import type { ReadResult } from '../../src/types.js';
import { NvmlStubHarness, h100 } from '../fixtures/nvml-stub/stub-harness.js';

let stub: NvmlStubHarness;
beforeAll(() => {
  stub = new NvmlStubHarness();
});
afterAll(() => stub.remove());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
});
function sleeper(): number {
  const c = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  children.push(c);
  return c.pid!;
}

const GIB = 1024 ** 3;
const idleNode: NodeUsageSource = {
  read: (): NodeSample => ({ busyTicks: 0, totalTicks: 0, memTotalBytes: GIB, memUsedBytes: GIB }),
  close: () => undefined,
};

/** open probes the stub with a script and returns the collector and its process reader. */
function open(script: string): { collector: NvmlCollector; reader: NvmlProcessReader } {
  stub.script(script);
  const probe = probeNvml(stub.ctx(), { energyReads: 'sync' });
  expect(probe.found).toBe(true);
  const collector = probe.collector as NvmlCollector;
  return { collector, reader: collector.processReader() };
}

describe('NvmlProcessReader against the stub', () => {
  it('lists the compute processes with their memory and mean SM % since the last read', () => {
    const { collector, reader } = open(h100('GPU-aaaa', '0 1000', '250000', `
proc 4242 4294967296
proc 4343 na
util 4242 70 10 -
util 4343 30 20 -
`));
    expect(reader.read().get('gpu0')).toEqual({
      processes: [{ pid: 4242, usedMemoryBytes: 4 * GIB, smUtilPercent: 70 }, { pid: 4343, smUtilPercent: 30 }], mig: false, smSamples: true,
    });
    expect(reader.read().get('gpu0')!.processes.map((p) => p.smUtilPercent)).toEqual([10, 20]);
    // No sample newer than the last one seen: NVML_ERROR_NOT_FOUND, i.e. nobody had SM time.
    expect(reader.read().get('gpu0')!.processes.map((p) => p.smUtilPercent)).toEqual([0, 0]);
    collector.close();
  });

  it('grows its buffer when more processes run than it has room for (INSUFFICIENT_SIZE)', () => {
    const procs = Array.from({ length: 80 }, (_, i) => `proc ${1000 + i} ${i}\nutil ${1000 + i} ${i % 100}`).join('\n');
    const { collector, reader } = open(h100('GPU-aaaa', '0 1000', '250000', procs));
    const snapshot = reader.read().get('gpu0')!;
    expect(snapshot.processes).toHaveLength(80);
    expect(snapshot.processes[79]).toEqual({ pid: 1079, usedMemoryBytes: 79, smUtilPercent: 79 });
    collector.close();
  });

  it('a driver refusing the process list leaves the GPU out of the map, with the reason', () => {
    const { collector, reader } = open(h100('GPU-aaaa', '0 1000', '250000', 'proc 1 1\nprocs_rc ns'));
    expect(reader.read().has('gpu0')).toBe(false);
    expect(reader.lastError.get('gpu0')).toBe('nvmlDeviceGetComputeRunningProcesses_v3: Not Supported (3)');
    collector.close();
  });

  it('MIG: processes carry their GPU instance, and instances their slice counts', () => {
    const { collector, reader } = open(h100('GPU-aaaa', '0 1000', '250000', 'mig 1\nproc 4242 1024 1 0\nproc 4343 1024 2 0\nmig_slices 1:3 2:4'));
    expect(reader.read().get('gpu0')).toEqual({
      processes: [{ pid: 4242, usedMemoryBytes: 1024, gpuInstanceId: 1 }, { pid: 4343, usedMemoryBytes: 1024, gpuInstanceId: 2 }],
      mig: true, smSamples: false, instanceSlices: new Map([[1, 3], [2, 4]]),
    });
    collector.close();
  });
});

describe('GPU energy split through the attributor (stub NVML)', () => {
  it('two processes at 70/30 SM utilisation split the GPU\'s energy 70/30 within 2%', async () => {
    const job = sleeper();
    // The other process is pid 1 (visible here, not the job's). SM samples vary around 70/30 per tick, and
    // the GPU's energy per tick varies too, so the split is an energy-weighted result, not one number.
    const jobSm = [72, 69, 71, 68, 70, 70];
    const otherSm = [28, 31, 29, 32, 30, 30];
    const energyMillijoules = [0, 150_000, 420_000, 600_000, 1_050_000, 1_200_000, 1_500_000];
    const { collector, reader } = open(h100('GPU-aaaa', `1 ${energyMillijoules.join(' ')}`, '250000', `
proc ${job} 8589934592
proc 1 2147483648
util ${job} ${jobSm.join(' ')}
util 1 ${otherSm.join(' ')}
`));
    const attributor = new Attributor({
      scope: { kind: 'process-tree', rootPid: job }, policy: 'proportional', devices: collector.devices, procfsRoot: '/proc',
      cgroupRoot: '/nonexistent', warn: () => undefined, gpuProcesses: reader, nodeUsage: idleNode,
    });
    let last = ((await collector.read()) as ReadResult).readings[0]!.counterJoules!;
    expect(attributor.tick().baseline).toBe(true);
    let gpuJoules = 0;
    let jobJoules = 0;
    for (let i = 0; i < jobSm.length; i++) {
      const now = ((await collector.read()) as ReadResult).readings[0]!.counterJoules!;
      const share = attributor.tick().shares.get('gpu0')!;
      gpuJoules += now - last;
      jobJoules += share * (now - last);
      last = now;
    }
    attributor.close();
    collector.close();
    expect(gpuJoules).toBe(1500 - 0);
    expect(Math.abs(jobJoules / gpuJoules - 0.7)).toBeLessThan(0.02);
  });
});
