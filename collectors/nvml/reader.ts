/** NvmlCollector reads NVML's energy counters (or sampled power) for the GPUs chosen at probe. */
import type { DeviceInfo, DroppedReading, ReadResult, Reading } from '../../src/types.js';
import { millijoulesToJoules, milliwattsToWatts } from '../../src/units.js';
import type { Collector, ReadOptions } from '../types.js';
import { checkEnergyStepJoules, checkPowerWatts } from '../lib/gpu-power-check.js';
import { NVML_RETURN, type NvmlBindings, type NvmlDevice } from './ffi.js';
import { NvmlProcessReader } from './processes.js';

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
 * libuv's thread pool; read() returns a Promise), 'sync' (one after another on the event loop), or 'auto'
 * (async when the probe's calls were slow, else sync until NVML_SLOW_TICKS ticks in a row are slow).
 */
export type NvmlEnergyReads = 'auto' | 'async' | 'sync';

/**
 * NVML_ASYNC_ABOVE_MICROS is the energy call time (µs) above which 'auto' moves to the thread pool. The hop
 * costs 9-21 µs CPU per call (scripts/bench-collectors.ts, 2-core box); a call takes 0.3 µs into the stub
 * and a median 2.7 ms on an H100 (driver 580.159.04), so the threshold sits far from both.
 */
export const NVML_ASYNC_ABOVE_MICROS = 100;

/**
 * NVML_SLOW_ENERGY_EVERY_SECONDS is how often a slow driver's energy counter is read (power, ~1 µs, is read
 * every tick). On an H100 VM the energy call cost 4 ms of driver CPU; the counter is exact between any two
 * reads, so reading it every few seconds loses nothing, and the run's last reading always reads it.
 */
export const NVML_SLOW_ENERGY_EVERY_SECONDS = 5;

/** NVML_SLOW_TICKS slow ticks in a row move 'auto' to the thread pool: a lone one is the scheduler, not NVML. */
export const NVML_SLOW_TICKS = 3;

/** NvmlCollectorOptions: the clock (seconds), the energy read path and the fastest energy call at probe (µs). */
export interface NvmlCollectorOptions {
  nowSeconds?: () => number;
  energyReads?: NvmlEnergyReads;
  probeEnergyCallMicros?: number;
  /** Read energy counters at most this often (seconds); default 0 (every read), NVML_SLOW_ENERGY_EVERY_SECONDS for a slow driver in 'auto'. */
  energyEverySeconds?: number;
}

/** NvmlCollector holds the bound NVML functions and its scratch buffers; read() allocates only its result. */
export class NvmlCollector implements Collector {
  readonly name = 'nvml' as const;
  readonly devices: DeviceInfo[];
  private readonly states: GpuState[];
  private readonly powerScratch = new Uint32Array(2);
  private readonly nowSeconds: () => number;
  private useAsync: boolean;
  /** True in 'auto' while still synchronous: each tick's calls are timed and may switch it to async. */
  private watching: boolean;
  private slowTicks = 0;
  private energyEverySeconds: number;
  private lastEnergyReadSeconds?: number;
  private pending?: Promise<ReadResult>;
  private closeRequested = false;
  private closed = false;

  constructor(
    private readonly nvml: NvmlBindings,
    gpus: NvmlGpu[],
    private readonly counterEpoch: string | undefined,
    options: NvmlCollectorOptions = {},
  ) {
    this.devices = gpus.map((g) => g.info);
    this.states = gpus.map((gpu) => ({
      gpu, counter: gpu.info.method === 'counter', lost: false, energyScratch: new Uint32Array(2),
    }));
    this.nowSeconds = options.nowSeconds ?? (() => performance.now() / 1000);
    const mode = options.energyReads ?? 'auto';
    const canAsync = nvml.totalEnergyAsync !== undefined;
    this.useAsync = canAsync && (mode === 'async' || (mode === 'auto' && (options.probeEnergyCallMicros ?? 0) > NVML_ASYNC_ABOVE_MICROS));
    this.watching = canAsync && mode === 'auto' && !this.useAsync;
    this.energyEverySeconds = options.energyEverySeconds ?? (mode === 'auto' && this.useAsync ? NVML_SLOW_ENERGY_EVERY_SECONDS : 0);
  }

  /** processReader reads per-process GPU use through this collector's NVML handles (attribution); closed with it. */
  processReader(): NvmlProcessReader {
    return new NvmlProcessReader(this.nvml, this.states.map((s) => ({
      id: s.gpu.info.id, handle: s.gpu.handle, mig: this.nvml.migMode(s.gpu.handle).value === 1,
    })));
  }

  /** energyReads is the path in use now: 'async' or 'sync' ('auto' resolves to one of them). */
  get energyReads(): 'async' | 'sync' {
    return this.useAsync ? 'async' : 'sync';
  }

  /**
   * read returns raw counter joules (counter GPUs) or watts (sampled GPUs); refused values go to dropped.
   * On the async path the energy counters of all GPUs are read in parallel off the event loop and the
   * result is a Promise; power reads (about 1 µs) stay synchronous.
   */
  read(options: ReadOptions = {}): ReadResult | Promise<ReadResult> {
    if (this.closed || this.closeRequested) throw new Error('nvml collector is closed');
    if (this.energyEverySeconds > 0) {
      const now = this.nowSeconds();
      if (!options.final && this.lastEnergyReadSeconds !== undefined && now - this.lastEnergyReadSeconds < this.energyEverySeconds) {
        return this.collectPowerOnly();
      }
      this.lastEnergyReadSeconds = now;
    }
    if (!this.useAsync) return this.collect(this.energyCodesSync());
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

  private energyCodesSync(): Array<number | undefined> {
    const started = this.watching ? performance.now() : 0;
    let calls = 0;
    const codes = this.states.map((s) => {
      if (!s.counter || s.lost) return undefined;
      calls++;
      return this.nvml.totalEnergy(s.gpu.handle, s.energyScratch);
    });
    if (this.watching && calls > 0) {
      const slow = ((performance.now() - started) * 1000) / calls > NVML_ASYNC_ABOVE_MICROS;
      this.slowTicks = slow ? this.slowTicks + 1 : 0;
      // The switch is for good: calls slow several ticks running are the driver's pace, not a preemption.
      if (this.slowTicks >= NVML_SLOW_TICKS) {
        this.useAsync = true;
        this.watching = false;
      }
    }
    return codes;
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

  /** collectPowerOnly is a tick between energy reads: power for every GPU (counter GPUs' counters skipped). */
  private collectPowerOnly(): ReadResult {
    const readings: Reading[] = [];
    const dropped: DroppedReading[] = [];
    for (const state of this.states) {
      if (state.lost) {
        dropped.push({ deviceId: state.gpu.info.id, reason: 'lost', message: `${state.gpu.info.id} is lost (NVML_ERROR_GPU_IS_LOST)` });
        continue;
      }
      const reading = this.readSampled(state, dropped);
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
