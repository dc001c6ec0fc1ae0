/** DeviceKind is the class of a tracked power domain. */
export type DeviceKind = 'gpu' | 'cpu' | 'dram' | 'tpu' | 'other';

/**
 * EnergyMethod says how a device's energy was obtained:
 * counter  — a cumulative hardware energy counter (NVML total energy, RAPL energy_uj): exact between reads;
 * sampled  — measured power samples integrated with the trapezoid rule;
 * modelled — power from a model (TDP × utilisation, W per GB, per-chip averages), integrated like samples.
 */
export type EnergyMethod = 'counter' | 'sampled' | 'modelled';

/** DeviceInfo describes one tracked power domain. */
export interface DeviceInfo {
  /** Stable within a host and run: 'gpu0', 'cpu', 'package-0', 'dram-0', 'ram', 'tpu0'. */
  id: string;
  kind: DeviceKind;
  /** Human name: 'NVIDIA H100 80GB HBM3', 'AMD EPYC 7763 (package 0)'. */
  name: string;
  uuid?: string;
  method: EnergyMethod;
  /** Collector that owns the device ('nvml', 'rapl', 'cpu', ...). */
  collector: string;
  powerLimitWatts?: number;
  /** Facts the report must show (e.g. 'MIG enabled: power and energy are the whole physical GPU'). */
  notes?: string[];
}

/** Reading is one observation of one device at one instant. */
export interface Reading {
  deviceId: string;
  /** Cumulative energy counter value in joules (method 'counter'). */
  counterJoules?: number;
  /** Counter range in joules: the value wraps to 0 after range (RAPL max_energy_range_uj). Undefined: no wrap. */
  counterRangeJoules?: number;
  /**
   * Counter epoch: changes whenever the counter restarts from zero for a known reason (boot id, driver load).
   * Used to decide whether energy during agent downtime can be recovered from the counter.
   */
  counterEpoch?: string;
  /** Power in watts: the sample integrated for sampled/modelled devices; informational next to counters. */
  powerWatts?: number;
}

/** DROP_REASONS are why a collector refuses a reading; each is a `reason` label value of wattprint_collector_errors_total. */
export const DROP_REASONS = ['nan', 'negative', 'absurd', 'malformed', 'lost', 'unsupported', 'reopened'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** READ_FAILURE_REASONS are why a whole collector read failed: it threw, or it did not answer in time. */
export const READ_FAILURE_REASONS = ['error', 'timeout'] as const;

/** COLLECTOR_ERROR_REASONS is every reason wattprint_collector_errors_total counts, exported at 0 from the start. */
export const COLLECTOR_ERROR_REASONS: readonly string[] = [...DROP_REASONS, ...READ_FAILURE_REASONS];

/** DroppedReading is a reading a collector refused (NaN, negative, absurd, malformed, device lost, unsupported). */
export interface DroppedReading {
  deviceId?: string;
  /** Short machine reason, a metric label value (DROP_REASONS). */
  reason: DropReason;
  message?: string;
}

/** ReadResult is what one collector read returns. */
export interface ReadResult {
  readings: Reading[];
  dropped?: DroppedReading[];
  /**
   * Faults the collector recovered from without losing the reading (a counter file reopened after it was
   * replaced): counted by reason like dropped readings, but the reading is in `readings`.
   */
  recovered?: DroppedReading[];
}
