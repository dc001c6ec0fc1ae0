/** Types shared by the attribution readers (collectors/lib) and the pure share computation (src/attribution). */

/**
 * IdleAttribution is how a device's power is divided among the consumers of one tick.
 * proportional — the device's whole energy, idle included, is shared among consumers in proportion to their
 *                busy time (a job alone gets all of it; two equal jobs half each);
 * none         — a consumer pays only for the capacity it used (busy time over the device's whole capacity);
 *                capacity nobody used, the idle part, is charged to no job.
 */
export type IdleAttribution = 'proportional' | 'none';

/** AttributionScope says what a job's share was measured on. */
export type AttributionScope = 'process-tree' | 'cgroup' | 'node';

/**
 * AttributionTick is one tick's answer for one job: per device id, the fraction of that device's energy over
 * the tick's interval (previous tick → this tick) that the job is charged, in [0, 1].
 */
export interface AttributionTick {
  scope: AttributionScope;
  policy: IdleAttribution;
  shares: Map<string, number>;
  /** Every distinct fact the report must carry (fallbacks, assumptions), oldest first; grows, never repeats. */
  notes: string[];
  /** True on the first tick: it only sets the counters' baseline, and its shares are not measurements. */
  baseline: boolean;
  /** What the scope measured (absent at node scope): the job's CPU seconds in the interval, memory held now. */
  measured?: { cpuSeconds?: number; memoryBytes: number };
}

/** UsageSplit is one device's tick split between consumers: a share per consumer plus the unattributed rest. */
export interface UsageSplit {
  /** Share per consumer, each in [0, 1]. */
  shares: Map<string, number>;
  /** 1 − Σ shares, never negative: idle capacity (policy none) and use by no known consumer. */
  unattributed: number;
}
