/**
 * nvml: NVIDIA GPUs through libnvidia-ml. Energy from nvmlDeviceGetTotalEnergyConsumption (mJ since the driver
 * loaded, Volta+) → method 'counter'; GPUs without it fall back to nvmlDeviceGetPowerUsage (mW) → 'sampled'.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceInfo } from '../src/types.js';
import { milliwattsToWatts } from '../src/units.js';
import type { CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { MIG_NOTE, describeUnmatched, gpuNames, selectGpus, type GpuIdentity } from './lib/gpu-select.js';
import { NvmlCollector, type NvmlEnergyReads, type NvmlGpu } from './nvml/reader.js';
import { NVML_RETURN, architectureName, cudaVersionString, loadNvml, type NvmlBindings } from './nvml/ffi.js';

const LOAD_FIX =
  'install the NVIDIA driver (it ships libnvidia-ml.so.1), run containers with the NVIDIA Container Toolkit (--gpus all), or pass --nvml-library PATH';

/** NvmlProbeOptions lets tests and the bench inject the clock (seconds) and pick the energy read path. */
export interface NvmlProbeOptions {
  nowSeconds?: () => number;
  /** 'auto' (default): sync while energy calls are fast, else in parallel on libuv's thread pool. */
  energyReads?: NvmlEnergyReads;
}

/** probeNvml loads NVML, picks the job's GPUs, decides counter vs sampled per GPU and returns the collector. */
export function probeNvml(ctx: CollectorContext, options: NvmlProbeOptions = {}): ProbeResult {
  let nvml: NvmlBindings;
  try {
    nvml = loadNvml(ctx.nvmlLibraryPath);
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    const detail = (cause?.message ?? String(err)).split('\n')[0];
    return { found: false, why: `${ctx.nvmlLibraryPath} not found or not loadable (${detail})`, fix: LOAD_FIX, devices: [] };
  }
  const initCode = nvml.init();
  if (initCode !== NVML_RETURN.SUCCESS) {
    const why = `nvmlInit_v2 failed: ${nvml.errorString(initCode)} (${initCode})`;
    nvml.unload();
    return { found: false, why, fix: initFix(initCode), devices: [] };
  }
  const giveUp = (why: string, fix?: string, details?: ProbeResult['details']): ProbeResult => {
    nvml.shutdown();
    nvml.unload();
    return { found: false, why, fix, devices: [], details };
  };
  const count = nvml.deviceCount();
  if (count.code !== NVML_RETURN.SUCCESS) return giveUp(`nvmlDeviceGetCount_v2 failed: ${nvml.errorString(count.code)}`);
  const details: Record<string, string | number | boolean> = { gpuCount: count.value ?? 0 };
  const driver = nvml.driverVersion();
  if (driver.value !== undefined) details.driverVersion = driver.value;
  const cuda = nvml.cudaDriverVersion();
  if (cuda.value !== undefined) details.cudaVersion = cudaVersionString(cuda.value);

  const visible: Array<GpuIdentity & { handle: unknown }> = [];
  for (let index = 0; index < (count.value ?? 0); index++) {
    const handle = nvml.handleByIndex(index);
    if (handle.code !== NVML_RETURN.SUCCESS) {
      details[`gpu${index}.error`] = nvml.errorString(handle.code);
      continue;
    }
    visible.push({ index, uuid: nvml.uuid(handle.value).value, handle: handle.value });
  }
  const selection = selectGpus(ctx.gpus, visible);
  const unmatched = describeUnmatched(selection, visible.length);
  const gpus: NvmlGpu[] = [];
  const timing = { fastestEnergyCallMicros: Infinity };
  for (const index of selection.indices) {
    const gpu = visible.find((v) => v.index === index)!;
    const info = describeGpu(nvml, gpu.handle, index, gpu.uuid, details, selection.viaMig.includes(index), timing);
    if (info) gpus.push({ info, handle: gpu.handle });
  }
  const gpuReport = { unmatched: selection.unmatched, available: gpuNames(visible) };
  if (gpus.length === 0) {
    const why = unmatched ?? (visible.length === 0 ? 'NVML reports no NVIDIA GPUs' : 'no selected GPU can be measured');
    return { ...giveUp(why, unmatched ? 'fix --gpus or CUDA_VISIBLE_DEVICES' : undefined, details), ...(visible.length ? { gpus: gpuReport } : {}) };
  }
  const epoch = counterEpoch(ctx.procfsRoot, driver.value);
  const collector = new NvmlCollector(nvml, gpus, epoch, {
    nowSeconds: options.nowSeconds,
    energyReads: options.energyReads,
    probeEnergyCallMicros: Number.isFinite(timing.fastestEnergyCallMicros) ? timing.fastestEnergyCallMicros : undefined,
  });
  const devices = gpus.map((g) => g.info);
  const result: ProbeResult = { found: true, devices, details, collector, gpus: gpuReport };
  if (unmatched) Object.assign(result, { why: unmatched, fix: 'fix --gpus or CUDA_VISIBLE_DEVICES' });
  return result;
}

/**
 * describeGpu reads one GPU's static facts and picks its method; undefined when it has neither counter nor
 * power. It times the energy call (µs) into timing: the fastest GPU's call (one preempted call does not
 * count) decides whether the collector starts on the thread pool.
 */
function describeGpu(
  nvml: NvmlBindings,
  handle: unknown,
  index: number,
  uuid: string | undefined,
  details: Record<string, string | number | boolean>,
  viaMig: boolean,
  timing: { fastestEnergyCallMicros: number },
): DeviceInfo | undefined {
  const id = `gpu${index}`;
  const notes: string[] = [];
  const limit = nvml.enforcedPowerLimitMilliwatts(handle);
  const arch = nvml.architecture(handle);
  const bus = nvml.busId(handle);
  const mig = nvml.migMode(handle);
  if (arch.value !== undefined) details[`${id}.architecture`] = architectureName(arch.value);
  if (bus.value !== undefined) details[`${id}.busId`] = bus.value;
  details[`${id}.migMode`] = mig.value === undefined ? 'not supported' : mig.value === 1 ? 'enabled' : 'disabled';
  if (mig.value === 1 || viaMig) notes.push(MIG_NOTE);

  const started = performance.now();
  const energyCode = nvml.totalEnergy(handle, new Uint32Array(2));
  const callMicros = (performance.now() - started) * 1000;
  if (energyCode === NVML_RETURN.SUCCESS) timing.fastestEnergyCallMicros = Math.min(timing.fastestEnergyCallMicros, callMicros);
  let method: DeviceInfo['method'] = 'counter';
  if (energyCode !== NVML_RETURN.SUCCESS) {
    const powerCode = nvml.powerUsage(handle, new Uint32Array(2));
    if (powerCode !== NVML_RETURN.SUCCESS) {
      details[`${id}.error`] = `no energy counter (${nvml.errorString(energyCode)}) and no power reading (${nvml.errorString(powerCode)})`;
      return undefined;
    }
    method = 'sampled';
    notes.push(`no NVML energy counter (${nvml.errorString(energyCode)}): power sampled each tick and integrated`);
  }
  details[`${id}.method`] = method;
  const info: DeviceInfo = { id, kind: 'gpu', name: nvml.name(handle).value ?? 'NVIDIA GPU', method, collector: 'nvml' };
  if (uuid !== undefined) info.uuid = uuid;
  if (limit.value !== undefined) info.powerLimitWatts = milliwattsToWatts(limit.value);
  if (notes.length > 0) info.notes = notes;
  return info;
}

/**
 * counterEpoch names the life of NVML's counter: boot id + driver version. A reload of the same driver within
 * one boot is not caught here; the integrator still sees it as a decrease (reset) while it runs.
 */
function counterEpoch(procfsRoot: string, driverVersion: string | undefined): string | undefined {
  try {
    const bootId = readFileSync(join(procfsRoot, 'sys/kernel/random/boot_id'), 'utf8').trim();
    return `${bootId}/${driverVersion ?? 'unknown-driver'}`;
  } catch {
    return undefined;
  }
}

function initFix(code: number): string {
  switch (code) {
    case NVML_RETURN.DRIVER_NOT_LOADED:
      return 'load the NVIDIA kernel module (modprobe nvidia) or check the driver install with nvidia-smi';
    case NVML_RETURN.NO_PERMISSION:
      return 'give this user access to /dev/nvidia* (usually the video group)';
    case NVML_RETURN.LIB_RM_VERSION_MISMATCH:
      return 'the user-space library and kernel driver versions differ: reboot, or reload the nvidia kernel modules';
    default:
      return 'check the driver with nvidia-smi; see dmesg for NVRM errors';
  }
}

/** nvmlFactory registers the NVML collector: measures 'gpu' devices. */
export const nvmlFactory: CollectorFactory = {
  name: 'nvml',
  role: 'measure',
  kinds: ['gpu'],
  probe: async (ctx) => probeNvml(ctx),
};
