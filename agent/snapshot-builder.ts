import { hostname } from 'node:os';
import { co2eGrams, facilityJoules } from '../src/carbon/carbon.js';
import type { CollectorStatus, Snapshot } from '../src/snapshot.js';
import type { DeviceRow, RunRow } from '../src/store/rows.js';
import type { IntensityProvider } from '../src/intensity/types.js';

/** LiveDevice is a device's running state inside the tracker. */
export interface LiveDevice {
  row: DeviceRow;
  energyJoules: number;
  samples: number;
  powerWatts: number;
}

/** SnapshotInputs are the tracker's state at one tick. */
export interface SnapshotInputs {
  run: RunRow;
  options: {
    labels: Record<string, string>;
    intervalSeconds: number;
    pue: { value: number; source: string };
    zone?: string;
    intensity: IntensityProvider;
    expectedDurationSeconds?: number;
  };
  devices: LiveDevice[];
  wallMs: number;
  tick: number;
  co2e: { location: number; market: number };
  /** Facility energy accounted so far (each period at the PUE in force then), joules. */
  facilityJoules: number;
  collectors: CollectorStatus[];
  tickLagSeconds: number;
  status: 'running' | 'ended';
  progress?: { fraction: number; source: string };
}

/** buildSnapshot assembles the one immutable state that every live output reads. */
export function buildSnapshot(s: SnapshotInputs): Snapshot {
  const itEnergyJoules = s.devices.reduce((sum, d) => sum + d.energyJoules, 0);
  const totalPowerWatts = s.devices.reduce((sum, d) => sum + d.powerWatts, 0);
  const intensity = s.options.intensity.lookup(s.wallMs);
  const elapsedSeconds = Math.max(0, (s.wallMs - s.run.startedAtMs) / 1000);
  const collectors = s.collectors.map((c) => ({ ...c, errorsTotal: { ...c.errorsTotal } }));
  const facility = s.facilityJoules;
  const snapshot: Snapshot = {
    runId: s.run.runId,
    hostname: s.run.hostname || hostname(),
    labels: s.options.labels,
    startedAt: new Date(s.run.startedAtMs).toISOString(),
    at: new Date(s.wallMs).toISOString(),
    elapsedSeconds,
    tick: s.tick,
    intervalSeconds: s.options.intervalSeconds,
    status: s.status,
    devices: s.devices.map((d) => ({
      id: d.row.id, kind: d.row.kind, name: d.row.name, ...(d.row.uuid ? { uuid: d.row.uuid } : {}), method: d.row.method,
      collector: d.row.collector, powerWatts: d.powerWatts, energyJoules: d.energyJoules,
    })),
    itEnergyJoules,
    facilityEnergyJoules: facility,
    totalPowerWatts,
    pue: s.options.pue.value,
    pueSource: s.options.pue.source,
    ...(s.options.zone ? { zone: s.options.zone } : {}),
    intensityGramsPerKwh: intensity.gramsPerKwh,
    intensitySource: intensity.source,
    co2eGrams: { ...s.co2e },
    collectors,
    tickLagSeconds: s.tickLagSeconds,
    droppedTotal: collectors.reduce((sum, c) => sum + Object.values(c.errorsTotal).reduce((a, b) => a + b, 0), 0),
  };
  const fraction = s.progress?.fraction ?? (s.options.expectedDurationSeconds ? elapsedSeconds / s.options.expectedDurationSeconds : undefined);
  if (fraction !== undefined && fraction > 0) {
    const remainingJoules = (itEnergyJoules / fraction) * (1 - Math.min(1, fraction));
    snapshot.projected = {
      fraction: Math.min(1, fraction),
      energyJoules: itEnergyJoules + remainingJoules,
      co2eGrams: s.co2e.location + co2eGrams(facilityJoules(remainingJoules, s.options.pue.value), intensity.gramsPerKwh),
      source: s.progress?.source ?? 'expected duration (--expected-duration)',
    };
  }
  return snapshot;
}
