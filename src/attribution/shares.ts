/**
 * The share formula, written once. For one device over one tick, consumers (jobs) each used u_c of it, the
 * whole node's activity on it was A (consumers and everyone else) and its capacity was C:
 *
 *   proportional:  share_c = u_c / max(A, Σu)    — idle power follows busy time; a lone consumer gets 1
 *   none:          share_c = u_c / max(C, Σu)    — only the capacity used is charged; idle goes unattributed
 *   unattributed = 1 − Σ share_c                 — never negative: the max() keeps Σ share_c ≤ 1
 *
 * CPU: u = job CPU seconds, A = node busy CPU seconds (/proc/stat user+nice+system+irq+softirq),
 *      C = node CPU seconds including idle, iowait and steal.
 * DRAM: u = job resident bytes, A = node used bytes (MemTotal − MemAvailable), C = MemTotal.
 * GPU: u = SM utilisation (%) of the job's processes, A = Σ SM % of every process, C = 100 % (see gpu-usage.ts).
 */
import type { IdleAttribution, UsageSplit } from './types.js';

/** DeviceUsage is one device's use over one tick, every field in the same unit (seconds, bytes or percent). */
export interface DeviceUsage {
  /** Use per consumer id. Negative or non-finite values count as 0. */
  consumers: ReadonlyMap<string, number>;
  /** The device's whole activity in the tick: consumers plus everything else on the node. */
  activity: number;
  /** The device's capacity in the tick: what it could have done (all CPUs × interval, MemTotal, 100 % SM). */
  capacity: number;
}

const clean = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);

/**
 * splitUsage divides one device's tick among its consumers under `policy`. Undefined when the tick carries no
 * information to split on: proportional with no activity at all (nobody busy), or none with no capacity
 * (a zero-length tick). The caller then keeps the previous tick's split (carrySplit).
 */
export function splitUsage(usage: DeviceUsage, policy: IdleAttribution): UsageSplit | undefined {
  let used = 0;
  for (const u of usage.consumers.values()) used += clean(u);
  const base = policy === 'proportional' ? clean(usage.activity) : clean(usage.capacity);
  const denominator = Math.max(base, used);
  if (denominator <= 0) return undefined;
  const shares = new Map<string, number>();
  let sum = 0;
  for (const [id, u] of usage.consumers) {
    const share = clean(u) / denominator;
    shares.set(id, share);
    sum += share;
  }
  return { shares, unattributed: Math.max(0, 1 - sum) };
}

/**
 * carrySplit keeps the previous split for a tick with nothing to split on (splitUsage gave undefined): only
 * the consumers still present keep their share, the rest goes to unattributed. Undefined without a previous.
 */
export function carrySplit(previous: UsageSplit | undefined, present: ReadonlySet<string>): UsageSplit | undefined {
  if (!previous) return undefined;
  const shares = new Map<string, number>();
  let sum = 0;
  for (const [id, share] of previous.shares) {
    if (!present.has(id)) continue;
    shares.set(id, share);
    sum += share;
  }
  return { shares, unattributed: Math.max(0, 1 - sum) };
}

/**
 * counterDelta is next − prev for a cumulative counter (CPU ticks, usage_usec); undefined when either is
 * missing or not finite, or the counter went backwards — a recreated cgroup, a reused pid, a new boot. Such a
 * tick is not measured (the caller carries the previous share) rather than charged a negative amount.
 */
export function counterDelta(prev: number | undefined, next: number | undefined): number | undefined {
  if (prev === undefined || next === undefined || !Number.isFinite(prev) || !Number.isFinite(next)) return undefined;
  return next >= prev ? next - prev : undefined;
}

/** clampShare forces a share into [0, 1]; NaN becomes 0. */
export function clampShare(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}
