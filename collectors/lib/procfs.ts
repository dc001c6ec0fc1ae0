import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CpuTicks is the aggregate CPU time from the first line of /proc/stat, in USER_HZ ticks.
 * busyTicks counts user, nice, system, irq and softirq; totalTicks adds idle, iowait and steal.
 * guest and guest_nice are left out: the kernel already counts them inside user and nice.
 */
export interface CpuTicks {
  busyTicks: number;
  totalTicks: number;
}

/** parseCpuTicks reads the aggregate 'cpu ' line of /proc/stat text; throws on anything else. */
export function parseCpuTicks(statText: string): CpuTicks {
  const end = statText.indexOf('\n');
  const line = end < 0 ? statText : statText.slice(0, end);
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 5) {
    throw new Error(`unexpected /proc/stat first line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const n = (i: number): number => {
    // Older kernels print fewer columns (iowait/irq/softirq since 2.6, steal since 2.6.11): absent = 0.
    const v = fields[i] === undefined ? 0 : Number(fields[i]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`bad /proc/stat field ${i}: ${fields[i]}`);
    return v;
  };
  const [user, nice, system, idle, iowait, irq, softirq, steal] = [1, 2, 3, 4, 5, 6, 7, 8].map(n) as [
    number, number, number, number, number, number, number, number,
  ];
  const busyTicks = user + nice + system + irq + softirq;
  return { busyTicks, totalTicks: busyTicks + idle + iowait + steal };
}

/**
 * cpuUtilisation is the busy share (0..1) between two /proc/stat reads; undefined when no tick
 * elapsed (two reads within one USER_HZ tick) or the counters went backwards (a different boot).
 */
export function cpuUtilisation(prev: CpuTicks, next: CpuTicks): number | undefined {
  const totalDelta = next.totalTicks - prev.totalTicks;
  const busyDelta = next.busyTicks - prev.busyTicks;
  if (totalDelta <= 0 || busyDelta < 0) return undefined;
  return Math.min(1, busyDelta / totalDelta);
}

/**
 * ProcStatReader keeps <procfsRoot>/stat open and re-reads its first bytes with pread at offset 0
 * each call: one syscall per tick, no open/close, no child process.
 */
export class ProcStatReader {
  private fd: number | undefined;
  // The aggregate line is at most ~250 bytes (10 counters of ≤ 20 digits); 1 KiB leaves room.
  private readonly buf = Buffer.allocUnsafe(1024);
  readonly path: string;

  constructor(procfsRoot: string) {
    this.path = join(procfsRoot, 'stat');
    try {
      this.fd = openSync(this.path, 'r');
    } catch (cause) {
      throw new Error(`open ${this.path}`, { cause });
    }
  }

  /** read returns the current aggregate CPU ticks. */
  read(): CpuTicks {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    const bytes = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    return parseCpuTicks(this.buf.toString('latin1', 0, bytes));
  }

  /** close releases the file descriptor; later reads throw. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** parseMemTotalBytes returns MemTotal from /proc/meminfo text, in bytes (the file prints kB = KiB). */
export function parseMemTotalBytes(meminfoText: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB\s*$/m.exec(meminfoText);
  if (!m) throw new Error('no "MemTotal: N kB" line in meminfo');
  return Number(m[1]) * 1024;
}

/** readMemTotalBytes reads MemTotal from <procfsRoot>/meminfo, in bytes (once, at probe). */
export function readMemTotalBytes(procfsRoot: string): number {
  const path = join(procfsRoot, 'meminfo');
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (cause) {
    throw new Error(`read ${path}`, { cause });
  }
  try {
    return parseMemTotalBytes(text);
  } catch (cause) {
    throw new Error(`parse ${path}`, { cause });
  }
}
