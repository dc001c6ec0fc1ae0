/** Node-wide totals attribution divides: CPU busy/total ticks from /proc/stat and used memory from /proc/meminfo. */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ProcStatReader } from './procfs.js';
import { parseMeminfo } from './proc-pid.js';

/** NodeSample is one read of the node: cumulative CPU ticks (USER_HZ) and current memory, bytes. */
export interface NodeSample {
  busyTicks: number;
  totalTicks: number;
  memTotalBytes: number;
  memUsedBytes: number;
}

/** NodeUsageSource is where node totals come from: procfs by default; tests may define a node of their own. */
export interface NodeUsageSource {
  read(): NodeSample;
  close(): void;
}

/** ProcNodeUsage reads <procfs>/stat and <procfs>/meminfo, both kept open and re-read with pread. */
export class ProcNodeUsage implements NodeUsageSource {
  private readonly stat: ProcStatReader;
  private meminfoFd: number | undefined;
  // meminfo is about 1.5 KiB; hugepage and CMA lines add a few hundred bytes.
  private readonly buf = Buffer.allocUnsafe(8192);
  private readonly meminfoPath: string;

  constructor(procfsRoot: string) {
    this.stat = new ProcStatReader(procfsRoot);
    this.meminfoPath = join(procfsRoot, 'meminfo');
    try {
      this.meminfoFd = openSync(this.meminfoPath, 'r');
    } catch (cause) {
      this.stat.close();
      throw new Error(`open ${this.meminfoPath}`, { cause });
    }
  }

  read(): NodeSample {
    const cpu = this.stat.read();
    if (this.meminfoFd === undefined) throw new Error(`${this.meminfoPath} is closed`);
    const n = readSync(this.meminfoFd, this.buf, 0, this.buf.length, 0);
    const mem = parseMeminfo(this.buf.toString('latin1', 0, n));
    return { busyTicks: cpu.busyTicks, totalTicks: cpu.totalTicks, ...mem };
  }

  close(): void {
    this.stat.close();
    if (this.meminfoFd !== undefined) closeSync(this.meminfoFd);
    this.meminfoFd = undefined;
  }
}
