import { InvalidArgumentError } from 'commander';
import { parseHostPort } from '../src/exporters/auth.js';

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
  if (!Number.isFinite(n) || n < 1 || n > 5) throw new InvalidArgumentError(`PUE must be a number from 1.0 to 5.0 (e.g. 1.1), got '${value}'.`);
  return n;
}

/** fraction parses a number in [0, 1] (carbon-free energy fraction). */
export function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`a fraction from 0 to 1 is needed (e.g. 0.3 for 30%), got '${value}'.`);
  return n;
}

/** label parses KEY=VALUE and accumulates into a record (repeatable --label). */
export function label(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const out = { ...previous };
  for (const part of value.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new InvalidArgumentError(`labels are KEY=VALUE with KEY made of letters, digits and _, got '${part}'.`);
    }
    out[key] = part.slice(eq + 1);
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
