/** NvmlCollector reads NVML's energy counters (or sampled power) for the GPUs chosen at probe. */
import type { DeviceInfo, DroppedReading, ReadResult, Reading } from '../src/types.js';
import { millijoulesToJoules, milliwattsToWatts } from '../src/units.js';
import type { Collector } from './types.js';
import { checkEnergyStepJoules, checkPowerWatts } from './gpu-power-check.js';
import { NVML_RETURN, type NvmlBindings, type NvmlDevice } from './nvml-ffi.js';

/** NvmlGpu is one tracked GPU: its device record and its NVML handle. */
export interface NvmlGpu {
  info: DeviceInfo;
  handle: NvmlDevice;
}

interface GpuState {
  gpu: NvmlGpu;
  counter: boolean;
  lost: boolean;
  lastMillijoules?: number;
  lastSeconds?: number;
}

/** NvmlCollector holds the bound NVML functions and one scratch buffer; read() allocates only its result. */
export class NvmlCollector implements Collector {
  readonly name = 'nvml' as const;
  readonly devices: DeviceInfo[];
  private readonly states: GpuState[];
  private readonly scratch = new Uint32Array(2);
  private closed = false;

  constructor(
    private readonly nvml: NvmlBindings,
    gpus: NvmlGpu[],
    private readonly counterEpoch: string | undefined,
    private readonly nowSeconds: () => number = () => performance.now() / 1000,
  ) {
    this.devices = gpus.map((g) => g.info);
    this.states = gpus.map((gpu) => ({ gpu, counter: gpu.info.method === 'counter', lost: false }));
  }

  /** read returns raw counter joules (counter GPUs) or watts (sampled GPUs); refused values go to dropped. */
  read(): ReadResult {
    const readings: Reading[] = [];
    const dropped: DroppedReading[] = [];
    const now = this.nowSeconds();
    for (const state of this.states) {
      const deviceId = state.gpu.info.id;
      if (state.lost) {
        // The handle is dead until the driver recovers the GPU; every tick without it is a counted gap.
        dropped.push({ deviceId, reason: 'lost', message: `${deviceId} is lost (NVML_ERROR_GPU_IS_LOST)` });
        continue;
      }
      const reading = state.counter ? this.readCounter(state, now, dropped) : this.readSampled(state, dropped);
      if (reading) readings.push(reading);
    }
    return dropped.length > 0 ? { readings, dropped } : { readings };
  }

  private readCounter(state: GpuState, now: number, dropped: DroppedReading[]): Reading | undefined {
    const { info, handle } = state.gpu;
    const code = this.nvml.totalEnergy(handle, this.scratch);
    if (code !== NVML_RETURN.SUCCESS) {
      dropped.push(this.failure(state, code, 'nvmlDeviceGetTotalEnergyConsumption'));
      return undefined;
    }
    const millijoules = this.scratch[0] + this.scratch[1] * 2 ** 32;
    if (!Number.isSafeInteger(millijoules)) {
      dropped.push({ deviceId: info.id, reason: 'absurd', message: `energy counter ${millijoules} mJ is not believable` });
      return undefined;
    }
    if (state.lastMillijoules !== undefined && state.lastSeconds !== undefined) {
      const stepJoules = millijoulesToJoules(millijoules - state.lastMillijoules);
      const refusal = checkEnergyStepJoules(stepJoules, now - state.lastSeconds, info.powerLimitWatts);
      if (refusal) {
        // Keep the previous value: the next sane reading is compared with it, not with the jump.
        dropped.push({ deviceId: info.id, reason: refusal, message: `energy counter jumped ${stepJoules} J` });
        return undefined;
      }
    }
    state.lastMillijoules = millijoules;
    state.lastSeconds = now;
    const reading: Reading = { deviceId: info.id, counterJoules: millijoulesToJoules(millijoules) };
    if (this.counterEpoch !== undefined) reading.counterEpoch = this.counterEpoch;
    // Power is informational next to a counter: a bad sample is left out, the counter still counts.
    if (this.nvml.powerUsage(handle, this.scratch) === NVML_RETURN.SUCCESS) {
      const powerWatts = milliwattsToWatts(this.scratch[0]);
      if (checkPowerWatts(powerWatts, info.powerLimitWatts) === undefined) reading.powerWatts = powerWatts;
    }
    return reading;
  }

  private readSampled(state: GpuState, dropped: DroppedReading[]): Reading | undefined {
    const { info, handle } = state.gpu;
    const code = this.nvml.powerUsage(handle, this.scratch);
    if (code !== NVML_RETURN.SUCCESS) {
      dropped.push(this.failure(state, code, 'nvmlDeviceGetPowerUsage'));
      return undefined;
    }
    const powerWatts = milliwattsToWatts(this.scratch[0]);
    const refusal = checkPowerWatts(powerWatts, info.powerLimitWatts);
    if (refusal) {
      dropped.push({ deviceId: info.id, reason: refusal, message: `power ${powerWatts} W refused` });
      return undefined;
    }
    return { deviceId: info.id, powerWatts };
  }

  private failure(state: GpuState, code: number, call: string): DroppedReading {
    if (code === NVML_RETURN.GPU_IS_LOST) state.lost = true;
    // NOT_SUPPORTED after a working probe is odd but not fatal; any other error loses this tick's reading.
    const reason = code === NVML_RETURN.NOT_SUPPORTED ? 'unsupported' : 'lost';
    return { deviceId: state.gpu.info.id, reason, message: `${call}: ${this.nvml.errorString(code)} (${code})` };
  }

  /** close shuts NVML down once and unloads the library. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.nvml.shutdown();
    this.nvml.unload();
  }
}
