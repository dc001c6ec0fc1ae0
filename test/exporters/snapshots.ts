import type { DeviceSnapshot, Snapshot } from '../../src/snapshot.js';

/** SampleOptions shape a synthetic snapshot; every number is derived exactly from them. */
export interface SampleOptions {
  tick: number;
  deviceCount?: number;
  runId?: string;
  labels?: Record<string, string>;
  pue?: number;
  intensityGramsPerKwh?: number;
  marketFactor?: number;
  projected?: Snapshot['projected'];
  status?: Snapshot['status'];
  /** Jobs on a shared node: each gets `share` of every device; the rest is unattributed. */
  jobs?: { id: string; share: number; status?: 'running' | 'ended' }[];
}

/** devicePowerWatts is device i's constant power in the sample: 100 W + 10 W × i. */
export function devicePowerWatts(i: number): number {
  return 100 + 10 * i;
}

/**
 * sampleSnapshot is the state after `tick` one-second ticks of devices at constant power, so device i has
 * tick × devicePowerWatts(i) joules; CO2e = facility kWh × intensity (market: × marketFactor).
 */
export function sampleSnapshot(o: SampleOptions): Snapshot {
  const n = o.deviceCount ?? 2;
  const pue = o.pue ?? 1.5;
  const intensity = o.intensityGramsPerKwh ?? 400;
  const devices: DeviceSnapshot[] = [];
  for (let i = 0; i < n; i++) {
    const gpu = i < n - 1 || n === 1;
    devices.push({
      id: gpu ? `gpu${i}` : 'cpu', kind: gpu ? 'gpu' : 'cpu', name: gpu ? 'NVIDIA H100 80GB HBM3' : 'AMD EPYC 7763',
      ...(gpu ? { uuid: `GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd` } : {}),
      method: gpu ? 'counter' : 'modelled', collector: gpu ? 'nvml' : 'cpu',
      powerWatts: devicePowerWatts(i), energyJoules: o.tick * devicePowerWatts(i),
    });
  }
  const itEnergyJoules = devices.reduce((a, d) => a + d.energyJoules, 0);
  const facilityEnergyJoules = itEnergyJoules * pue;
  const location = (facilityEnergyJoules / 3_600_000) * intensity;
  const startMs = Date.parse('2026-03-01T12:00:00.000Z');
  return {
    runId: o.runId ?? 'run-42', hostname: 'node-a', labels: o.labels ?? { team: 'ml' },
    startedAt: new Date(startMs).toISOString(), at: new Date(startMs + o.tick * 1000).toISOString(),
    elapsedSeconds: o.tick, tick: o.tick, intervalSeconds: 1, status: o.status ?? 'running', devices,
    itEnergyJoules, facilityEnergyJoules, totalPowerWatts: devices.reduce((a, d) => a + d.powerWatts, 0),
    pue, pueSource: 'set with --pue', zone: 'DE', intensityGramsPerKwh: intensity, intensitySource: 'table: Ember annual average (CC BY-SA 4.0)',
    co2eGrams: { location, market: location * (o.marketFactor ?? 0.5) },
    collectors: [
      { name: 'nvml', up: true, lastDurationSeconds: 0.002, errorsTotal: {} },
      { name: 'cpu', up: false, lastDurationSeconds: 0.5, errorsTotal: { timeout: 3 }, lastError: 'timed out' },
    ],
    tickLagSeconds: 0.004, droppedTotal: 7,
    ...(o.projected ? { projected: o.projected } : {}),
    ...(o.jobs ? {
      jobs: o.jobs.map((j) => ({
        id: j.id, status: j.status ?? 'running',
        devices: devices.map((d) => ({ id: d.id, kind: d.kind, energyJoules: d.energyJoules * j.share })),
        co2eGrams: { location: location * j.share, market: location * (o.marketFactor ?? 0.5) * j.share },
      })),
      unattributed: devices.map((d) => ({ id: d.id, kind: d.kind, energyJoules: d.energyJoules * (1 - o.jobs!.reduce((s, j) => s + j.share, 0)) })),
    } : {}),
  };
}
