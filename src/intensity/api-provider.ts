import type { IntensityProvider, IntensityValue } from './types.js';
import type { IntensityCache } from './cache.js';
import { toIntensityValue } from './cache.js';
import { fallbackValue } from './csv-provider.js';
import { HttpError, redact } from './http.js';
import { MS_PER_HOUR, periodStartMs } from '../units.js';

/** ApiProviderStatus is what the report and logs say about a fetching provider; never holds a secret. */
export interface ApiProviderStatus {
  state: 'idle' | 'ok' | 'backing-off' | 'stopped';
  lastSuccessMs?: number;
  nextTryMs?: number;
  failures: number;
  /** One line, e.g. 'electricitymaps: HTTP 429 rate limited; retrying at 2024-…Z; using cache, then table'. */
  message: string;
}

/** ApiIntensityProvider is an IntensityProvider that fetches in refresh() and can list what it holds. */
export interface ApiIntensityProvider extends IntensityProvider {
  readonly zone: string;
  refresh(nowMs: number): Promise<void>;
  status(): ApiProviderStatus;
  /** series returns held periods (memory, then cache) overlapping [fromMs, toMs), oldest first. */
  series(fromMs: number, toMs: number): IntensityValue[];
}

/** ApiProviderOptions wires one API's fetch function into caching, backoff and fallback. */
export interface ApiProviderOptions {
  name: string;
  zone: string;
  periodSeconds: number;
  fetch: (nowMs: number) => Promise<IntensityValue[]>;
  fallback: IntensityProvider;
  cache?: IntensityCache;
  /** Every credential in play; status text and reports are redacted with these. */
  secrets?: readonly (string | undefined)[];
  /** How often a successful provider fetches again (ms, default 15 min). */
  refreshIntervalMs?: number;
  /** First backoff after a failure (ms, default 60 s), doubled per failure up to maxBackoffMs (default 1 h). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called once when the provider stops for good (401/403), with a one-line message. */
  onReport?: (line: string) => void;
  /** Wall clock (ms) used to warm the memory from the cache at creation. */
  now?: () => number;
}

/** FetchingProviderOptions are what every API provider (Electricity Maps, UK, WattTime) takes besides its own. */
export type FetchingProviderOptions = Pick<ApiProviderOptions, 'cache' | 'now' | 'fallback' | 'onReport' | 'refreshIntervalMs' | 'baseBackoffMs'> & {
  /** Override of the provider's real base URL (tests: a loopback fake). */
  baseUrl?: string;
};

const HOLD_PAST_MS = 48 * MS_PER_HOUR;

/**
 * createApiProvider builds a provider whose lookup is synchronous — memory, then SQLite cache, then the
 * fallback (flagged in the source) — and whose refresh fetches in the background: never throws, backs off
 * exponentially on 429 (honouring Retry-After), 5xx, network errors and timeouts, and stops after 401/403,
 * reporting once.
 */
export function createApiProvider(opts: ApiProviderOptions): ApiIntensityProvider {
  const secrets = opts.secrets ?? [];
  const memory = new Map<number, IntensityValue>();
  const refreshIntervalMs = opts.refreshIntervalMs ?? 15 * 60_000;
  const baseBackoffMs = opts.baseBackoffMs ?? 60_000;
  const maxBackoffMs = opts.maxBackoffMs ?? MS_PER_HOUR;
  let status: ApiProviderStatus = { state: 'idle', failures: 0, message: `${opts.name}: no data fetched yet` };
  let inFlight: Promise<void> | undefined;

  const remember = (value: IntensityValue): void => {
    const held = memory.get(value.periodStartMs);
    if (held && held.quality === 'actual' && value.quality === 'forecast') return;
    memory.set(value.periodStartMs, value);
  };
  if (opts.cache) {
    const nowMs = (opts.now ?? Date.now)();
    for (const cached of opts.cache.range(opts.name, opts.zone, nowMs - HOLD_PAST_MS, nowMs + HOLD_PAST_MS)) {
      remember(toIntensityValue(cached));
    }
  }

  const fail = (err: unknown, nowMs: number): void => {
    const failures = status.failures + 1;
    const text = redact(err instanceof Error ? err.message : String(err), secrets);
    if (err instanceof HttpError && (err.kind === 'unauthorized' || err.kind === 'forbidden')) {
      const fix = err.kind === 'unauthorized' ? 'check the token' : 'the token has no access to this zone or endpoint';
      const message = `${opts.name}: ${text} (${fix}); stopped fetching, using cache, then ${opts.fallback.name}`;
      if (status.state !== 'stopped') opts.onReport?.(message);
      status = { ...status, state: 'stopped', failures, message, nextTryMs: undefined };
      return;
    }
    const retryAfterMs = err instanceof HttpError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 0;
    const backoffMs = Math.max(retryAfterMs, Math.min(maxBackoffMs, baseBackoffMs * 2 ** (failures - 1)));
    const nextTryMs = nowMs + backoffMs;
    const message = `${opts.name}: ${text}; retrying at ${new Date(nextTryMs).toISOString()}; using cache, then ${opts.fallback.name}`;
    status = { ...status, state: 'backing-off', failures, nextTryMs, message };
  };

  const fetchNow = async (nowMs: number): Promise<void> => {
    try {
      const values = await opts.fetch(nowMs);
      for (const value of values) remember(value);
      for (const key of memory.keys()) if (key < nowMs - HOLD_PAST_MS) memory.delete(key);
      opts.cache?.put(
        values.map((v) => ({
          provider: opts.name, zone: opts.zone, periodStartMs: v.periodStartMs, periodSeconds: v.periodSeconds,
          gramsPerKwh: v.gramsPerKwh, ...(v.cfe === undefined ? {} : { cfe: v.cfe }), source: v.source,
          fetchedAtMs: nowMs, quality: v.quality === 'actual' ? 'actual' : 'forecast',
          ...(v.marginal ? { marginal: true } : {}),
        })),
      );
      const nextTryMs = nowMs + refreshIntervalMs;
      status = { state: 'ok', failures: 0, lastSuccessMs: nowMs, nextTryMs, message: `${opts.name}: ${values.length} periods fetched at ${new Date(nowMs).toISOString()}` };
    } catch (err) {
      fail(err, nowMs);
    }
  };

  return {
    name: opts.name,
    zone: opts.zone,
    lookup(atMs: number): IntensityValue {
      const held = memory.get(periodStartMs(atMs, opts.periodSeconds));
      if (held) return held;
      const cached = opts.cache?.get(opts.name, opts.zone, atMs);
      if (cached) return toIntensityValue(cached);
      const why = status.state === 'ok' || status.state === 'idle' ? `${opts.name} has no value for this period` : status.message.split(';')[0] ?? opts.name;
      return fallbackValue(opts.fallback, atMs, why);
    },
    refresh(nowMs: number): Promise<void> {
      if (inFlight) return inFlight;
      if (status.state === 'stopped' || (status.nextTryMs !== undefined && nowMs < status.nextTryMs)) return Promise.resolve();
      inFlight = fetchNow(nowMs).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    status: () => ({ ...status }),
    series(fromMs: number, toMs: number): IntensityValue[] {
      const byStart = new Map<number, IntensityValue>();
      for (const cached of opts.cache?.range(opts.name, opts.zone, fromMs - opts.periodSeconds * 1000 + 1, toMs) ?? []) {
        byStart.set(cached.periodStartMs, toIntensityValue(cached));
      }
      for (const value of memory.values()) {
        if (value.periodStartMs + value.periodSeconds * 1000 > fromMs && value.periodStartMs < toMs) byStart.set(value.periodStartMs, value);
      }
      return [...byStart.values()].sort((a, b) => a.periodStartMs - b.periodStartMs);
    },
  };
}
