import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** ResolvedToken is the live server's bearer token and, when it came from argv, the warning to print. */
export interface ResolvedToken {
  token?: string;
  warning?: string;
}

// Where an option's value came from, strongest first: flag > env > config file.
const RANK: Record<string, number> = { cli: 3, env: 2, config: 1 };

/**
 * resolveToken picks the token from --token, --token-file, WATTPRINT_TOKEN, WATTPRINT_TOKEN_FILE or the
 * config file, by the usual precedence; two at the same level are an error. A token typed on the command
 * line is visible to every user of the machine in `ps` and /proc/PID/cmdline: it still works, with a warning.
 */
export function resolveToken(cmd: Command): ResolvedToken {
  const opts = cmd.opts() as { token?: string; tokenFile?: string };
  const tokenRank = opts.token !== undefined ? RANK[cmd.getOptionValueSource('token') ?? ''] ?? 0 : -1;
  const fileRank = opts.tokenFile !== undefined ? RANK[cmd.getOptionValueSource('tokenFile') ?? ''] ?? 0 : -1;
  if (tokenRank < 0 && fileRank < 0) return {};
  if (tokenRank === fileRank) {
    throw new UsageError('both a token and a token file are given: keep --token-file PATH (or WATTPRINT_TOKEN) and drop the other');
  }
  if (fileRank > tokenRank) return { token: readTokenFile(opts.tokenFile!) };
  const token = opts.token!;
  if (token.trim() === '') throw new UsageError('the token is empty: pass --token-file PATH with the token on its first line');
  return cmd.getOptionValueSource('token') === 'cli'
    ? { token, warning: 'warning: --token is visible to every user of this machine in `ps`; pass --token-file PATH or set WATTPRINT_TOKEN instead' }
    : { token };
}

/** readTokenFile returns the first line of a token file, trimmed; an unreadable or empty file is a usage error. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new UsageError(`cannot read --token-file ${path}: ${why}; give a file holding the token on its first line`);
  }
  const token = (text.split(/\r\n|\r|\n/, 1)[0] ?? '').trim();
  if (token === '') throw new UsageError(`--token-file ${path} has no token on its first line: write the token there`);
  return token;
}
