import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import type { TrackingFlags } from './session.js';
import { resolveToken } from './token.js';

/**
 * applyConfigFile fills options from a JSON config file where neither a flag nor an env variable set them:
 * precedence is flag > env > file > default. Keys are the long option names ("run-id" or "runId").
 * Values go through each option's own parser, so a bad value in the file is reported like a bad flag.
 */
export function applyConfigFile(cmd: Command, path: string): void {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read config file ${path}: ${why}; pass --config with a JSON file`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`config file ${path} must hold a JSON object of option names to values`);
  for (const [rawKey, rawValue] of Object.entries(data as Record<string, unknown>)) {
    const long = '--' + rawKey.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    const option = cmd.options.find((o) => o.long === long && !o.negate);
    if (!option || long === '--config') throw new UsageError(`config file ${path}: unknown option '${rawKey}'; see \`wattprint ${cmd.name()} --help\``);
    const key = option.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const values = Array.isArray(rawValue) ? rawValue : rawValue !== null && typeof rawValue === 'object'
      ? Object.entries(rawValue).map(([k, v]) => `${k}=${String(v)}`) : [rawValue];
    let value: unknown = option.isBoolean() ? Boolean(rawValue) : undefined;
    if (!option.isBoolean()) {
      for (const v of values) {
        try {
          value = option.parseArg ? option.parseArg(String(v), value as never) : String(v);
        } catch (err) {
          throw new UsageError(`config file ${path}: '${rawKey}': ${(err as Error).message}`);
        }
      }
    }
    cmd.setOptionValueWithSource(key, value, 'config');
  }
}

/** trackingFlags reads a tracking command's options, applying --config first. */
export function trackingFlags(cmd: Command): TrackingFlags {
  const config = cmd.opts().config as string | undefined;
  if (config) applyConfigFile(cmd, config);
  const { token, warning } = resolveToken(cmd);
  return { ...cmd.opts(), token, tokenWarning: warning, listenIsDefault: cmd.getOptionValueSource('listen') === 'default' } as TrackingFlags;
}
