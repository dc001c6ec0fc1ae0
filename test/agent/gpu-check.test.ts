import { describe, expect, it } from 'vitest';
import { UsageError } from '../../agent/errors.js';
import { checkRequestedGpus, type ProbeOutcome } from '../../agent/select-collectors.js';

const probe = (name: string, result: Partial<ProbeOutcome['result']>, skipped?: string): ProbeOutcome =>
  ({ name, result: { found: false, devices: [], ...result }, ...(skipped ? { skipped } : {}) });

describe('checkRequestedGpus', () => {
  const nvml = (unmatched: string[]) => probe('nvml', { found: unmatched.length < 2, gpus: { unmatched, available: ['0 (GPU-aaaa…)', '1 (GPU-bbbb…)'] } });

  it('accepts a --gpus every entry of which one GPU collector found', () => {
    expect(checkRequestedGpus(['1'], [nvml([]), probe('nvidia-smi', {}, 'not needed: nvml works'), probe('cpu', { found: true })])).toBeUndefined();
  });

  it('refuses one naming a GPU that is not there, naming the GPUs found', () => {
    expect(() => checkRequestedGpus(['0', '7'], [nvml(['7'])])).toThrow(new UsageError("--gpus 0,7: no GPU '7' here; found 0 (GPU-aaaa…), 1 (GPU-bbbb…) (nvml): pass indices or UUIDs from that list"));
  });

  it('refuses one on a machine where no GPU collector found a GPU, with their reasons', () => {
    expect(() => checkRequestedGpus(['0'], [probe('nvml', { why: 'libnvidia-ml.so.1 not found' }), probe('amdgpu', { why: 'no AMD GPU' })]))
      .toThrow(new UsageError('--gpus 0: no GPU found on this machine (nvml: libnvidia-ml.so.1 not found; amdgpu: no AMD GPU); leave --gpus out, or see `wattprint doctor`'));
  });

  it('only warns when no GPU collector is selected, since --gpus then changes nothing', () => {
    expect(checkRequestedGpus(['0'], [probe('cpu', { found: true }), probe('ram', { found: true })])).toBe('--gpus 0 has no effect: no GPU collector is selected (--collectors)');
  });
});
