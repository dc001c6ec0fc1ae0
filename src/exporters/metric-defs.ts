import type { Snapshot } from '../snapshot.js';
import { COLLECTOR_ERROR_REASONS } from '../types.js';
import { intensitySourceLabel, progressSourceLabel, pueSourceLabel } from './label-values.js';
import { runLabelValues, type UserLabels } from './metric-labels.js';

/** Labels is one series' label set. */
export type Labels = Record<string, string>;

/** Emit records one series value; counters are made monotonic by the caller. */
export type Emit = (labels: Labels, value: number) => void;

/** MetricDef describes one exported metric family and how to fill it from a snapshot. */
export interface MetricDef {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** Self-metrics describe the agent itself; they are left out of a Pushgateway push. */
  self: boolean;
  /**
   * Transient families have series that come and go for good (a node's jobs): the renderer forgets a series'
   * held maximum once it leaves, so a node that runs thousands of jobs holds no state for the finished ones.
   */
  transient?: boolean;
  /**
   * A reading of "now" (power, the factors in force, the projection): left out of the final Pushgateway push,
   * which the gateway keeps for ever, so a dashboard's "Power now" never adds up runs that have ended.
   */
  live?: boolean;
  labelNames(user: UserLabels): string[];
  fill(snapshot: Snapshot, user: UserLabels, emit: Emit): void;
}

const RUN = (user: UserLabels): string[] => ['run_id', ...user.names];
const NONE = (): string[] => [];

interface CachedDeviceLabels {
  kind: string;
  name: string;
  uuid?: string;
  run: Labels;
  labels: Labels;
  /** The device_info labels (method and collector added), for the same method and collector. */
  info?: { method: string; collector: string; labels: Labels };
}

/**
 * deviceCache keeps each device's label objects from render to render: a device's labels do not change during
 * a run, and the exposition formats an object it has seen once (exposition.ts). Keyed by device id, checked
 * against every field, so a changed device gets new objects.
 */
const deviceCache = new Map<string, CachedDeviceLabels>();

function cachedDevice(snapshot: Snapshot, user: UserLabels, d: Snapshot['devices'][number]): CachedDeviceLabels {
  const run = runLabelValues(snapshot, user);
  const c = deviceCache.get(d.id);
  if (c && c.kind === d.kind && c.name === d.name && c.uuid === d.uuid && c.run === run) return c;
  const labels: Labels = { device: d.id, kind: d.kind, name: d.name, ...run };
  // uuid is optional: an absent label is better than uuid="" (Prometheus treats both the same anyway).
  if (d.uuid) labels.uuid = d.uuid;
  const fresh: CachedDeviceLabels = { kind: d.kind, name: d.name, uuid: d.uuid, run, labels };
  deviceCache.set(d.id, fresh);
  return fresh;
}

function deviceLabels(snapshot: Snapshot, user: UserLabels, d: Snapshot['devices'][number]): Labels {
  return cachedDevice(snapshot, user, d).labels;
}

function deviceInfoLabels(snapshot: Snapshot, user: UserLabels, d: Snapshot['devices'][number]): Labels {
  const c = cachedDevice(snapshot, user, d);
  if (c.info && c.info.method === d.method && c.info.collector === d.collector) return c.info.labels;
  c.info = { method: d.method, collector: d.collector, labels: { ...c.labels, method: d.method, collector: d.collector } };
  return c.info.labels;
}

function unixSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/**
 * METRIC_DEFS is the full list of wattprint's metric families. Names are stable: base units,
 * counters end in `_total`, constant metadata in `_info`. Every value comes from the snapshot.
 */
export const METRIC_DEFS: readonly MetricDef[] = [
  {
    name: 'wattprint_energy_joules_total', type: 'counter', self: false,
    help: 'IT energy of the run per device, in joules (before PUE).',
    labelNames: (u) => ['device', 'kind', 'name', 'uuid', ...RUN(u)],
    fill: (s, u, emit) => { for (const d of s.devices) emit(deviceLabels(s, u, d), d.energyJoules); },
  },
  {
    name: 'wattprint_device_energy_joules_total', type: 'counter', self: false,
    help: 'IT energy of each whole device while the run was tracked, in joules (all its users): exported once the run is charged a share of the device (wattprint_energy_joules_total is that share).',
    labelNames: (u) => ['device', 'kind', 'name', 'uuid', ...RUN(u)],
    fill: (s, u, emit) => {
      for (const d of s.devices) if (d.deviceEnergyJoules !== undefined) emit(deviceLabels(s, u, d), d.deviceEnergyJoules);
    },
  },
  {
    name: 'wattprint_power_watts', type: 'gauge', self: false, live: true,
    help: 'Latest power of each whole device, in watts (all its users, also when the run is charged a share of it).',
    labelNames: (u) => ['device', 'kind', 'name', 'uuid', ...RUN(u)],
    fill: (s, u, emit) => { for (const d of s.devices) emit(deviceLabels(s, u, d), d.powerWatts); },
  },
  {
    name: 'wattprint_facility_energy_joules_total', type: 'counter', self: false,
    help: 'Facility energy of the run (IT energy x PUE), in joules.',
    labelNames: RUN,
    fill: (s, u, emit) => emit(runLabelValues(s, u), s.facilityEnergyJoules),
  },
  {
    name: 'wattprint_co2e_grams_total', type: 'counter', self: false,
    help: 'Emissions of the run in grams CO2e; basis is location (grid average) or market (instruments).',
    labelNames: (u) => ['basis', ...RUN(u)],
    fill: (s, u, emit) => {
      emit({ basis: 'location', ...runLabelValues(s, u) }, s.co2eGrams.location);
      emit({ basis: 'market', ...runLabelValues(s, u) }, s.co2eGrams.market);
    },
  },
  {
    name: 'wattprint_work_total', type: 'counter', self: false,
    help: 'Work the job reported, cumulative: unit is steps, samples or tokens (divide energy by it for J/token).',
    labelNames: (u) => ['unit', ...RUN(u)],
    fill: (s, u, emit) => {
      for (const [unit, value] of Object.entries(s.work ?? {})) if (value !== undefined) emit({ unit, ...runLabelValues(s, u) }, value);
    },
  },
  {
    name: 'wattprint_phase_energy_joules_total', type: 'counter', self: false,
    help: 'IT energy of the job\'s phases, in joules, per phase name over all its windows (nested windows count in each).',
    labelNames: (u) => ['phase', ...RUN(u)],
    fill: (s, u, emit) => { for (const p of s.phaseTotals ?? []) emit({ phase: p.name, ...runLabelValues(s, u) }, p.itEnergyJoules); },
  },
  {
    name: 'wattprint_job_energy_joules_total', type: 'counter', self: false, transient: true,
    help: 'IT energy charged to each job on this node (SLURM job, pod, scope) per device, in joules: its share of the device each tick.',
    labelNames: (u) => ['job', 'device', 'kind', ...RUN(u)],
    fill: (s, u, emit) => {
      for (const j of s.jobs ?? []) for (const d of j.devices) emit({ job: j.id, device: d.id, kind: d.kind, ...runLabelValues(s, u) }, d.energyJoules);
    },
  },
  {
    name: 'wattprint_job_co2e_grams_total', type: 'counter', self: false, transient: true,
    help: 'Emissions charged to each job on this node in grams CO2e; basis is location or market.',
    labelNames: (u) => ['job', 'basis', ...RUN(u)],
    fill: (s, u, emit) => {
      for (const j of s.jobs ?? []) {
        emit({ job: j.id, basis: 'location', ...runLabelValues(s, u) }, j.co2eGrams.location);
        emit({ job: j.id, basis: 'market', ...runLabelValues(s, u) }, j.co2eGrams.market);
      }
    },
  },
  {
    name: 'wattprint_unattributed_energy_joules_total', type: 'counter', self: false,
    help: 'IT energy per device charged to no job on this node, in joules: per device, jobs + unattributed = wattprint_energy_joules_total.',
    labelNames: (u) => ['device', 'kind', ...RUN(u)],
    fill: (s, u, emit) => { for (const d of s.unattributed ?? []) emit({ device: d.id, kind: d.kind, ...runLabelValues(s, u) }, d.energyJoules); },
  },
  {
    name: 'wattprint_grid_intensity_grams_per_kwh', type: 'gauge', self: false, live: true,
    help: 'Grid carbon intensity in use, in grams CO2e per kWh.',
    labelNames: RUN,
    fill: (s, u, emit) => emit(runLabelValues(s, u), s.intensityGramsPerKwh),
  },
  {
    name: 'wattprint_pue_ratio', type: 'gauge', self: false, live: true,
    help: 'Power usage effectiveness applied to IT energy (facility / IT, a ratio).',
    labelNames: RUN,
    fill: (s, u, emit) => emit(runLabelValues(s, u), s.pue),
  },
  {
    // Kept for one release so existing dashboards keep working; README lists it as deprecated.
    name: 'wattprint_pue', type: 'gauge', self: false, live: true,
    help: 'Deprecated: use wattprint_pue_ratio (same value); removed in the release after 0.2.',
    labelNames: RUN,
    fill: (s, u, emit) => emit(runLabelValues(s, u), s.pue),
  },
  {
    name: 'wattprint_run_info', type: 'gauge', self: false,
    help: 'Run metadata; the value is always 1. pue_source is flag|cloud|assumed, intensity_source the kind of source of the intensity in force (constant|table|csv|electricitymaps|uk|watttime); the report has the details.',
    labelNames: (u) => ['hostname', 'zone', 'pue_source', 'intensity_source', 'status', ...RUN(u)],
    fill: (s, u, emit) => emit({
      hostname: s.hostname, zone: s.zone ?? '', pue_source: pueSourceLabel(s.pueSource), intensity_source: intensitySourceLabel(s.intensitySource),
      status: s.status, ...runLabelValues(s, u),
    }, 1),
  },
  {
    name: 'wattprint_device_info', type: 'gauge', self: false,
    help: 'Device metadata: how its energy is obtained (method counter|sampled|modelled) and by which collector; always 1.',
    labelNames: (u) => ['device', 'kind', 'name', 'uuid', 'method', 'collector', ...RUN(u)],
    fill: (s, u, emit) => { for (const d of s.devices) emit(deviceInfoLabels(s, u, d), 1); },
  },
  {
    name: 'wattprint_run_start_time_seconds', type: 'gauge', self: false,
    help: 'Start of the run, in seconds since the Unix epoch.',
    labelNames: RUN,
    fill: (s, u, emit) => emit(runLabelValues(s, u), unixSeconds(s.startedAt)),
  },
  {
    name: 'wattprint_progress_ratio', type: 'gauge', self: false, live: true,
    help: 'Fraction of the job completed (0..1), when progress is known; source is api (the job reported it) or expected_duration.',
    labelNames: (u) => ['source', ...RUN(u)],
    fill: (s, u, emit) => {
      if (s.projected) emit({ source: progressSourceLabel(s.projected.source), ...runLabelValues(s, u) }, s.projected.fraction);
    },
  },
  {
    name: 'wattprint_projected_energy_joules', type: 'gauge', self: false, live: true,
    help: 'Projected IT energy at completion of the job, in joules, when progress is known.',
    labelNames: RUN,
    fill: (s, u, emit) => { if (s.projected) emit(runLabelValues(s, u), s.projected.energyJoules); },
  },
  {
    name: 'wattprint_projected_co2e_grams', type: 'gauge', self: false, live: true,
    help: 'Projected location-based emissions at completion of the job, in grams CO2e.',
    labelNames: RUN,
    fill: (s, u, emit) => { if (s.projected) emit(runLabelValues(s, u), s.projected.co2eGrams); },
  },
  {
    name: 'wattprint_collector_up', type: 'gauge', self: true,
    help: 'Whether the collector\'s last read succeeded (1) or not (0).',
    labelNames: () => ['collector'],
    fill: (s, _u, emit) => { for (const c of s.collectors) emit({ collector: c.name }, c.up ? 1 : 0); },
  },
  {
    name: 'wattprint_collector_duration_seconds', type: 'gauge', self: true,
    help: 'Duration of the collector\'s last read, in seconds.',
    labelNames: () => ['collector'],
    fill: (s, _u, emit) => {
      for (const c of s.collectors) emit({ collector: c.name }, c.lastDurationSeconds);
    },
  },
  {
    name: 'wattprint_collector_errors_total', type: 'counter', self: true,
    help: 'Failed or refused collector reads, by collector and reason (nan|negative|absurd|malformed|lost|unsupported|error|timeout).',
    labelNames: () => ['collector', 'reason'],
    fill: (s, _u, emit) => {
      // Every known reason from the first scrape on, at 0: rate() and increase() need the series before the
      // first error, and a dashboard panel is not empty while all is well.
      for (const c of s.collectors) {
        for (const reason of COLLECTOR_ERROR_REASONS) emit({ collector: c.name, reason }, c.errorsTotal[reason] ?? 0);
        for (const [reason, n] of Object.entries(c.errorsTotal)) if (!COLLECTOR_ERROR_REASONS.includes(reason)) emit({ collector: c.name, reason }, n);
      }
    },
  },
  {
    name: 'wattprint_tick_lag_seconds', type: 'gauge', self: true,
    help: 'How late the last tick started versus its schedule, in seconds.',
    labelNames: NONE,
    fill: (s, _u, emit) => emit({}, s.tickLagSeconds),
  },
  {
    name: 'wattprint_dropped_readings_total', type: 'counter', self: true,
    help: 'Readings refused so far (NaN, negative, absurd, malformed, lost).',
    labelNames: NONE,
    fill: (s, _u, emit) => emit({}, s.droppedTotal),
  },
];
