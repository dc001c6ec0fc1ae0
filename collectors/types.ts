import type { DeviceInfo, DeviceKind, ReadResult } from '../src/types.js';

/** CollectorName lists every collector wattprint ships; `--collectors` takes these names. */
export type CollectorName = 'nvml' | 'nvidia-smi' | 'rapl' | 'amdgpu' | 'tpu' | 'cpu' | 'ram' | 'sim';

/** CollectorContext carries every root, path and URL a collector may touch: all injectable for tests. */
export interface CollectorContext {
  /** Root of sysfs (default '/sys'). */
  sysfsRoot: string;
  /** Root of procfs (default '/proc'). */
  procfsRoot: string;
  /** nvidia-smi binary (default 'nvidia-smi' on PATH). */
  nvidiaSmiPath: string;
  /** libnvidia-ml path or soname (default 'libnvidia-ml.so.1'). */
  nvmlLibraryPath: string;
  /** Cloud metadata base URL override; undefined = the provider's real address, only after DMI evidence. */
  metadataUrl?: string;
  /** GPUs this job may use: indices or UUIDs (from --gpus or CUDA_VISIBLE_DEVICES); undefined = all. */
  gpus?: string[];
  /** Poll interval in seconds. */
  intervalSeconds: number;
  /** Environment as seen by the agent (only agent/ reads process.env; it passes a copy here). */
  env: Readonly<Record<string, string | undefined>>;
  /** Simulated device count for the 'sim' collector (bench and tests). */
  simDevices?: number;
  /** Monotonic clock in ms for collectors' own timing (counter files' reopen checks); tests inject one. */
  nowMs?: () => number;
}

/** ReadOptions: `final` is the run's last reading — a collector that skips slow counter reads must not skip it. */
export interface ReadOptions {
  final?: boolean;
}

/** Collector reads one power source. read() must be cheap: no child process per call, files kept open. */
export interface Collector {
  readonly name: CollectorName;
  readonly devices: DeviceInfo[];
  /** read returns the current readings; throwing marks the collector down for this tick only. */
  read(options?: ReadOptions): ReadResult | Promise<ReadResult>;
  close(): void;
}

/** ProbeResult is what probing a source found: used by the agent and by `wattprint doctor`. */
export interface ProbeResult {
  found: boolean;
  /** Why not found, or what is degraded: 'permission denied on .../energy_uj'. */
  why?: string;
  /** The exact fix a user can apply. */
  fix?: string;
  /**
   * failed: the source is there but misbehaved (hung, exited with an error, printed something unreadable),
   * as opposed to absent hardware or software, which is quiet. A failed probe is reported on stderr, in
   * `wattprint_collector_up` and in the report's notes.
   */
  failed?: boolean;
  /** Devices it would track (with their method). */
  devices: DeviceInfo[];
  /** Extra facts for doctor (driver version, MIG mode, ...). */
  details?: Record<string, string | number | boolean>;
  /** Present when found: the live collector. */
  collector?: Collector;
  /**
   * A GPU collector that found GPUs says what it made of the requested ones (--gpus / CUDA_VISIBLE_DEVICES):
   * entries that named none of them, and the GPUs it found, so a wrong --gpus can be refused by name.
   */
  gpus?: { unmatched: string[]; available: string[] };
}

/** CollectorFactory registers one collector in collectors/index.ts. */
export interface CollectorFactory {
  name: CollectorName;
  /** 'measure' reads hardware; 'model' estimates and is used only for kinds nothing measures. */
  role: 'measure' | 'model';
  /** Kinds of device it can provide. */
  kinds: DeviceKind[];
  /** Skip this factory by default when any of these collectors was found (nvidia-smi falls back for nvml). */
  fallbackOf?: CollectorName[];
  /** Not probed unless named in --collectors (the simulator). */
  explicitOnly?: boolean;
  probe(ctx: CollectorContext): Promise<ProbeResult>;
}
