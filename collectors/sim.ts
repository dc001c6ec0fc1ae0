import { performance } from 'node:perf_hooks';
import type { DeviceInfo, Reading, ReadResult } from '../src/types.js';
import type { Collector, CollectorFactory, ProbeResult } from './types.js';

/** SimOptions configures simulated GPUs; every figure has a default. */
export interface SimOptions {
  /** Number of devices, 'sim0'.. (default 4). */
  devices?: number;
  /** Mean power per device in watts (default 300). */
  powerWatts?: number;
  /** Sine amplitude in watts (default 50). */
  amplitudeWatts?: number;
  /** Sine period in seconds (default 60). */
  periodSeconds?: number;
  /** Monotonic clock in seconds (default performance.now() / 1000). */
  now?: () => number;
  /** Counter epoch (default: unique per collector: a restarted simulator restarts its counters). */
  epoch?: string;
}

/**
 * simPowerWatts is device i's power at t seconds after start: mean + amplitude × sin(2πt/period + φᵢ),
 * with φᵢ = 2πi/devices so devices differ.
 */
export function simPowerWatts(o: Required<Omit<SimOptions, 'now' | 'epoch'>>, i: number, tSeconds: number): number {
  const phase = (2 * Math.PI * i) / o.devices;
  return o.powerWatts + o.amplitudeWatts * Math.sin((2 * Math.PI * tSeconds) / o.periodSeconds + phase);
}

/**
 * simEnergyJoules is device i's counter at t seconds after start: the exact integral of simPowerWatts
 * from 0 to t, so counter deltas and power agree to rounding.
 */
export function simEnergyJoules(o: Required<Omit<SimOptions, 'now' | 'epoch'>>, i: number, tSeconds: number): number {
  const phase = (2 * Math.PI * i) / o.devices;
  const w = (2 * Math.PI) / o.periodSeconds;
  return o.powerWatts * tSeconds + (o.amplitudeWatts / w) * (Math.cos(phase) - Math.cos(w * tSeconds + phase));
}

let epochSeq = 0;

/** createSimCollector builds simulated GPUs with cumulative energy counters (method 'counter'). */
export function createSimCollector(opts: SimOptions = {}): Collector {
  const o = {
    devices: Math.max(0, Math.floor(opts.devices ?? 4)),
    powerWatts: opts.powerWatts ?? 300,
    amplitudeWatts: opts.amplitudeWatts ?? 50,
    periodSeconds: opts.periodSeconds ?? 60,
  };
  const now = opts.now ?? (() => performance.now() / 1000);
  const epoch = opts.epoch ?? `sim:${process.pid}:${Date.now()}:${epochSeq++}`;
  const startSeconds = now();
  const devices: DeviceInfo[] = [];
  for (let i = 0; i < o.devices; i++) {
    devices.push({
      id: `sim${i}`,
      kind: 'gpu',
      name: `Simulated GPU ${i}`,
      method: 'counter',
      collector: 'sim',
      powerLimitWatts: o.powerWatts + o.amplitudeWatts,
      notes: [`simulated: ${o.powerWatts} W ± ${o.amplitudeWatts} W sine, period ${o.periodSeconds} s`],
    });
  }
  return {
    name: 'sim',
    devices,
    read(): ReadResult {
      const t = now() - startSeconds;
      const readings: Reading[] = new Array(o.devices);
      for (let i = 0; i < o.devices; i++) {
        readings[i] = {
          deviceId: `sim${i}`,
          counterJoules: simEnergyJoules(o, i, t),
          counterEpoch: epoch,
          powerWatts: simPowerWatts(o, i, t),
        };
      }
      return { readings };
    },
    close: () => undefined,
  };
}

/** simFactory registers the simulator: only when named in --collectors (bench, end-to-end tests). */
export const simFactory: CollectorFactory = {
  name: 'sim',
  role: 'measure',
  kinds: ['gpu'],
  explicitOnly: true,
  async probe(ctx): Promise<ProbeResult> {
    const collector = createSimCollector({ devices: ctx.simDevices ?? 4 });
    return { found: true, devices: collector.devices, collector, details: { simulated: true } };
  },
};
