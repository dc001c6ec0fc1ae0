import { HttpError } from './http.js';

/** Small readers for untrusted JSON: each throws an HttpError('bad-response') naming what was wrong. */

/** asObject returns value as a record, or throws naming what was expected. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(`${what}: expected a JSON object`, 'bad-response');
  }
  return value as Record<string, unknown>;
}

/** asArray returns value as an array, or throws naming what was expected. */
export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new HttpError(`${what}: expected a JSON array`, 'bad-response');
  return value;
}

/** timeMs parses an ISO 8601 string field into ms since epoch, or throws. */
export function timeMs(value: unknown, what: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new HttpError(`${what}: '${String(value)}' is not an ISO 8601 time`, 'bad-response');
  return ms;
}

/** optionalNumber returns a finite number, undefined for null/absent, or throws for anything else. */
export function optionalNumber(value: unknown, what: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HttpError(`${what}: '${String(value)}' is not a number`, 'bad-response');
  }
  return value;
}
