/**
 * NVML bindings through koffi: bound once at load, so a tick makes only FFI calls. Most calls take about a
 * microsecond, but nvmlDeviceGetTotalEnergyConsumption took a median 2.7 ms (p90 6 ms) on an H100 (driver
 * 580.159.04), so it is also bound in koffi's async form, which runs the call on libuv's thread pool.
 */
import koffi from 'koffi';

/** NVML_RETURN holds the nvmlReturn_t codes wattprint acts on (values from nvml.h). */
export const NVML_RETURN = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
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
  unload(): void;
}

type Fn = ((...args: unknown[]) => unknown) & { async?: (...args: unknown[]) => void };

/** loadNvml dlopens libnvidia-ml at `libraryPath` and binds every symbol; throws (with cause) when it cannot. */
export function loadNvml(libraryPath: string): NvmlBindings {
  let lib: koffi.IKoffiLib;
  try {
    lib = koffi.load(libraryPath);
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
    unload: () => lib.unload(),
  };
}

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
