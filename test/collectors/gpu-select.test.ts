import { describe, expect, it } from 'vitest';
import { describeUnmatched, selectGpus, type GpuIdentity } from '../../collectors/lib/gpu-select.js';

const GPUS: GpuIdentity[] = [
  { index: 0, uuid: 'GPU-8932f937-d72c-4106-c12f-20bd9faed9f6' },
  { index: 1, uuid: 'GPU-8932aaaa-0000-0000-0000-000000000001', migUuids: ['MIG-11111111-2222-3333-4444-555555555555'] },
  { index: 2, uuid: 'GPU-ffff0000-0000-0000-0000-000000000002' },
];

describe('selectGpus (CUDA_VISIBLE_DEVICES rules)', () => {
  it('selects every GPU when nothing is requested', () => {
    expect(selectGpus(undefined, GPUS)).toEqual({ indices: [0, 1, 2], unmatched: [], viaMig: [] });
  });

  it('selects by physical index in request order, without duplicates', () => {
    expect(selectGpus(['2', ' 0 ', '2'], GPUS)).toEqual({ indices: [2, 0], unmatched: [], viaMig: [] });
  });

  it('selects nothing for an empty CUDA_VISIBLE_DEVICES', () => {
    expect(selectGpus([''], GPUS)).toEqual({ indices: [], unmatched: [], viaMig: [] });
    expect(selectGpus([], GPUS)).toEqual({ indices: [], unmatched: [], viaMig: [] });
  });

  it('matches full UUIDs and unique UUID prefixes, case-insensitively', () => {
    expect(selectGpus(['GPU-FFFF0000-0000-0000-0000-000000000002', 'GPU-8932f'], GPUS).indices).toEqual([2, 0]);
  });

  it('stops at an ambiguous prefix like CUDA does', () => {
    expect(selectGpus(['2', 'GPU-8932', '0'], GPUS)).toEqual({ indices: [2], unmatched: ['GPU-8932', '0'], viaMig: [] });
  });

  it('stops at -1 and at an index the driver does not report', () => {
    expect(selectGpus(['0', '-1', '1'], GPUS)).toEqual({ indices: [0], unmatched: ['-1', '1'], viaMig: [] });
    expect(selectGpus(['7'], GPUS)).toEqual({ indices: [], unmatched: ['7'], viaMig: [] });
  });

  it('maps MIG UUIDs (current and legacy form) to their physical GPU', () => {
    expect(selectGpus(['MIG-11111111-2222-3333-4444-555555555555'], GPUS)).toEqual({ indices: [1], unmatched: [], viaMig: [1] });
    expect(selectGpus(['MIG-GPU-ffff0000-0000-0000-0000-000000000002/1/0'], GPUS)).toEqual({ indices: [2], unmatched: [], viaMig: [2] });
    expect(selectGpus(['MIG-99999999-0000-0000-0000-000000000000'], GPUS).unmatched).toEqual(['MIG-99999999-0000-0000-0000-000000000000']);
  });

  it('describes unmatched entries in one line', () => {
    expect(describeUnmatched(selectGpus(['0', 'bogus'], GPUS), 3)).toBe(
      "GPU selection entries 'bogus' match none of the 3 GPUs the driver reports (or follow one that does not; CUDA ignores the rest)",
    );
    expect(describeUnmatched(selectGpus(['0'], GPUS), 3)).toBeUndefined();
  });
});
