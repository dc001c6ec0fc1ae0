import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

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
    return readdirSync(path).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return [];
  }
}

/** parseIntStrict parses a sysfs decimal integer ("123\n"); NaN for anything else (empty, "N/A", "1.5"). */
export function parseIntStrict(text: string): number {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : NaN;
}

/**
 * PreadFile keeps one sysfs file open and re-reads it from offset 0 with pread: sysfs regenerates the
 * attribute on each read at offset 0, so a tick costs one syscall and no open/close.
 */
export class PreadFile {
  readonly path: string;
  private fd: number | undefined;
  private readonly buf: Buffer;

  /** constructor opens the file; throws the fs error (EACCES, ENOENT). bufferBytes bounds one read (default 64). */
  constructor(path: string, bufferBytes = 64) {
    this.path = path;
    this.buf = Buffer.alloc(bufferBytes);
    this.fd = openSync(path, 'r');
  }

  /** readText returns the file's current content, trimmed. */
  readText(): string {
    if (this.fd === undefined) throw new Error(`read ${this.path}: file closed`);
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    return this.buf.toString('latin1', 0, n).trim();
  }

  /** readInt returns the file's integer value; NaN when malformed. Throws when the read itself fails. */
  readInt(): number {
    return parseIntStrict(this.readText());
  }

  /** close releases the descriptor; safe to call twice. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } finally {
      this.fd = undefined;
    }
  }
}

/** readBootId reads the kernel boot id once (`<procfs>/sys/kernel/random/boot_id`): a counter epoch. */
export function readBootId(procfsRoot: string): string | undefined {
  return readTextOr(`${procfsRoot}/sys/kernel/random/boot_id`) || undefined;
}
