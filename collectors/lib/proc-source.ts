/**
 * ProcfsSource is the I/O half of the process tree: one readdir of procfs per tick, and /proc/PID/stat read
 * with pread on a descriptor kept open for each member (re-reading an open stat file costs about a third of
 * open+read+close on this 2-core VM: 11-16 µs against 28-60 µs). A kept descriptor belongs to one process:
 * once that process is reaped its reads fail with ESRCH, even if the pid is reused, so reuse cannot go unseen.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, type SysfsFailure } from './sysfs.js';
import { parsePidStatBytes, parseUptimeSeconds, type PidStat } from './proc-pid.js';

/** ProcSource is what the process tree needs from procfs; tests drive the tree with a scripted one. */
export interface ProcSource {
  /** listPids returns the pid of every process now in procfs (threads are not listed). */
  listPids(): number[];
  /**
   * readStat parses pid's stat into out; false when the process is gone or unreadable (lastFailure says which).
   * keep: hold the file open for the next read (members are read every tick).
   */
  readStat(pid: number, out: PidStat, keep: boolean): boolean;
  /** lastFailure is why the last readStat returned false. */
  readonly lastFailure: SysfsFailure | undefined;
  /** readCgroup returns /proc/PID/cgroup's text, or undefined when gone or unreadable. */
  readCgroup(pid: number): string | undefined;
  /** uptimeSeconds is seconds since boot (the clock of stat's starttime), undefined when unreadable. */
  uptimeSeconds(): number | undefined;
  /** forget closes what is kept open for pid. */
  forget(pid: number): void;
  close(): void;
}

/**
 * DEFAULT_MAX_OPEN_STATS caps the stat files kept open; members past it are opened and closed each tick.
 * Under the common soft limit of 1024 descriptors, with room left for everything else the agent opens.
 */
export const DEFAULT_MAX_OPEN_STATS = 768;

/** ProcfsSource reads a real (or fixture) procfs rooted at procfsRoot. */
export class ProcfsSource implements ProcSource {
  private readonly fds = new Map<number, number>();
  // A stat line is under 400 bytes; comm is at most 64 bytes (TASK_COMM_LEN 16 today).
  private readonly buf = Buffer.allocUnsafe(1024);
  // /proc/PID/cgroup on a v1 Kubernetes node runs past 2 KiB (11 controllers × a 160-character path).
  private readonly cgroupBuf = Buffer.allocUnsafe(16_384);
  private uptimeFd: number | undefined;
  lastFailure: SysfsFailure | undefined;

  constructor(
    readonly procfsRoot: string,
    private maxOpen = DEFAULT_MAX_OPEN_STATS,
  ) {}

  listPids(): number[] {
    const pids: number[] = [];
    for (const name of readdirSync(this.procfsRoot)) {
      const c = name.charCodeAt(0);
      if (c < 0x30 || c > 0x39) continue;
      const pid = Number(name);
      if (Number.isSafeInteger(pid)) pids.push(pid);
    }
    return pids;
  }

  readStat(pid: number, out: PidStat, keep: boolean): boolean {
    let fd = this.fds.get(pid);
    const kept = fd !== undefined;
    try {
      if (fd === undefined) fd = this.open(`${this.procfsRoot}/${pid}/stat`);
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      if (!kept && keep && this.fds.size < this.maxOpen) this.fds.set(pid, fd);
      else if (!kept) closeSync(fd);
      if (parsePidStatBytes(this.buf, n, out)) return true;
      this.lastFailure = 'error';
      return false;
    } catch (err) {
      if (fd !== undefined) {
        this.fds.delete(pid);
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
      // ESRCH on a kept descriptor: the process was reaped (its pid may already belong to another).
      this.lastFailure = (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'missing' : failureOf(err);
      return false;
    }
  }

  /**
   * open opens a file; out of descriptors (EMFILE, ENFILE: a low ulimit -n and a huge job), it stops keeping
   * more, gives back a batch of kept ones and tries once more, so a big job costs more per tick instead of
   * losing processes.
   */
  private open(path: string): number {
    try {
      return openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || this.fds.size === 0) throw err;
      this.maxOpen = Math.max(0, this.fds.size - 64);
      for (const [pid, fd] of [...this.fds].slice(0, 64)) {
        this.fds.delete(pid);
        closeSync(fd);
      }
      return openSync(path, 'r');
    }
  }

  readCgroup(pid: number): string | undefined {
    let fd: number | undefined;
    try {
      fd = this.open(`${this.procfsRoot}/${pid}/cgroup`);
      const n = readSync(fd, this.cgroupBuf, 0, this.cgroupBuf.length, 0);
      return this.cgroupBuf.toString('latin1', 0, n);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  uptimeSeconds(): number | undefined {
    try {
      this.uptimeFd ??= openSync(join(this.procfsRoot, 'uptime'), 'r');
      const n = readSync(this.uptimeFd, this.buf, 0, 64, 0);
      return parseUptimeSeconds(this.buf.toString('latin1', 0, n));
    } catch {
      return undefined;
    }
  }

  forget(pid: number): void {
    const fd = this.fds.get(pid);
    if (fd === undefined) return;
    this.fds.delete(pid);
    closeSync(fd);
  }

  /** openFiles is how many stat files are held open now. */
  get openFiles(): number {
    return this.fds.size;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    if (this.uptimeFd !== undefined) closeSync(this.uptimeFd);
    this.uptimeFd = undefined;
  }
}
