import { InvalidArgumentError } from 'commander';
import { reservedLabelProblem } from '../src/exporters/metric-labels.js';
import { parseHostPort } from '../src/exporters/host-port.js';

/** positiveNumber parses a number > 0 ('0.5', '2'). */
export function positiveNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a number greater than 0, got '${value}'.`);
    return n;
  };
}

/** nonNegativeNumber parses a number ≥ 0. */
export function nonNegativeNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number of at least 0, got '${value}'.`);
    return n;
  };
}

/** pueValue parses a PUE: a ratio of at least 1. */
export function pueValue(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 5) throw new InvalidArgumentError(`--pue must be a number from 1.0 to 5.0 (e.g. 1.1), got '${value}'.`);
  return n;
}

/** fraction parses --cfe: a number in [0, 1] (carbon-free energy fraction). */
export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`--cfe must be a fraction from 0 to 1 (e.g. 0.3 for 30%), got '${value}'.`);
  return n;
}

/**
 * Interval bounds, in seconds: below 50 ms a reading costs more than it measures and timers slip (1e-9 s
 * recorded thousands of bogus gaps); above an hour no gap rule or live view means anything (1e9 s overflowed
 * Node's timers into a busy loop).
 */
export const MIN_INTERVAL_SECONDS = 0.05;
export const MAX_INTERVAL_SECONDS = 3600;

/** intervalSeconds parses --interval: seconds from MIN_INTERVAL_SECONDS to MAX_INTERVAL_SECONDS. */
export function intervalSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < MIN_INTERVAL_SECONDS || n > MAX_INTERVAL_SECONDS) {
    throw new InvalidArgumentError(`--interval must be a number of seconds from ${MIN_INTERVAL_SECONDS} to ${MAX_INTERVAL_SECONDS}, got '${value}'.`);
  }
  return n;
}

/**
 * Label bounds: every label is a series label of every exported metric and is stored with the run, so
 * thousands of them (5,000 took 4 s to start and made /metrics 682 KB) are refused.
 */
export const MAX_LABELS = 64;
export const MAX_LABEL_KEY_CHARS = 100;
export const MAX_LABEL_VALUE_CHARS = 256;

/** label parses KEY=VALUE and accumulates into a record (repeatable --label), within the label bounds. */
export function label(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const out = { ...previous };
  for (const part of value.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InvalidArgumentError(`labels are KEY=VALUE with KEY made of letters, digits and _, got '${part.slice(0, 120)}'.`);
    }
    const labelValue = part.slice(eq + 1);
    const reserved = reservedLabelProblem(key);
    if (reserved) throw new InvalidArgumentError(`--label ${key}: ${reserved}; choose another name${key.startsWith('__') ? '' : ` (such as ${key}_label)`}.`);
    if (key.length > MAX_LABEL_KEY_CHARS) {
      throw new InvalidArgumentError(`label key '${key.slice(0, 20)}…' has ${key.length} characters: at most ${MAX_LABEL_KEY_CHARS}.`);
    }
    if ([...labelValue].length > MAX_LABEL_VALUE_CHARS) {
      throw new InvalidArgumentError(`label '${key}' has a value of ${[...labelValue].length} characters: at most ${MAX_LABEL_VALUE_CHARS}.`);
    }
    out[key] = labelValue;
    if (Object.keys(out).length > MAX_LABELS) {
      throw new InvalidArgumentError(`more than ${MAX_LABELS} labels: keep the ones you will filter on.`);
    }
  }
  return out;
}

/** ListenAddress is where the live server binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** listenAddress parses HOST:PORT, [::1]:PORT or :PORT. */
export function listenAddress(value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`--listen takes HOST:PORT such as 127.0.0.1:9477 or [::1]:9477, got '${value}'.`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** list parses a comma-separated list, accumulating repeats. */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** allowedHost parses --allowed-host NAME or NAME:PORT ([v6] for IPv6), accumulating repeats. */
export function allowedHost(value: string, previous: string[] = []): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!parseHostPort(name)) throw new InvalidArgumentError(`--allowed-host takes a host name such as wattprint.example or wattprint.example:8080, got '${name}'.`);
  }
  return [...previous, ...names];
}
