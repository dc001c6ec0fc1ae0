import { amdgpuFactory } from './amdgpu.js';
import { cpuFactory } from './cpu.js';
import { nvidiaSmiFactory } from './nvidia-smi.js';
import { nvmlFactory } from './nvml.js';
import { ramFactory } from './ram.js';
import { raplFactory } from './rapl.js';
import { simFactory } from './sim.js';
import { tpuFactory } from './tpu.js';
import type { CollectorFactory } from './types.js';

/**
 * COLLECTORS is the explicit list of power sources, in probing order: hardware that measures first, then the
 * models, which only cover kinds nothing measured. Adding a source is one file plus one line here.
 */
export const COLLECTORS: readonly CollectorFactory[] = [
  nvmlFactory,
  nvidiaSmiFactory,
  amdgpuFactory,
  tpuFactory,
  raplFactory,
  cpuFactory,
  ramFactory,
  simFactory,
];

/** COLLECTOR_NAMES lists the names `--collectors` accepts. */
export const COLLECTOR_NAMES: readonly string[] = COLLECTORS.map((f) => f.name);
