/**
 * NVML bindings through koffi: bound once at load, so a tick makes only FFI calls. Most calls take about a
 * microsecond, but nvmlDeviceGetTotalEnergyConsumption took a median 2.7 ms (p90 6 ms) on an H100 (driver
 * 580.159.04), so it is also bound in koffi's async form, which runs the call on libuv's thread pool.
 */
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';

/** NVML_RETURN holds the nvmlReturn_t codes wattprint acts on (values from nvml.h). */
export const NVML_RETURN = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  INSUFFICIENT_SIZE: 7,
  DRIVER_NOT_LOADED: 9,
  GPU_IS_LOST: 15,
  LIB_RM_VERSION_MISMATCH: 18,
  UNKNOWN: 999,
} as const;

/** NvmlDevice is an opaque nvmlDevice_t handle. */
export type NvmlDevice = unknown;

/** NvmlResult is a return code with the value it produced when the code is SUCCESS. */
export interface NvmlResult<T> {
  code: number;
  value?: T;
}

/** NvmlBindings are the NVML calls wattprint uses; optional ones are absent on drivers that lack the symbol. */
export interface NvmlBindings {
  init(): number;
  shutdown(): number;
  errorString(code: number): string;
  deviceCount(): NvmlResult<number>;
  handleByIndex(index: number): NvmlResult<NvmlDevice>;
  name(device: NvmlDevice): NvmlResult<string>;
  uuid(device: NvmlDevice): NvmlResult<string>;
  busId(device: NvmlDevice): NvmlResult<string>;
  /** enforcedPowerLimitMilliwatts reads the power cap in mW. */
  enforcedPowerLimitMilliwatts(device: NvmlDevice): NvmlResult<number>;
  architecture(device: NvmlDevice): NvmlResult<number>;
  /** migMode reads the current MIG mode (1 = enabled). */
  migMode(device: NvmlDevice): NvmlResult<number>;
  driverVersion(): NvmlResult<string>;
  /** cudaDriverVersion reads the CUDA version the driver supports, as 1000 × major + 10 × minor. */
  cudaDriverVersion(): NvmlResult<number>;
  /** totalEnergy writes the mJ counter (uint64, little-endian halves) into scratch and returns the code. */
  totalEnergy(device: NvmlDevice, scratch: Uint32Array): number;
  /**
   * totalEnergyAsync is totalEnergy run on libuv's thread pool: resolves with the code once scratch holds the
   * mJ counter. Absent when koffi offers no async form; scratch must not be shared by concurrent calls.
   */
  totalEnergyAsync?: (device: NvmlDevice, scratch: Uint32Array) => Promise<number>;
  /** powerUsage writes the board power in mW into scratch[0] and returns the code. */
  powerUsage(device: NvmlDevice, scratch: Uint32Array): number;
  /**
   * computeRunningProcesses calls nvmlDeviceGetComputeRunningProcesses_v3: count[0] is the capacity of infos
   * in entries going in and the number of processes coming out; infos holds PROCESS_INFO_BYTES per entry
   * (nvmlProcessInfo_t: pid u32, usedGpuMemory u64 at 8, gpuInstanceId u32 at 16, computeInstanceId u32 at 20).
   */
  computeRunningProcesses?: (device: NvmlDevice, count: Uint32Array, infos: Buffer) => number;
  /**
   * processUtilization calls nvmlDeviceGetProcessUtilization for samples newer than lastSeenMicros: count[0]
   * in = capacity, out = samples written; each PROCESS_SAMPLE_BYTES (nvmlProcessUtilizationSample_t: pid u32,
   * timeStamp u64 µs at 8, smUtil u32 at 16, memUtil at 20, encUtil at 24, decUtil at 28).
   */
  processUtilization?: (device: NvmlDevice, samples: Buffer, count: Uint32Array, lastSeenMicros: number) => number;
  /** migInstanceSlices maps each MIG GPU instance of a physical GPU to its slice count; undefined when unknown. */
  migInstanceSlices?: (device: NvmlDevice) => Map<number, number> | undefined;
  unload(): void;
}

type Fn = ((...args: unknown[]) => unknown) & { async?: (...args: unknown[]) => void };

type Koffi = typeof import('koffi').default;
let koffiModule: Koffi | undefined;

/**
 * koffi is required on first use, not imported: its native part ships in a per-platform package (koffi 3), so
 * a platform without one must cost the NVML collector only ("not loadable"), never the whole CLI at start-up.
 */
function koffi(): Koffi {
  return (koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi);
}

/** loadNvml dlopens libnvidia-ml at `libraryPath` and binds every symbol; throws (with cause) when it cannot. */
export function loadNvml(libraryPath: string): NvmlBindings {
  let lib: LibraryHandle;
  try {
    lib = koffi().load(libraryPath);
  } catch (cause) {
    throw new Error(`load ${libraryPath}`, { cause });
  }
  const required = (proto: string): Fn => lib.func(proto) as Fn;
  const optional = (proto: string): Fn | undefined => {
    try {
      return lib.func(proto) as Fn;
    } catch {
      return undefined; // older drivers lack newer symbols; the caller reports 'not supported'
    }
  };
  const init = required('int nvmlInit_v2()');
  const shutdown = required('int nvmlShutdown()');
  const errorString = required('const char *nvmlErrorString(int result)');
  const getCount = required('int nvmlDeviceGetCount_v2(_Out_ uint32_t *count)');
  const getHandle = required('int nvmlDeviceGetHandleByIndex_v2(uint32_t index, _Out_ void **device)');
  const getName = required('int nvmlDeviceGetName(void *device, void *name, uint32_t length)');
  const getUuid = required('int nvmlDeviceGetUUID(void *device, void *uuid, uint32_t length)');
  const getEnergy = required('int nvmlDeviceGetTotalEnergyConsumption(void *device, void *energy)');
  const getPower = required('int nvmlDeviceGetPowerUsage(void *device, void *power)');
  const energyAsync = typeof getEnergy.async === 'function';
  const getPci = optional('int nvmlDeviceGetPciInfo_v3(void *device, void *pci)');
  const getLimit = optional('int nvmlDeviceGetEnforcedPowerLimit(void *device, _Out_ uint32_t *limit)');
  const getArch = optional('int nvmlDeviceGetArchitecture(void *device, _Out_ uint32_t *arch)');
  const getMig = optional('int nvmlDeviceGetMigMode(void *device, _Out_ uint32_t *current, _Out_ uint32_t *pending)');
  const getDriver = optional('int nvmlSystemGetDriverVersion(void *version, uint32_t length)');
  const getCuda = optional('int nvmlSystemGetCudaDriverVersion_v2(_Out_ int *version)');
  const getProcs = optional('int nvmlDeviceGetComputeRunningProcesses_v3(void *device, void *infoCount, void *infos)');
  const getProcUtil = optional('int nvmlDeviceGetProcessUtilization(void *device, void *utilization, void *processSamplesCount, uint64_t lastSeenTimeStamp)');
  const getMaxMig = optional('int nvmlDeviceGetMaxMigDeviceCount(void *device, _Out_ uint32_t *count)');
  const getMigHandle = optional('int nvmlDeviceGetMigDeviceHandleByIndex(void *device, uint32_t index, _Out_ void **migDevice)');
  const getGiId = optional('int nvmlDeviceGetGpuInstanceId(void *device, _Out_ uint32_t *id)');
  const getAttributes = optional('int nvmlDeviceGetAttributes_v2(void *device, void *attributes)');

  const NOT_SUPPORTED: NvmlResult<never> = { code: NVML_RETURN.NOT_SUPPORTED };
  // NVML writes NUL-terminated strings; 96 bytes is NVML_DEVICE_NAME_V2_BUFFER_SIZE / _UUID_V2_.
  const text = (fn: Fn | undefined, size: number, ...head: unknown[]): NvmlResult<string> => {
    if (!fn) return NOT_SUPPORTED;
    const buf = Buffer.alloc(size);
    const code = fn(...head, buf, size) as number;
    return code === 0 ? { code, value: cString(buf, 0, size) } : { code };
  };
  const uint = (fn: Fn | undefined, ...head: unknown[]): NvmlResult<number> => {
    if (!fn) return NOT_SUPPORTED;
    const out: number[] = [0];
    const code = fn(...head, out) as number;
    return code === 0 ? { code, value: out[0] } : { code };
  };

  return {
    init: () => init() as number,
    shutdown: () => shutdown() as number,
    errorString: (code) => String(errorString(code) ?? `NVML error ${code}`),
    deviceCount: () => uint(getCount),
    handleByIndex: (index) => {
      const out: unknown[] = [null];
      const code = getHandle(index, out) as number;
      return code === 0 ? { code, value: out[0] } : { code };
    },
    name: (device) => text(getName, 96, device),
    uuid: (device) => text(getUuid, 96, device),
    busId: (device) => {
      if (!getPci) return NOT_SUPPORTED;
      // nvmlPciInfo_t v3: busIdLegacy[16], five uint32 fields, then busId[32] at offset 36; 68 bytes.
      const buf = Buffer.alloc(68);
      const code = getPci(device, buf) as number;
      return code === 0 ? { code, value: cString(buf, 36, 68) } : { code };
    },
    enforcedPowerLimitMilliwatts: (device) => uint(getLimit, device),
    architecture: (device) => uint(getArch, device),
    migMode: (device) => {
      if (!getMig) return NOT_SUPPORTED;
      const current: number[] = [0];
      const code = getMig(device, current, [0]) as number;
      return code === 0 ? { code, value: current[0] } : { code };
    },
    driverVersion: () => text(getDriver, 80),
    cudaDriverVersion: () => uint(getCuda),
    totalEnergy: (device, scratch) => getEnergy(device, scratch) as number,
    totalEnergyAsync: !energyAsync ? undefined : (device, scratch) => new Promise<number>((resolve, reject) => {
      getEnergy.async!(device, scratch, (err: unknown, code: number) => {
        if (err) reject(new Error('nvmlDeviceGetTotalEnergyConsumption (async call)', { cause: err }));
        else resolve(code);
      });
    }),
    powerUsage: (device, scratch) => getPower(device, scratch) as number,
    computeRunningProcesses: !getProcs ? undefined : (device, count, infos) => getProcs(device, count, infos) as number,
    processUtilization: !getProcUtil ? undefined : (device, samples, count, lastSeenMicros) => getProcUtil(device, samples, count, lastSeenMicros) as number,
    migInstanceSlices: !(getMaxMig && getMigHandle && getGiId && getAttributes) ? undefined : (device) => {
      const max: number[] = [0];
      if (getMaxMig(device, max) !== 0) return undefined;
      const slices = new Map<number, number>();
      // nvmlDeviceAttributes_t: eight uint32 (gpuInstanceSliceCount is the 7th, at 24), then memorySizeMB u64.
      const attributes = Buffer.alloc(40);
      for (let i = 0; i < (max[0] ?? 0); i++) {
        const mig: unknown[] = [null];
        if (getMigHandle(device, i, mig) !== 0) continue;
        const gi: number[] = [0];
        if (getGiId(mig[0], gi) !== 0 || getAttributes(mig[0], attributes) !== 0) continue;
        slices.set(gi[0]!, attributes.readUInt32LE(24));
      }
      return slices.size > 0 ? slices : undefined;
    },
    unload: () => lib.unload(),
  };
}

/** PROCESS_INFO_BYTES is sizeof(nvmlProcessInfo_t) on 64-bit Linux. */
export const PROCESS_INFO_BYTES = 24;

/** PROCESS_SAMPLE_BYTES is sizeof(nvmlProcessUtilizationSample_t) on 64-bit Linux. */
export const PROCESS_SAMPLE_BYTES = 32;

/** NVML_VALUE_NOT_AVAILABLE is what usedGpuMemory holds when the driver cannot tell (WDDM). */
export const NVML_VALUE_NOT_AVAILABLE = 0xffffffffffffffffn;

function cString(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
}

/** ARCHITECTURES names nvmlDeviceArchitecture_t values (nvml.h). */
const ARCHITECTURES: Record<number, string> = {
  2: 'Kepler',
  3: 'Maxwell',
  4: 'Pascal',
  5: 'Volta',
  6: 'Turing',
  7: 'Ampere',
  8: 'Ada Lovelace',
  9: 'Hopper',
  10: 'Blackwell',
  11: 'Orin',
};

/** architectureName turns an nvmlDeviceArchitecture_t into a name ('Hopper'), or 'unknown (N)'. */
export function architectureName(code: number): string {
  return ARCHITECTURES[code] ?? `unknown (${code})`;
}

/** cudaVersionString turns NVML's 12040 into '12.4'. */
export function cudaVersionString(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}
