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
  /**
   * The whole device's energy while the run was tracked, in joules (every user of it): present once the run has
   * been charged less than the whole device (attribution on a shared node), when energyJoules is its share.
   */
  deviceEnergyJoules?: number;
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
  /** The job's cumulative work counters, when it reported any. */
  work?: { steps?: number; samples?: number; tokens?: number };
  /** The job's phases: open ones and the most recent closed ones (the report has them all). */
  phases?: PhaseSnapshot[];
  /** IT energy and facility energy (joules) and location CO2e (grams) per phase name, over all its windows. */
  phaseTotals?: { name: string; windows: number; itEnergyJoules: number; co2eGrams: number }[];
  /**
   * A node agent's jobs (SLURM jobs, pods, scopes): running ones, and ended ones for a grace period (a final
   * scrape) before their series leave. Per device, Σ jobs + unattributed = the device's energy.
   */
  jobs?: JobSnapshot[];
  /** A node agent's energy per device that no job was charged, joules (cumulative). */
  unattributed?: { id: string; kind: DeviceKind; energyJoules: number }[];
}

/** JobSnapshot is one job's account on a shared node, live. */
export interface JobSnapshot {
  /**
   * The job's run id in the agent's database, its `job` label: 'slurm-4242', 'pod-<uid>', 'scope-<name>'; with a
   * suffix ('slurm-4242.1') when that id was taken (a `wattprint run` of the same job, an earlier scope of that name).
   */
  id: string;
  status: 'running' | 'ended';
  /** The job's energy per device (its share of each tick), joules, cumulative. */
  devices: { id: string; kind: DeviceKind; energyJoules: number }[];
  co2eGrams: { location: number; market: number };
}

/** PhaseSnapshot is one measurement window of the job, live. */
export interface PhaseSnapshot {
  id: string;
  name: string;
  startedAt: string;
  endedAt?: string;
  itEnergyJoules: number;
  co2eGrams: number;
}
