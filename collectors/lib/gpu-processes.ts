/**
 * Per-process GPU use for attribution. NVML gives each process's SM utilisation (collectors/nvml/processes.ts);
 * nvidia-smi, the fallback, only lists compute processes and the memory they hold:
 *   nvidia-smi --query-compute-apps=pid,used_memory,gpu_uuid --format=csv,noheader,nounits
 * That query starts a process, so it runs in the background every few seconds and read() returns the latest.
 */
import { execFile } from 'node:child_process';
import type { GpuProcessUse } from '../../src/attribution/gpu-usage.js';
import type { DeviceInfo } from '../../src/types.js';
import { parseCsvNumber, parseQueryGpuCsv } from '../nvidia-smi/parse.js';

/** GpuProcessSnapshot is one GPU's processes over the last tick. */
export interface GpuProcessSnapshot {
  processes: GpuProcessUse[];
  /** MIG enabled: split by GPU instance, not SM samples (which MIG does not provide). */
  mig: boolean;
  /** Compute slices per GPU instance id, where known. */
  instanceSlices?: Map<number, number>;
  /** Whether processes carry SM samples (NVML) or only memory (nvidia-smi). */
  smSamples: boolean;
}

/** GpuProcessSource reads the processes on each GPU; a GPU absent from the map could not be read this tick. */
export interface GpuProcessSource {
  read(): Map<string, GpuProcessSnapshot>;
  close(): void;
}

/** COMPUTE_APPS_FIELDS is the query the nvidia-smi source runs, in this column order. */
export const COMPUTE_APPS_FIELDS = ['pid', 'used_memory', 'gpu_uuid'] as const;

/** ComputeApp is one row of --query-compute-apps. */
export interface ComputeApp {
  pid: number;
  gpuUuid: string;
  /** Bytes; undefined when nvidia-smi printed [N/A] (WDDM). */
  usedMemoryBytes?: number;
}

const MIB = 1024 * 1024;

/**
 * parseComputeApps parses `--query-compute-apps=pid,used_memory,gpu_uuid --format=csv,noheader,nounits`, or
 * any --query-compute-apps CSV with a header ('used_gpu_memory [MiB]', values '2566 MiB'). Memory is MiB.
 */
export function parseComputeApps(text: string): ComputeApp[] {
  const headed = /^\s*[a-z_]+\s*(,|$)/.test(text);
  const csv = headed ? parseQueryGpuCsv(text) : parseQueryGpuCsv(text, COMPUTE_APPS_FIELDS);
  const apps: ComputeApp[] = [];
  for (const row of csv.rows) {
    const pid = Number(row.pid);
    if (!Number.isSafeInteger(pid) || pid <= 0 || !row.gpu_uuid) continue;
    const mib = parseCsvNumber(row.used_memory ?? row.used_gpu_memory);
    const app: ComputeApp = { pid, gpuUuid: row.gpu_uuid };
    if (mib !== undefined && Number.isFinite(mib) && mib >= 0) app.usedMemoryBytes = mib * MIB;
    apps.push(app);
  }
  return apps;
}

/** groupByDevice maps compute apps to device ids by GPU UUID; GPUs not listed get an empty process list. */
export function groupByDevice(apps: readonly ComputeApp[], devices: readonly DeviceInfo[]): Map<string, GpuProcessSnapshot> {
  const out = new Map<string, GpuProcessSnapshot>();
  const byUuid = new Map<string, string>();
  for (const d of devices) {
    if (d.kind !== 'gpu') continue;
    out.set(d.id, { processes: [], mig: false, smSamples: false });
    if (d.uuid) byUuid.set(d.uuid, d.id);
  }
  for (const app of apps) {
    const id = byUuid.get(app.gpuUuid);
    if (id === undefined) continue;
    const p: GpuProcessUse = { pid: app.pid };
    if (app.usedMemoryBytes !== undefined) p.usedMemoryBytes = app.usedMemoryBytes;
    out.get(id)!.processes.push(p);
  }
  return out;
}

/** SmiComputeAppsOptions: how often to query (seconds) and how long one query may take. */
export interface SmiComputeAppsOptions {
  everySeconds?: number;
  timeoutSeconds?: number;
  nowSeconds?: () => number;
}

/** SmiComputeApps runs the nvidia-smi query in the background; read() never waits for it. */
export class SmiComputeApps implements GpuProcessSource {
  private latest?: Map<string, GpuProcessSnapshot>;
  private inFlight?: Promise<void>;
  private lastStartSeconds = -Infinity;
  private closed = false;
  /** lastError is why the last query failed, if it did. */
  lastError?: string;

  constructor(
    private readonly nvidiaSmiPath: string,
    private readonly devices: readonly DeviceInfo[],
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly options: SmiComputeAppsOptions = {},
  ) {}

  /** refresh runs one query now (or joins the one in flight) and resolves once its result is in or it failed. */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.closed) return Promise.resolve();
    this.lastStartSeconds = this.now();
    const args = [`--query-compute-apps=${COMPUTE_APPS_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
    this.inFlight = new Promise<void>((resolve) => {
      execFile(this.nvidiaSmiPath, args, { env: { ...this.env } as NodeJS.ProcessEnv, timeout: (this.options.timeoutSeconds ?? 10) * 1000 },
        (err, stdout) => {
          this.inFlight = undefined;
          if (err) this.lastError = `${this.nvidiaSmiPath} --query-compute-apps: ${err.message.split('\n')[0]}`;
          else {
            this.lastError = undefined;
            this.latest = groupByDevice(parseComputeApps(stdout), this.devices);
          }
          resolve();
        });
    });
    return this.inFlight;
  }

  /** read returns the latest query's result (empty until the first one is in) and starts the next when due. */
  read(): Map<string, GpuProcessSnapshot> {
    if (this.now() - this.lastStartSeconds >= (this.options.everySeconds ?? 5)) void this.refresh();
    return this.latest ?? new Map();
  }

  close(): void {
    this.closed = true;
  }

  private now(): number {
    return this.options.nowSeconds?.() ?? performance.now() / 1000;
  }
}
