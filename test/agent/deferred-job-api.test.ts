import { describe, expect, it } from 'vitest';
import { DeferredJobApi } from '../../agent/deferred-job-api.js';
import { JobInputError, type JobApi, type JobProgress, type PhaseEvent } from '../../src/exporters/job-api.js';

// `run` answers the job's API before the tracker exists (it probes the collectors beside the job): calls are
// checked, kept and replayed in order.

function recorder(): JobApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    phase: (e: PhaseEvent) => { calls.push(`${e.event} ${e.id}@${e.atMs}`); },
    progress: (p: JobProgress) => { calls.push(`progress ${p.fraction}@${p.atMs}`); },
  };
}

describe('DeferredJobApi', () => {
  it('keeps calls made before the tracker exists and replays them in order, then forwards', () => {
    const api = new DeferredJobApi();
    api.phase({ event: 'start', id: 'p1', name: 'warmup', atMs: 1000 });
    api.progress({ fraction: 0.1, atMs: 1500 });
    api.phase({ event: 'end', id: 'p1', atMs: 2000 });
    const target = recorder();
    api.attach(target);
    expect(target.calls).toEqual(['start p1@1000', 'progress 0.1@1500', 'end p1@2000']);
    api.phase({ event: 'start', id: 'p2', name: 'train', atMs: 3000 });
    expect(target.calls.at(-1)).toBe('start p2@3000');
  });

  it('refuses at once what the tracker would refuse: ending a phase never started, reusing an id', () => {
    const api = new DeferredJobApi();
    expect(() => api.phase({ event: 'end', id: 'nope', atMs: 1 })).toThrow(new JobInputError("no open phase with id 'nope'", 404));
    api.phase({ event: 'start', id: 'p1', name: 'eval', atMs: 1 });
    api.phase({ event: 'start', id: 'p1', name: 'eval', atMs: 2 }); // a retried start is no conflict
    expect(() => api.phase({ event: 'start', id: 'p1', name: 'train', atMs: 3 })).toThrow(JobInputError);
    const target = recorder();
    api.attach(target);
    expect(target.calls).toEqual(['start p1@1']);
  });
});
