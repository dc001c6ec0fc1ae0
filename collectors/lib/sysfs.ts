import type { DroppedReading, Reading, ReadResult } from '../../src/types.js';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';

/** SysfsFailure says why a sysfs/procfs file could not be used: missing, permission denied, or other. */
export type SysfsFailure = 'missing' | 'denied' | 'error';

/** failureOf classifies a Node fs error by its code (ENOENT/ENOTDIR → missing, EACCES/EPERM → denied). */
export function failureOf(err: unknown): SysfsFailure {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'error';
}

/** readTextOr reads a small text file and trims it; undefined when it cannot be read (probe-time only). */
export function readTextOr(path: string): string | undefined {
  try {
    // latin1 keeps arbitrary bytes (DMI strings are not always UTF-8) one char per byte.
    return readFileSync(path, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** listDir lists a directory's entry names sorted naturally; [] when it does not exist or is unreadable. */
export function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort(naturalCompare);
  } catch {
    return [];
  }
}

/**
 * naturalCompare orders names with their digit runs compared as numbers ('card2' before 'card10',
 * 'intel-rapl:0:1' before 'intel-rapl:0:10'), other characters by code unit. Written out rather than
 * localeCompare(…, { numeric: true }): that one loads ICU's collation data, ~4 MB resident for an agent's lifetime.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      // Leading zeros do not count: compare significant digits by length, then digit by digit.
      let si = i;
      let sj = j;
      while (si < ei - 1 && a.charCodeAt(si) === 48) si++;
      while (sj < ej - 1 && b.charCodeAt(sj) === 48) sj++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d !== 0) return d;
      }
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return (a.length - i) - (b.length - j);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** parseIntStrict parses a sysfs decimal integer ("123\n"); NaN for anything else (empty, "N/A", "1.5"). */
export function parseIntStrict(text: string): number {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : NaN;
}

/**
 * PATH_CHECK_INTERVAL_MS: how often a held counter file's path is stat'ed for a new file by default. A sysfs
 * attribute that goes away fails the next read on its old descriptor (ENODEV), which reopens at once; the stat
 * catches a file replaced under a path that still reads (a renamed regular file, a bind-mounted tree). Every
 * 5 s, not every tick: at 1 Hz a stat per file per tick was a tenth of an agent's tick (issue 14), and a late
 * reopen loses no energy (the counter goes on from the new file).
 */
export const PATH_CHECK_INTERVAL_MS = 5000;

/** PreadFileOptions: bytes per read, how often the path is checked for a new file (ms), the monotonic clock (tests). */
export interface PreadFileOptions {
  bufferBytes?: number;
  checkIntervalMs?: number;
  nowMs?: () => number;
}

/**
 * PreadFile keeps one sysfs file open and re-reads it from offset 0 with pread: sysfs regenerates the
 * attribute on each read at offset 0, so a tick costs one syscall and no open/close. A held descriptor can
 * outlive its file (a driver reload or hotplug recreates the attribute; a test renames a new file over it):
 * at most once per checkIntervalMs (PATH_CHECK_INTERVAL_MS) the path is stat'ed, and when it names another
 * inode the file is reopened; a read error reopens at once. A path that is gone throws until it comes back.
 * Every reopen is reported once through takeReopened(), so it is counted, never silent.
 */
export class PreadFile {
  readonly path: string;
  private fd: number | undefined;
  private closed = false;
  private identity = '';
  private checkedAtMs = 0;
  private reopened: string | undefined;
  private readonly buf: Buffer;
  private readonly checkIntervalMs: number;
  private readonly nowMs: () => number;

  /** constructor opens the file; throws the fs error (EACCES, ENOENT). options.bufferBytes bounds one read (default 64). */
  constructor(path: string, options: PreadFileOptions = {}) {
    this.path = path;
    this.buf = Buffer.alloc(options.bufferBytes ?? 64);
    this.checkIntervalMs = options.checkIntervalMs ?? PATH_CHECK_INTERVAL_MS;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.open();
  }

  /** readText returns the file's current content, trimmed; throws when the file cannot be read or is gone. */
  readText(): string {
    if (this.closed) throw new Error(`read ${this.path}: file closed`);
    if (this.fd === undefined) this.reopen('it is back');
    else if (this.nowMs() - this.checkedAtMs >= this.checkIntervalMs) this.check();
    try {
      return this.pread();
    } catch (cause) {
      // The attribute under a held descriptor went away (ENODEV, EIO): open the path again, once.
      this.drop();
      this.reopen(`read failed: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`);
      return this.pread();
    }
  }

  /** readInt returns the file's integer value; NaN when malformed. Throws when the read itself fails. */
  readInt(): number {
    return parseIntStrict(this.readText());
  }

  /** takeReopened returns why the last reads reopened the file ('… reopened: replaced by a new file'), once. */
  takeReopened(): string | undefined {
    const why = this.reopened;
    this.reopened = undefined;
    return why;
  }

  /** close releases the descriptor; safe to call twice. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private open(): void {
    const fd = openSync(this.path, 'r');
    const st = fstatSync(fd);
    this.fd = fd;
    this.identity = `${st.dev}:${st.ino}`;
    this.checkedAtMs = this.nowMs();
  }

  /** check compares the path's inode with the held one; a different file is reopened, a missing one throws. */
  private check(): void {
    this.checkedAtMs = this.nowMs();
    let st: { dev: number; ino: number };
    try {
      st = statSync(this.path);
    } catch (cause) {
      this.drop();
      throw new Error(`${this.path} is gone (${(cause as NodeJS.ErrnoException).code ?? 'stat failed'})`, { cause });
    }
    if (`${st.dev}:${st.ino}` !== this.identity) {
      this.drop();
      this.reopen('replaced by a new file');
    }
  }

  private reopen(why: string): void {
    this.open();
    this.reopened = `${this.path} reopened: ${why}`;
  }

  private pread(): string {
    const n = readSync(this.fd!, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('latin1', 0, n).trim();
  }

  private drop(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already invalid: nothing to release
    } finally {
      this.fd = undefined;
    }
  }
}

/** withFaults builds a ReadResult, leaving out empty dropped/recovered lists. */
export function withFaults(readings: Reading[], dropped: DroppedReading[], recovered: DroppedReading[]): ReadResult {
  return { readings, ...(dropped.length > 0 ? { dropped } : {}), ...(recovered.length > 0 ? { recovered } : {}) };
}

/** readBootId reads the kernel boot id once (`<procfs>/sys/kernel/random/boot_id`): a counter epoch. */
export function readBootId(procfsRoot: string): string | undefined {
  return readTextOr(`${procfsRoot}/sys/kernel/random/boot_id`) || undefined;
}
