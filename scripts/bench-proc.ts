import { readdirSync, readFileSync } from 'node:fs';

/** CLOCK_TICKS_PER_SECOND is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** ProcCpu is a process's CPU time so far, all threads, in milliseconds. */
export interface ProcCpu {
  /** utime + stime from /proc/PID/stat: every thread, live and exited; 10 ms resolution. */
  statMs: number;
  /** Σ sum_exec_runtime from /proc/PID/task/*\/schedstat: live threads only, nanosecond resolution. */
  schedMs: number;
}

/** procCpu reads a process's CPU time both ways. */
export function procCpu(pid: number): ProcCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const statMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  let schedNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      schedNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that exited between the listing and the read
    }
  }
  return { statMs, schedMs: schedNs / 1e6 };
}

/** rssMbOf is a process's resident set (VmRSS) in MiB. */
export function rssMbOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** loadAverage is the 1-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** Spread is min / median / max of repeated measurements. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** spread summarises values (at least one). */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

/** formatSpread prints 'median (min–max)' with `digits` decimals; one value prints alone. */
export function formatSpread(s: Spread, digits: number): string {
  if (s.min === s.max) return s.median.toFixed(digits);
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}
