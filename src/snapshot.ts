import type { DeviceKind, EnergyMethod } from './types.js';

/** DeviceSnapshot is one device's live state. */
export interface DeviceSnapshot {
  id: string;
  kind: DeviceKind;
  name: string;
  uuid?: string;
  method: EnergyMethod;
  collector: string;
  /** Latest power in watts (from the last interval's energy, or the last sample). */
  powerWatts: number;
  /** Energy of the run so far, in joules (IT, before PUE). */
  energyJoules: number;
}

/** CollectorStatus is one collector's health. */
export interface CollectorStatus {
  name: string;
  up: boolean;
  lastDurationSeconds: number;
  errorsTotal: Record<string, number>;
  lastError?: string;
}

/**
 * Snapshot is the single state that the Prometheus exporter, the WebSocket feed, the dashboard and the
 * terminal status line read. It is replaced (not mutated) once per tick; readers never do I/O.
 */
export interface Snapshot {
  runId: string;
  hostname: string;
  labels: Record<string, string>;
  startedAt: string;
  /** Wall-clock time of the tick that produced this snapshot (ISO 8601 UTC). */
  at: string;
  elapsedSeconds: number;
  tick: number;
  intervalSeconds: number;
  status: 'running' | 'ended';
  devices: DeviceSnapshot[];
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  totalPowerWatts: number;
  pue: number;
  pueSource: string;
  zone?: string;
  intensityGramsPerKwh: number;
  intensitySource: string;
  co2eGrams: { location: number; market: number };
  collectors: CollectorStatus[];
  /** Tick lag: how late the last tick started versus its schedule, in seconds. */
  tickLagSeconds: number;
  /** Readings dropped so far, by collector and reason. */
  droppedTotal: number;
  /** Projection at completion, when progress is known. */
  projected?: { fraction: number; energyJoules: number; co2eGrams: number; source: string };
}
