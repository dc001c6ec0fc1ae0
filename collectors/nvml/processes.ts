/**
 * NvmlProcessReader lists each GPU's compute processes (nvmlDeviceGetComputeRunningProcesses_v3) and their SM
 * utilisation since the previous read (nvmlDeviceGetProcessUtilization, samples newer than the last one seen),
 * for attribution. In MIG mode per-process utilisation does not exist; processes carry their GPU instance.
 */
import type { GpuProcessUse } from '../../src/attribution/gpu-usage.js';
import type { GpuProcessSnapshot, GpuProcessSource } from '../lib/gpu-processes.js';
import {
  NVML_RETURN, NVML_VALUE_NOT_AVAILABLE, PROCESS_INFO_BYTES, PROCESS_SAMPLE_BYTES, type NvmlBindings, type NvmlDevice,
} from './ffi.js';

/** NvmlProcessGpu is one GPU to read: its device id, NVML handle and whether MIG is enabled. */
export interface NvmlProcessGpu {
  id: string;
  handle: NvmlDevice;
  mig: boolean;
}

interface GpuState extends NvmlProcessGpu {
  lastSeenMicros: number;
  instanceSlices?: Map<number, number>;
}

/** NvmlProcessReader reuses its buffers across reads; it grows them when NVML says INSUFFICIENT_SIZE. */
export class NvmlProcessReader implements GpuProcessSource {
  private readonly gpus: GpuState[];
  private infos = Buffer.alloc(64 * PROCESS_INFO_BYTES);
  private samples = Buffer.alloc(64 * PROCESS_SAMPLE_BYTES);
  private readonly count = new Uint32Array(1);
  /** lastError per device id: why its processes could not be read (for doctor and notes). */
  readonly lastError = new Map<string, string>();

  constructor(
    private readonly nvml: NvmlBindings,
    gpus: readonly NvmlProcessGpu[],
  ) {
    // Start from "now" so the first read returns only fresh samples, not the driver's whole buffer.
    const nowMicros = Date.now() * 1000;
    this.gpus = gpus.map((g) => ({ ...g, lastSeenMicros: nowMicros, instanceSlices: g.mig ? nvml.migInstanceSlices?.(g.handle) : undefined }));
  }

  /** supported says whether this driver has the process-listing call at all. */
  get supported(): boolean {
    return this.nvml.computeRunningProcesses !== undefined;
  }

  read(): Map<string, GpuProcessSnapshot> {
    const out = new Map<string, GpuProcessSnapshot>();
    for (const gpu of this.gpus) {
      const processes = this.listProcesses(gpu);
      if (!processes) continue;
      const smSamples = !gpu.mig && this.addUtilisation(gpu, processes);
      const snapshot: GpuProcessSnapshot = { processes, mig: gpu.mig, smSamples };
      if (gpu.instanceSlices) snapshot.instanceSlices = gpu.instanceSlices;
      out.set(gpu.id, snapshot);
    }
    return out;
  }

  private listProcesses(gpu: GpuState): GpuProcessUse[] | undefined {
    const call = this.nvml.computeRunningProcesses;
    if (!call) {
      this.lastError.set(gpu.id, 'nvmlDeviceGetComputeRunningProcesses_v3 not in this driver');
      return undefined;
    }
    let code: number;
    for (;;) {
      this.count[0] = this.infos.length / PROCESS_INFO_BYTES;
      code = call(gpu.handle, this.count, this.infos);
      if (code !== NVML_RETURN.INSUFFICIENT_SIZE) break;
      // Processes started since the size was learnt: grow with headroom and ask again.
      this.infos = Buffer.alloc(Math.max(this.count[0]! + 16, (this.infos.length / PROCESS_INFO_BYTES) * 2) * PROCESS_INFO_BYTES);
    }
    if (code !== NVML_RETURN.SUCCESS) {
      this.lastError.set(gpu.id, `nvmlDeviceGetComputeRunningProcesses_v3: ${this.nvml.errorString(code)} (${code})`);
      return undefined;
    }
    this.lastError.delete(gpu.id);
    const processes: GpuProcessUse[] = [];
    for (let i = 0; i < this.count[0]!; i++) {
      const off = i * PROCESS_INFO_BYTES;
      const p: GpuProcessUse = { pid: this.infos.readUInt32LE(off) };
      const memory = this.infos.readBigUInt64LE(off + 8);
      if (memory !== NVML_VALUE_NOT_AVAILABLE) p.usedMemoryBytes = Number(memory);
      if (gpu.mig) p.gpuInstanceId = this.infos.readUInt32LE(off + 16);
      processes.push(p);
    }
    return processes;
  }

  /**
   * addUtilisation sets each process's mean SM % over the samples newer than the last read. NOT_FOUND means no
   * process had SM time since then (all 0). False when the call is missing or failed: the split then falls
   * back to memory held.
   */
  private addUtilisation(gpu: GpuState, processes: GpuProcessUse[]): boolean {
    const call = this.nvml.processUtilization;
    if (!call) return false;
    let code: number;
    for (;;) {
      this.count[0] = this.samples.length / PROCESS_SAMPLE_BYTES;
      code = call(gpu.handle, this.samples, this.count, gpu.lastSeenMicros);
      if (code !== NVML_RETURN.INSUFFICIENT_SIZE) break;
      this.samples = Buffer.alloc(Math.max(this.count[0]! + 16, (this.samples.length / PROCESS_SAMPLE_BYTES) * 2) * PROCESS_SAMPLE_BYTES);
    }
    if (code === NVML_RETURN.NOT_FOUND) {
      for (const p of processes) p.smUtilPercent = 0;
      return true;
    }
    if (code !== NVML_RETURN.SUCCESS) return false;
    const sums = new Map<number, { sm: number; n: number }>();
    for (let i = 0; i < this.count[0]!; i++) {
      const off = i * PROCESS_SAMPLE_BYTES;
      const pid = this.samples.readUInt32LE(off);
      const ts = Number(this.samples.readBigUInt64LE(off + 8));
      const sm = this.samples.readUInt32LE(off + 16);
      if (ts > gpu.lastSeenMicros) gpu.lastSeenMicros = ts;
      const s = sums.get(pid) ?? { sm: 0, n: 0 };
      s.sm += Math.min(100, sm);
      s.n++;
      sums.set(pid, s);
    }
    for (const p of processes) {
      const s = sums.get(p.pid);
      p.smUtilPercent = s ? s.sm / s.n : 0;
    }
    return true;
  }

  /** close does nothing: NVML belongs to the collector, which shuts it down. */
  close(): void {}
}
