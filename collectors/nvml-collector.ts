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
  /** Per-GPU buffer for the energy counter: async reads of several GPUs are in flight at once. */
  energyScratch: Uint32Array;
  lastMillijoules?: number;
  lastSeconds?: number;
}

/**
 * NvmlEnergyReads picks how nvmlDeviceGetTotalEnergyConsumption is called: 'async' (all GPUs in parallel on
 * libuv's thread pool; read() returns a Promise) or 'sync' (one after another on the event loop).
 */
export type NvmlEnergyReads = 'async' | 'sync';

/** NvmlCollector holds the bound NVML functions and its scratch buffers; read() allocates only its result. */
export class NvmlCollector implements Collector {
  readonly name = 'nvml' as const;
  readonly devices: DeviceInfo[];
  /** energyReads is the path in use: 'sync' when asked for, or when koffi offers no async form. */
  readonly energyReads: NvmlEnergyReads;
  private readonly states: GpuState[];
  private readonly powerScratch = new Uint32Array(2);
  private pending?: Promise<ReadResult>;
  private closeRequested = false;
  private closed = false;

  constructor(
    private readonly nvml: NvmlBindings,
    gpus: NvmlGpu[],
    private readonly counterEpoch: string | undefined,
    private readonly nowSeconds: () => number = () => performance.now() / 1000,
    energyReads: NvmlEnergyReads = 'async',
  ) {
    this.devices = gpus.map((g) => g.info);
    this.states = gpus.map((gpu) => ({
      gpu, counter: gpu.info.method === 'counter', lost: false, energyScratch: new Uint32Array(2),
    }));
    this.energyReads = energyReads === 'async' && nvml.totalEnergyAsync ? 'async' : 'sync';
  }

  /**
   * read returns raw counter joules (counter GPUs) or watts (sampled GPUs); refused values go to dropped.
   * In 'async' mode the energy counters of all GPUs are read in parallel off the event loop (a few ms each
   * on real drivers) and the result is a Promise; power reads (about 1 µs) stay synchronous.
   */
  read(): ReadResult | Promise<ReadResult> {
    if (this.closed || this.closeRequested) throw new Error('nvml collector is closed');
    if (this.energyReads === 'sync') return this.collect(this.states.map((s) => this.energyCodeSync(s)));
    // A read still in flight (NVML hung past the runner's timeout) is shared, not stacked: one call per GPU
    // at a time keeps a stuck driver from filling libuv's thread pool.
    if (this.pending) return this.pending;
    const codes = this.states.map((s) =>
      s.counter && !s.lost ? this.nvml.totalEnergyAsync!(s.gpu.handle, s.energyScratch) : undefined);
    const pending = Promise.all(codes)
      .then((done) => this.collect(done))
      .finally(() => {
        this.pending = undefined;
        if (this.closeRequested) this.shutdown();
      });
    this.pending = pending;
    return pending;
  }

  private energyCodeSync(state: GpuState): number | undefined {
    return state.counter && !state.lost ? this.nvml.totalEnergy(state.gpu.handle, state.energyScratch) : undefined;
  }

  /** collect turns this tick's energy codes (undefined for sampled or lost GPUs) into readings, in GPU order. */
  private collect(energyCodes: Array<number | undefined>): ReadResult {
    const readings: Reading[] = [];
    const dropped: DroppedReading[] = [];
    // Taken once the counters are in: the step check then allows for however long the reads took.
    const now = this.nowSeconds();
    for (const [i, state] of this.states.entries()) {
      const deviceId = state.gpu.info.id;
      const energyCode = energyCodes[i];
      if (state.lost || (state.counter && energyCode === undefined)) {
        // The handle is dead until the driver recovers the GPU; every tick without it is a counted gap.
        dropped.push({ deviceId, reason: 'lost', message: `${deviceId} is lost (NVML_ERROR_GPU_IS_LOST)` });
        continue;
      }
      const reading = state.counter ? this.readCounter(state, energyCode!, now, dropped) : this.readSampled(state, dropped);
      if (reading) readings.push(reading);
    }
    return dropped.length > 0 ? { readings, dropped } : { readings };
  }

  private readCounter(state: GpuState, code: number, now: number, dropped: DroppedReading[]): Reading | undefined {
    const { info, handle } = state.gpu;
    if (code !== NVML_RETURN.SUCCESS) {
      dropped.push(this.failure(state, code, 'nvmlDeviceGetTotalEnergyConsumption'));
      return undefined;
    }
    const millijoules = state.energyScratch[0]! + state.energyScratch[1]! * 2 ** 32;
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
    if (this.nvml.powerUsage(handle, this.powerScratch) === NVML_RETURN.SUCCESS) {
      const powerWatts = milliwattsToWatts(this.powerScratch[0]);
      if (checkPowerWatts(powerWatts, info.powerLimitWatts) === undefined) reading.powerWatts = powerWatts;
    }
    return reading;
  }

  private readSampled(state: GpuState, dropped: DroppedReading[]): Reading | undefined {
    const { info, handle } = state.gpu;
    const code = this.nvml.powerUsage(handle, this.powerScratch);
    if (code !== NVML_RETURN.SUCCESS) {
      dropped.push(this.failure(state, code, 'nvmlDeviceGetPowerUsage'));
      return undefined;
    }
    const powerWatts = milliwattsToWatts(this.powerScratch[0]);
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

  /** close shuts NVML down once and unloads the library; with a read in flight, once that read is done. */
  close(): void {
    // Unloading while a thread-pool call is inside libnvidia-ml would pull the code out from under it.
    if (this.pending) this.closeRequested = true;
    else this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.nvml.shutdown();
    this.nvml.unload();
  }
}
