import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CollectorContext } from '../../collectors/types.js';

/** TreeEntry is a file's content, or content with a mode (e.g. 0o000 to provoke EACCES). */
export type TreeEntry = string | { content: string; mode: number };

/** TreeSpec maps a path relative to the root ('class/powercap/intel-rapl:0/name') to its content. */
export type TreeSpec = Record<string, TreeEntry>;

/** tempRoot makes a temp directory readable by other users (for non-root subprocess tests). */
export function tempRoot(prefix = 'wattprint-sysfs-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(root, 0o755);
  return root;
}

/** removeTree deletes a temp tree. */
export function removeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** buildTree writes a TreeSpec under root; values without a trailing newline get one, as sysfs prints. */
export function buildTree(root: string, spec: TreeSpec): string {
  for (const [rel, entry] of Object.entries(spec)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const content = typeof entry === 'string' ? entry : entry.content;
    writeFileSync(path, content.endsWith('\n') || content === '' ? content : `${content}\n`, 'latin1');
    if (typeof entry !== 'string') chmodSync(path, entry.mode);
  }
  return root;
}

/** loadTreeSpec reads a JSON fixture { "files": TreeSpec } (other keys, such as provenance notes, are ignored). */
export function loadTreeSpec(path: string): TreeSpec {
  return (JSON.parse(readFileSync(path, 'utf8')) as { files: TreeSpec }).files;
}

/**
 * extractTtar writes a ttar archive (prometheus/procfs test format) under root. Records:
 * 'Directory: P' + 'Mode: M'; 'Path: P' + 'Lines: N[ NoLineEnding]' + N lines + 'Mode: M';
 * 'Path: P' + 'SymlinkTo: T'. Lines starting with '#' (the '# ttar - - -' separators) are skipped.
 * The text is handled as latin1 so non-UTF-8 bytes in captured files come out byte-exact. `keep` picks the
 * files to write (directories are always made).
 */
export function extractTtar(archivePath: string, root: string, keep: (path: string) => boolean = () => true): string[] {
  const lines = readFileSync(archivePath, 'latin1').split('\n');
  const written: string[] = [];
  let i = 0;
  const next = () => lines[i++];
  const mode = (path: string) => {
    const m = /^Mode: ([0-7]+)$/.exec(lines[i] ?? '');
    if (m) {
      i++;
      chmodSync(path, parseInt(m[1]!, 8));
    }
  };
  while (i < lines.length) {
    const line = next()!;
    if (line === '' || line.startsWith('#')) continue;
    let m: RegExpExecArray | null;
    if ((m = /^Directory: (.+)$/.exec(line))) {
      const path = join(root, m[1]!);
      mkdirSync(path, { recursive: true });
      mode(path);
    } else if ((m = /^Path: (.+)$/.exec(line))) {
      const path = join(root, m[1]!);
      mkdirSync(dirname(path), { recursive: true });
      const header = next() ?? '';
      const link = /^SymlinkTo: (.+)$/.exec(header);
      if (link) {
        symlinkSync(link[1]!, path);
        continue;
      }
      const count = /^Lines: (\d+)( NoLineEnding)?$/.exec(header);
      if (!count) throw new Error(`ttar ${archivePath}:${i}: expected 'Lines: N' after '${line}', got '${header}'`);
      const body = lines.slice(i, i + Number(count[1]));
      i += body.length;
      if (!keep(m[1]!)) {
        if (/^Mode: [0-7]+$/.test(lines[i] ?? '')) i++;
        continue;
      }
      const text = body.length === 0 ? '' : body.join('\n') + (count[2] ? '' : '\n');
      writeFileSync(path, text, 'latin1');
      written.push(m[1]!);
      mode(path);
    } else {
      throw new Error(`ttar ${archivePath}:${i}: unexpected line '${line}'`);
    }
  }
  return written;
}

/** contextFor makes a CollectorContext rooted at `<root>/sys` and `<root>/proc`, with no network and no env. */
export function contextFor(root: string, overrides: Partial<CollectorContext> = {}): CollectorContext {
  return {
    sysfsRoot: join(root, 'sys'),
    procfsRoot: join(root, 'proc'),
    nvidiaSmiPath: '/nonexistent/nvidia-smi',
    nvmlLibraryPath: '/nonexistent/libnvidia-ml.so.1',
    intervalSeconds: 1,
    env: {},
    ...overrides,
  };
}
