import { describe, expect, it } from 'vitest';
import { carrySplit, clampShare, counterDelta, splitUsage } from '../../src/attribution/shares.js';
import { gpuBasisNote, gpuUsage, migUsage, MIG_COMPUTE_SLICES } from '../../src/attribution/gpu-usage.js';
import { ShareTimeline } from '../../src/attribution/timeline.js';

const usage = (consumers: Record<string, number>, activity: number, capacity: number) => ({
  consumers: new Map(Object.entries(consumers)), activity, capacity,
});

describe('splitUsage: the share formula', () => {
  it('proportional: a lone busy job gets the whole device, idle included', () => {
    // 2 CPUs over 1 s = 2 CPU-seconds of capacity; the job used 0.9 of the node's 1.0 busy second.
    const split = splitUsage(usage({ job: 0.9 }, 1.0, 2.0), 'proportional')!;
    expect(split.shares.get('job')).toBeCloseTo(0.9, 12);
    expect(split.unattributed).toBeCloseTo(0.1, 12);
    expect(splitUsage(usage({ job: 1.0 }, 1.0, 2.0), 'proportional')!.shares.get('job')).toBe(1);
  });

  it('proportional: two equal jobs get half each', () => {
    const split = splitUsage(usage({ a: 0.8, b: 0.8 }, 1.6, 2), 'proportional')!;
    expect(split.shares.get('a')).toBe(0.5);
    expect(split.shares.get('b')).toBe(0.5);
    expect(split.unattributed).toBe(0);
  });

  it('none: only the capacity used is charged; idle capacity goes unattributed', () => {
    const split = splitUsage(usage({ job: 0.5 }, 0.6, 2), 'none')!;
    expect(split.shares.get('job')).toBe(0.25);
    expect(split.unattributed).toBe(0.75);
    // A job using every CPU the whole tick pays for all of it under either policy.
    expect(splitUsage(usage({ job: 2 }, 2, 2), 'none')!.shares.get('job')).toBe(1);
  });

  it('none never charges more than proportional', () => {
    for (const [u, a, c] of [[0.1, 0.5, 2], [1, 1, 4], [0.3, 2, 2], [0, 1, 1]] as const) {
      const p = splitUsage(usage({ job: u }, a, c), 'proportional')!.shares.get('job')!;
      const n = splitUsage(usage({ job: u }, a, c), 'none')!.shares.get('job')!;
      expect(n).toBeLessThanOrEqual(p);
    }
  });

  it('a job measured above the node (reads a few ms apart) is capped so shares never pass 1', () => {
    const split = splitUsage(usage({ a: 1.2, b: 0.6 }, 1.5, 2), 'proportional')!;
    expect(split.shares.get('a')).toBeCloseTo(1.2 / 1.8, 12);
    expect(split.shares.get('b')).toBeCloseTo(0.6 / 1.8, 12);
    expect(split.unattributed).toBe(0);
  });

  it('a tick with zero busy time carries no information under proportional (undefined), 0 under none', () => {
    expect(splitUsage(usage({ job: 0 }, 0, 2), 'proportional')).toBeUndefined();
    const none = splitUsage(usage({ job: 0 }, 0, 2), 'none')!;
    expect(none.shares.get('job')).toBe(0);
    expect(none.unattributed).toBe(1);
    // A zero-length tick has no capacity either.
    expect(splitUsage(usage({ job: 0 }, 0, 0), 'none')).toBeUndefined();
  });

  it('negative or NaN use counts as 0', () => {
    const split = splitUsage(usage({ a: -3, b: Number.NaN, c: 1 }, 2, 4), 'proportional')!;
    expect([...split.shares.values()]).toEqual([0, 0, 0.5]);
    expect(split.unattributed).toBe(0.5);
  });

  it('carrySplit keeps the previous shares of the consumers still present', () => {
    const previous = splitUsage(usage({ a: 1, b: 1 }, 4, 4), 'proportional')!;
    const carried = carrySplit(previous, new Set(['a']))!;
    expect([...carried.shares]).toEqual([['a', 0.25]]);
    expect(carried.unattributed).toBe(0.75);
    expect(carrySplit(undefined, new Set(['a']))).toBeUndefined();
  });
});

describe('counterDelta', () => {
  it('is next − prev for a counter that grew', () => {
    expect(counterDelta(100, 250)).toBe(150);
    expect(counterDelta(5, 5)).toBe(0);
  });
  it('is undefined when a counter went backwards (cgroup recreated, pid reused, new boot) or a side is missing', () => {
    expect(counterDelta(250, 100)).toBeUndefined();
    expect(counterDelta(undefined, 100)).toBeUndefined();
    expect(counterDelta(1, Number.NaN)).toBeUndefined();
  });
  it('clampShare keeps shares in [0, 1]', () => {
    expect([clampShare(-0.1), clampShare(0.4), clampShare(1.7), clampShare(Number.NaN)]).toEqual([0, 0.4, 1, 0]);
  });
});

describe('gpuUsage', () => {
  const owner = (jobPids: number[]) => (pid: number) => (jobPids.includes(pid) ? 'job' : undefined);

  it('splits by SM utilisation: 70/30', () => {
    const g = gpuUsage([{ pid: 10, smUtilPercent: 70 }, { pid: 20, smUtilPercent: 30 }], owner([10]));
    expect(g.basis).toBe('sm');
    expect(splitUsage(g.usage, 'proportional')!.shares.get('job')).toBeCloseTo(0.7, 12);
    // none: the job used 70 % of the SMs' time.
    expect(splitUsage(g.usage, 'none')!.shares.get('job')).toBeCloseTo(0.7, 12);
  });

  it('a GPU only the job uses is the job\'s whatever its utilisation (proportional)', () => {
    const g = gpuUsage([{ pid: 10, smUtilPercent: 12 }, { pid: 11, smUtilPercent: 3 }], owner([10, 11]));
    expect(splitUsage(g.usage, 'proportional')!.shares.get('job')).toBe(1);
    expect(splitUsage(g.usage, 'none')!.shares.get('job')).toBeCloseTo(0.15, 12);
  });

  it('without SM time in the tick, splits by memory held, then by process count', () => {
    const mem = gpuUsage([{ pid: 10, smUtilPercent: 0, usedMemoryBytes: 3e9 }, { pid: 20, usedMemoryBytes: 1e9 }], owner([10]));
    expect(mem.basis).toBe('memory');
    expect(splitUsage(mem.usage, 'proportional')!.shares.get('job')).toBe(0.75);
    const count = gpuUsage([{ pid: 10 }, { pid: 20 }, { pid: 30 }], owner([10]));
    expect(count.basis).toBe('count');
    expect(splitUsage(count.usage, 'proportional')!.shares.get('job')).toBeCloseTo(1 / 3, 12);
    expect(gpuBasisNote('gpu0', 'memory', 'none')).toContain('cannot separate idle power');
    expect(gpuBasisNote('gpu0', 'sm', 'none')).toBeUndefined();
  });

  it('MPS processes adding past 100 % are normalised', () => {
    const g = gpuUsage([{ pid: 10, smUtilPercent: 90 }, { pid: 20, smUtilPercent: 60 }], owner([10]));
    expect(splitUsage(g.usage, 'none')!.shares.get('job')).toBeCloseTo(0.6, 12);
  });

  it('MIG: by the slices of the instances the job runs on', () => {
    const slices = new Map([[1, 3], [2, 4]]);
    const procs = [{ pid: 10, gpuInstanceId: 1 }, { pid: 20, gpuInstanceId: 2 }];
    const g = migUsage(procs, owner([10]), slices);
    expect(g.basis).toBe('mig-slices');
    expect(splitUsage(g.usage, 'proportional')!.shares.get('job')).toBeCloseTo(3 / 7, 12);
    // Alone on a 3-slice instance: all of it under proportional, 3 of the GPU's 7 slices under none.
    const alone = migUsage([{ pid: 10, gpuInstanceId: 1 }], owner([10]), slices);
    expect(splitUsage(alone.usage, 'proportional')!.shares.get('job')).toBe(1);
    expect(splitUsage(alone.usage, 'none')!.shares.get('job')).toBeCloseTo(3 / MIG_COMPUTE_SLICES, 12);
    // Two processes of different jobs on one instance share its slices by memory.
    const shared = migUsage([{ pid: 10, gpuInstanceId: 1, usedMemoryBytes: 1 }, { pid: 20, gpuInstanceId: 1, usedMemoryBytes: 3 }], owner([10]), slices);
    expect(splitUsage(shared.usage, 'proportional')!.shares.get('job')).toBe(0.25);
  });
});

describe('ShareTimeline', () => {
  it('charges a longer interval the time-weighted mean of the ticks it spans', () => {
    const t = new ShareTimeline();
    t.record(0, 1000, new Map([['cpu', 0.2]]));
    t.record(1000, 2000, new Map([['cpu', 0.6]]));
    t.record(2000, 4000, new Map([['cpu', 1]]));
    expect(t.shareOver('cpu', 0, 2000)).toBeCloseTo(0.4, 12);
    expect(t.shareOver('cpu', 500, 3000)).toBeCloseTo((0.2 * 500 + 0.6 * 1000 + 1 * 1000) / 2500, 12);
    expect(t.shareOver('cpu', 5000, 6000)).toBeUndefined();
    expect(t.shareOver('gpu0', 0, 1000)).toBeUndefined();
    expect(t.shareOver('cpu', 1500, 1500)).toBe(0.6);
  });

  it('forgets spans older than its horizon', () => {
    const t = new ShareTimeline(1000);
    t.record(0, 1000, new Map([['cpu', 0.2]]));
    t.record(1000, 2000, new Map([['cpu', 0.6]]));
    t.record(2000, 3000, new Map([['cpu', 0.8]]));
    expect(t.shareOver('cpu', 0, 1000)).toBeUndefined();
    expect(t.shareOver('cpu', 1000, 3000)).toBeCloseTo(0.7, 12);
  });
});
