import type { CollectorContext } from '../collectors/types.js';
import type { TrackingFlags } from './session.js';

/** collectorContext turns flags and env into the collectors' injectable context. */
export function collectorContext(flags: Pick<TrackingFlags, 'sysfs' | 'procfs' | 'nvidiaSmi' | 'nvmlLibrary' | 'metadataUrl' | 'gpus' | 'cpuTdp' | 'simDevices'> & { interval?: number }, env: NodeJS.ProcessEnv): CollectorContext {
  const cuda = env.CUDA_VISIBLE_DEVICES;
  const gpus = flags.gpus ?? (cuda !== undefined && cuda !== '' ? cuda.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  return {
    sysfsRoot: flags.sysfs, procfsRoot: flags.procfs, nvidiaSmiPath: flags.nvidiaSmi, nvmlLibraryPath: flags.nvmlLibrary,
    metadataUrl: flags.metadataUrl, gpus, intervalSeconds: flags.interval ?? 1,
    env: { ...env, ...(flags.cpuTdp !== undefined ? { WATTPRINT_CPU_TDP: String(flags.cpuTdp) } : {}) },
    simDevices: flags.simDevices,
  };
}
