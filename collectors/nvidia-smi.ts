/**
 * nvidia-smi: the fallback when NVML cannot load. One `-q -x` inventory at probe, then ONE long-lived
 * `--query-gpu ... -lms N` stream; read() returns the latest parsed sample per GPU (method 'sampled').
 *
 * Power field: power.draw.average where the driver accepts it and the GPU reports it, else power.draw. Both are
 * the same 1 s board average on Ampere (except GA100) and later; older GPUs only have an instantaneous value.
 * A 1 s average is preferred over power.draw.instant because samples are integrated over whole ticks: an
 * instantaneous value aliases with training-step power swings. NVML's energy counter is better still
 * (power.draw on A100/H100 covers ~25% of the time, arXiv 2312.02741), hence fallback only.
 */
import { execFile } from 'node:child_process';
import type { DeviceInfo, DroppedReading, ReadResult, Reading } from '../src/types.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from './types.js';
import { MIG_NOTE, describeUnmatched, gpuNames, selectGpus } from './lib/gpu-select.js';
import { checkPowerWatts } from './lib/gpu-power-check.js';
import { parseCsvNumber, parseHelpQueryGpu, parseNvidiaSmiXml, parseQueryGpuLine, type SmiInventory } from './nvidia-smi/parse.js';
import { SmiStream, type SmiStreamTiming } from './nvidia-smi/stream.js';

/** NvidiaSmiOptions overrides stream timing (seconds) for tests; defaults suit real drivers. */
export type NvidiaSmiOptions = Partial<SmiStreamTiming> & { commandTimeoutSeconds?: number };

const FIX = 'install the NVIDIA driver (it ships nvidia-smi) or pass --nvidia-smi PATH';
const MAX_PENDING_DROPS = 100;

/** probeNvidiaSmi learns the accepted fields and the inventory, then starts the stream for the job's GPUs. */
export async function probeNvidiaSmi(ctx: CollectorContext, options: NvidiaSmiOptions = {}): Promise<ProbeResult> {
  const env = { ...ctx.env } as NodeJS.ProcessEnv;
  // A hung driver call must not hold anything up: each command gets 1.5 s, inside the 2 s every probe gets.
  const timeoutMs = (options.commandTimeoutSeconds ?? 1.5) * 1000;
  let accepted: Set<string>;
  let inventory: SmiInventory;
  try {
    accepted = parseHelpQueryGpu(await run(ctx.nvidiaSmiPath, ['--help-query-gpu'], env, timeoutMs));
    if (!accepted.has('power.draw') || !accepted.has('index')) {
      return { found: false, why: 'this nvidia-smi does not accept --query-gpu=index,power.draw (its --help-query-gpu lists neither)', fix: FIX, devices: [], failed: true };
    }
    inventory = parseNvidiaSmiXml(await run(ctx.nvidiaSmiPath, ['-q', '-x'], env, timeoutMs));
  } catch (err) {
    // Absent is quiet; present but hung, failing or talking nonsense is a fault to report.
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    const absent = cause?.code === 'ENOENT';
    const why = (err as Error).message.startsWith('parse ')
      ? `${ctx.nvidiaSmiPath} -q -x printed no usable XML (${(cause?.message ?? (err as Error).message).split('\n')[0]!.slice(0, 120)})`
      : (err as Error).message;
    return { found: false, why, fix: FIX, devices: [], ...(absent ? {} : { failed: true }) };
  }
  const selection = selectGpus(ctx.gpus, inventory.gpus);
  const unmatched = describeUnmatched(selection, inventory.gpus.length);
  const details: Record<string, string | number | boolean> = { gpuCount: inventory.gpus.length };
  if (inventory.driverVersion) details.driverVersion = inventory.driverVersion;
  if (inventory.cudaVersion) details.cudaVersion = inventory.cudaVersion;
  const powerFields = accepted.has('power.draw.average') ? ['power.draw.average', 'power.draw'] : ['power.draw'];
  details.powerField = powerFields[0];
  const devices = selection.indices.map((index) => {
    const gpu = inventory.gpus[index];
    const id = `gpu${index}`;
    if (gpu.architecture) details[`${id}.architecture`] = gpu.architecture;
    if (gpu.busId) details[`${id}.busId`] = gpu.busId;
    details[`${id}.migMode`] = gpu.migMode ?? 'not supported';
    const info: DeviceInfo = { id, kind: 'gpu', name: gpu.name ?? 'NVIDIA GPU', method: 'sampled', collector: 'nvidia-smi' };
    if (gpu.uuid) info.uuid = gpu.uuid;
    if (gpu.powerLimitWatts !== undefined) info.powerLimitWatts = gpu.powerLimitWatts;
    info.notes = [`no energy counter through nvidia-smi: ${powerFields[0]} sampled each tick and integrated`];
    if (gpu.migMode === 'Enabled' || selection.viaMig.includes(index)) info.notes.push(MIG_NOTE);
    return info;
  });
  const gpuReport = { unmatched: selection.unmatched, available: gpuNames(inventory.gpus) };
  if (devices.length === 0) {
    const why = unmatched ?? 'nvidia-smi reports no NVIDIA GPUs';
    return { found: false, why, fix: unmatched ? 'fix --gpus or CUDA_VISIBLE_DEVICES' : FIX, devices: [], details, ...(inventory.gpus.length ? { gpus: gpuReport } : {}) };
  }
  const fields = ['index', ...powerFields];
  const intervalMs = Math.max(1, Math.round(ctx.intervalSeconds * 1000));
  const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(intervalMs)];
  if (ctx.gpus !== undefined) args.push('-i', selection.indices.join(','));
  const timing: SmiStreamTiming = {
    silenceSeconds: options.silenceSeconds ?? Math.max(5 * ctx.intervalSeconds, 10),
    startupSeconds: options.startupSeconds ?? 30,
    backoffBaseSeconds: options.backoffBaseSeconds ?? 1,
    backoffMaxSeconds: options.backoffMaxSeconds ?? 60,
  };
  // A sample older than two intervals (at least 2 s) is stale: a hung stream stops giving power at once,
  // while the watchdog gives the child its longer silence before restarting it.
  const freshSeconds = Math.min(timing.silenceSeconds, Math.max(2, 2 * ctx.intervalSeconds));
  const collector = new NvidiaSmiCollector(devices, fields, timing, freshSeconds);
  collector.start(ctx.nvidiaSmiPath, args, env);
  const result: ProbeResult = { found: true, devices, details, collector, gpus: gpuReport };
  if (unmatched) Object.assign(result, { why: unmatched, fix: 'fix --gpus or CUDA_VISIBLE_DEVICES' });
  return result;
}

interface Sample {
  powerRaw?: string;
  atMs: number;
}

/** NvidiaSmiCollector turns streamed lines into the latest sample per GPU; read() never spawns. */
export class NvidiaSmiCollector implements Collector {
  readonly name = 'nvidia-smi' as const;
  /** malformedLines counts stream lines that could not be parsed. */
  malformedLines = 0;
  private readonly latest = new Map<string, Sample>();
  private readonly byIndex = new Map<string, DeviceInfo>();
  private pending: DroppedReading[] = [];
  private stream?: SmiStream;
  private startedMs = 0;

  constructor(
    readonly devices: DeviceInfo[],
    private readonly fields: readonly string[],
    private readonly timing: SmiStreamTiming,
    /** Age in seconds past which a sample is not used (default: the watchdog's silence). */
    private readonly freshSeconds = timing.silenceSeconds,
  ) {
    for (const d of devices) this.byIndex.set(d.id.slice('gpu'.length), d);
  }

  /** restarts is how many times the stream child was restarted. */
  get restarts(): number {
    return this.stream?.restarts ?? 0;
  }

  /** start launches the stream child. */
  start(command: string, args: readonly string[], env: NodeJS.ProcessEnv): void {
    this.startedMs = Date.now();
    this.stream = new SmiStream(command, args, env, (line) => this.onLine(line), this.timing);
    this.stream.start();
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    const row = parseQueryGpuLine(line, this.fields);
    const device = row?.index !== undefined ? this.byIndex.get(row.index) : undefined;
    if (!row || !device) {
      this.malformedLines++;
      if (this.pending.length < MAX_PENDING_DROPS) {
        this.pending.push({ reason: 'malformed', message: `nvidia-smi line ${JSON.stringify(line.slice(0, 120))}` });
      }
      return;
    }
    // The first field present wins: power.draw.average where the GPU has it, else power.draw.
    const powerRaw = this.fields.slice(1).map((f) => row[f]).find((v) => v !== undefined);
    this.latest.set(device.id, { powerRaw, atMs: Date.now() });
  }

  /** read returns each GPU's latest fresh sample in watts; stale, missing and refused values are dropped. */
  read(): ReadResult {
    const now = Date.now();
    const silenceMs = this.freshSeconds * 1000;
    const startupMs = Math.max(this.timing.silenceSeconds * 1000, this.timing.startupSeconds * 1000);
    const readings: Reading[] = [];
    const dropped = this.pending;
    this.pending = [];
    for (const device of this.devices) {
      const sample = this.latest.get(device.id);
      if (!sample || now - sample.atMs > silenceMs) {
        // Right after start nvidia-smi may still be initialising: only a silence counts as a gap.
        if (sample || now - this.startedMs > startupMs) {
          dropped.push({ deviceId: device.id, reason: 'lost', message: this.stream?.lastError ?? 'no fresh nvidia-smi sample' });
        }
        continue;
      }
      const powerWatts = parseCsvNumber(sample.powerRaw);
      if (powerWatts === undefined) {
        dropped.push({ deviceId: device.id, reason: 'unsupported', message: 'nvidia-smi reports no power for this GPU' });
        continue;
      }
      const refusal = Number.isNaN(powerWatts)
        ? sample.powerRaw!.trim().toLowerCase() === 'nan' ? 'nan' : 'malformed'
        : checkPowerWatts(powerWatts, device.powerLimitWatts);
      if (refusal) {
        dropped.push({ deviceId: device.id, reason: refusal, message: `power ${sample.powerRaw} W refused` });
        continue;
      }
      readings.push({ deviceId: device.id, powerWatts });
    }
    return dropped.length > 0 ? { readings, dropped } : { readings };
  }

  /** close stops the stream child. */
  close(): void {
    this.stream?.close();
  }
}

/** run executes a one-shot nvidia-smi command and returns stdout; errors say which command failed and why. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const detail = code === 'ENOENT' ? 'not found'
        : err.killed ? `no answer within ${timeoutMs / 1000} s (killed)`
        : (stderr || stdout || err.message).trim().split('\n')[0]!.slice(0, 200);
      reject(new Error(`${command} ${args.join(' ')} failed: ${detail}`, { cause: err }));
    });
  });
}

/** nvidiaSmiFactory registers the nvidia-smi collector: the fallback for nvml on 'gpu' devices. */
export const nvidiaSmiFactory: CollectorFactory = {
  name: 'nvidia-smi',
  role: 'measure',
  kinds: ['gpu'],
  fallbackOf: ['nvml'],
  probe: (ctx) => probeNvidiaSmi(ctx),
};
