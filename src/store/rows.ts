import type { DeviceInfo, DeviceKind, EnergyMethod } from '../types.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import type { IntensityQuality } from '../intensity/types.js';
import type { PhaseRecord, Work } from '../ledger/phases.js';

/** NewRun is what starting a run records. */
export interface NewRun {
  runId: string;
  hostname: string;
  startedAtMs: number;
  pue: number;
  pueSource: string;
  zone?: string;
  intensitySource: string;
  market: MarketInstruments;
  labels: Record<string, string>;
  command?: string;
}

/** RunRow is a stored run. */
export interface RunRow {
  runKey: number;
  runId: string;
  hostname: string;
  startedAtMs: number;
  lastTickMs: number;
  endedAtMs?: number;
  status: 'running' | 'ended';
  pue: number;
  pueSource: string;
  zone?: string;
  intensitySource: string;
  market: MarketInstruments;
  labels: Record<string, string>;
  command?: string;
  exitCode?: number;
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  /** The process tracking the run while it is running: host name and pid. */
  ownerHost?: string;
  ownerPid?: number;
  /** The job's progress as last stored (0..1) and where it came from. */
  progress?: { fraction: number; source: string };
  /** The job's cumulative work counters as last reported. */
  work?: Work;
  /** How the job's share of each device was measured, when attribution ran. */
  attribution?: RunAttribution;
  /** Readings refused over the run, by collector and reason ('nvml' → {'absurd': 3}). */
  dropped?: Record<string, Record<string, number>>;
}

/** RunAttribution is how a run charged the job its share of the node's devices. */
export interface RunAttribution {
  scope: 'process-tree' | 'cgroup' | 'node';
  policy: 'proportional' | 'none';
  notes: string[];
  /**
   * A node agent's energy per device that no job was charged (joules, device energy − Σ jobs' energy), kept
   * with its run so that jobs + unattributed = node holds across a restart.
   */
  unattributedJoules?: Record<string, number>;
}

/** DeviceRow is a stored device of a run with its running total and integrator state. */
export interface DeviceRow extends DeviceInfo, TickDeviceState {
  runKey: number;
  notes: string[];
}

/** PeriodWrite adds one tick's energy and CO2e to an accounting period. */
export interface PeriodWrite {
  periodStartMs: number;
  periodSeconds: number;
  itJoules: number;
  facilityJoules: number;
  intensityGramsPerKwh: number;
  cfe?: number;
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  source: string;
  quality: IntensityQuality;
}

/** TickDeviceState is one device's totals and integrator state as a tick leaves them (TickWrite.devices). */
export interface TickDeviceState {
  devKey: number;
  /** The job's energy of the device, joules. */
  energyJoules: number;
  /** The whole device's energy, joules (absent in runs tracked before attribution: then equal to energyJoules). */
  nodeEnergyJoules?: number;
  samples: number;
  counterJoules?: number;
  counterEpoch?: string;
  powerWatts?: number;
  stateWallMs?: number;
}

/** TickWrite is everything one tick commits. */
export interface TickWrite {
  runKey: number;
  wallMs: number;
  minutes: { devKey: number; minute: number; energyJoules: number }[];
  periods: PeriodWrite[];
  devices: TickDeviceState[];
  samples?: { devKey: number; tMs: number; powerWatts?: number; counterJoules?: number }[];
  gaps?: { devKey: number; startMs: number; endMs: number; reason: string; recoveredJoules?: number }[];
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  /** Readings refused so far this run, by collector and reason, when the counts changed. */
  dropped?: Record<string, Record<string, number>>;
  /** The attribution's scope, policy and notes when they changed. */
  attribution?: RunAttribution;
  /** Phases changed in this tick (upserted whole). */
  phases?: PhaseRecord[];
  /** The job's work counters and progress, when they changed. */
  work?: Work;
  progress?: { fraction: number; source: string };
}

type Row = Record<string, unknown>;
const opt = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));

/** toRunRow maps a runs row. */
export function toRunRow(raw: unknown): RunRow {
  const r = raw as Row;
  return {
    runKey: r.run_key as number, runId: r.run_id as string, hostname: (r.hostname as string) ?? '',
    startedAtMs: r.started_at_ms as number, lastTickMs: r.last_tick_ms as number, endedAtMs: opt(r.ended_at_ms),
    status: r.status as 'running' | 'ended', pue: r.pue as number, pueSource: r.pue_source as string, zone: opt(r.zone),
    intensitySource: (r.intensity_source as string) ?? '', market: JSON.parse(r.market_json as string),
    labels: JSON.parse(r.labels_json as string), command: opt(r.command), exitCode: opt(r.exit_code),
    co2eLocationGrams: r.co2e_location_g as number, co2eMarketGrams: r.co2e_market_g as number,
    ownerHost: opt(r.owner_host), ownerPid: opt(r.owner_pid),
    progress: r.progress_json ? JSON.parse(r.progress_json as string) : undefined,
    work: r.work_json ? JSON.parse(r.work_json as string) : {},
    ...(r.attribution_json ? { attribution: JSON.parse(r.attribution_json as string) } : {}),
    ...(r.dropped_json ? { dropped: JSON.parse(r.dropped_json as string) } : {}),
  };
}

/** toDeviceRow maps a devices row. */
export function toDeviceRow(raw: unknown): DeviceRow {
  const r = raw as Row;
  return {
    devKey: r.dev_key as number, runKey: r.run_key as number, id: r.device_id as string, kind: r.kind as DeviceKind,
    name: r.name as string, uuid: opt(r.uuid), method: r.method as EnergyMethod, collector: r.collector as string,
    powerLimitWatts: opt(r.power_limit_watts), notes: JSON.parse(r.notes_json as string), energyJoules: r.energy_joules as number,
    nodeEnergyJoules: opt(r.node_energy_joules),
    samples: r.samples as number, counterJoules: opt(r.counter_joules), counterEpoch: opt(r.counter_epoch),
    powerWatts: opt(r.power_watts), stateWallMs: opt(r.state_wall_ms),
  };
}

/** toPhaseRecord maps a phases row. */
export function toPhaseRecord(raw: unknown): PhaseRecord {
  const r = raw as Row;
  return {
    id: r.phase_id as string, name: r.name as string, startMs: r.started_at_ms as number, endMs: opt(r.ended_at_ms),
    itJoules: r.it_joules as number, facilityJoules: r.facility_joules as number, co2eLocationGrams: r.co2e_location_g as number,
    co2eMarketGrams: r.co2e_market_g as number, workAtStart: JSON.parse(r.work_start_json as string),
    ...(r.work_end_json ? { workAtEnd: JSON.parse(r.work_end_json as string) } : {}),
  };
}
