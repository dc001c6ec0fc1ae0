import type { DeviceKind, EnergyMethod } from '../types.js';
import type { IntensityQuality } from '../intensity/types.js';
import type { Deferral } from '../store/deferral.js';
import type { Uncertainty } from './uncertainty.js';
import type { Embodied } from '../carbon/embodied.js';
import type { JobSection } from './job.js';
import type { NodeJobsSection } from './node-jobs.js';

/** ReportDevice is one device's line in the report. */
export interface ReportDevice {
  id: string;
  kind: DeviceKind;
  name: string;
  /** The job's energy of this device, kWh (its share of the device's). */
  kwh: number;
  /** The whole device's energy over the run, kWh (equal to kwh when nothing is attributed). */
  nodeKwh: number;
  avgWatts: number;
  method: EnergyMethod;
  collector: string;
  notes?: string[];
}

/** ReportPeriod is one accounting period (an hour, or the source's own period). */
export interface ReportPeriod {
  /** Period start, ISO 8601 UTC. */
  startAt: string;
  periodSeconds: number;
  itKwh: number;
  facilityKwh: number;
  intensityGramsPerKwh: number;
  cfe?: number;
  source: string;
  quality: IntensityQuality;
  co2eLocationKg: number;
  co2eMarketKg: number;
}

/** Disclosure is the paper's Table 4 row (Patterson et al. 2021). */
export interface Disclosure {
  processor: string;
  count: number;
  /** Average system power per accelerator (all measured IT power / accelerator count), watts. */
  avgWattsPerAccelerator: number;
  hours: number;
  mwh: number;
  pue: number;
  kgCo2ePerKwh: number;
  tCo2e: number;
  /** Market-based tCO2e (the paper's "net"). */
  tCo2eMarket: number;
}

/** Gap is time a device's energy was not bridged, or was recovered from a counter. */
export interface ReportGap {
  deviceId: string;
  startAt: string;
  endAt: string;
  reason: string;
  recoveredJoules?: number;
}

/** Report is everything `wattprint report` shows; the JSON format is this object. */
export interface Report extends JobSection {
  runId: string;
  hostname?: string;
  labels: Record<string, string>;
  status: 'running' | 'ended';
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  energy: { itKwh: number; facilityKwh: number; byDevice: ReportDevice[]; nodeItKwh: number };
  /** A node agent's run on a shared node: its jobs and, per device, what no job was charged. */
  nodeJobs?: NodeJobsSection;
  /** How the job was charged its share of shared devices: scope, policy, the share of each device over the run. */
  attribution?: { scope: 'process-tree' | 'cgroup' | 'node'; policy: 'proportional' | 'none'; share: Record<string, number>; notes: string[] };
  pue: number;
  pueSource: string;
  intensity: {
    avgGramsPerKwh: number;
    source: string;
    zone?: string;
    /** How market-based CO2e was computed: 'market-intensity 177 g/kWh', 'cfe 0.3', 'hourly CFE', or 'none: equals location'. */
    marketBasis: string;
  };
  co2e: { locationKg: number; marketKg: number };
  /** Embodied (Scope 3) emissions of the hardware, amortised over its life: apart from co2e and Table 4. */
  embodied?: Embodied;
  /** Low and high bounds beside the central figures, with the basis of each part (see uncertainty.ts). */
  uncertainty?: Uncertainty;
  disclosure: Disclosure;
  /** Plain sentences: 'gpu0 NVIDIA H100: NVML energy counter (measured)'. */
  measured: string[];
  modelled: string[];
  gaps: ReportGap[];
  hourly: ReportPeriod[];
  /** The same energy profile accounted in other zones (`--compare`): the spread the paper talks about. */
  counterfactuals?: { zone: string; name?: string; avgGramsPerKwh: number; co2eLocationKg: number; source: string }[];
  /** A restatement (`report --restate`): the stored figures and the recomputed ones side by side. */
  restatement?: {
    createdAt: string;
    source: string;
    before: { co2eLocationKg: number; co2eMarketKg: number; avgGramsPerKwh: number; intensitySource: string };
    after: { co2eLocationKg: number; co2eMarketKg: number; avgGramsPerKwh: number; intensitySource: string };
  };
  /** The start put off by `run --start-within` to the lowest-carbon window, with the expected saving. */
  deferral?: Deferral;
  /** Totals at completion projected from the job's progress when the run ended before it (fraction < 1). */
  projected?: { fraction: number; source: string; itKwh: number; facilityKwh: number; co2eLocationKg: number; co2eMarketKg: number };
  /** Total IT power per minute for the ASCII chart (watts), oldest first. */
  powerSeries: { at: string; watts: number }[];
  /**
   * 'devices' when powerSeries is the devices' whole power — a run charged a share of shared devices (attribution),
   * charted from its raw samples — while the energy figures are that share; absent when it is the run's own power.
   */
  powerSeriesScope?: 'devices';
  notes: string[];
}
