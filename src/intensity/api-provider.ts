import type { IntensityProvider, IntensityValue } from './types.js';
import type { IntensityCache } from './cache.js';
import { toIntensityValue } from './cache.js';
import { fallbackValue } from './csv-provider.js';
import { HttpError, redact } from './http.js';
import { historyPages } from './history.js';
import type { ProxySettings } from './proxy-settings.js';
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
  prepare(fromMs: number, toMs: number, opts?: { refetch?: boolean }): Promise<void>;
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
  /** Fetches an explicit past (or future) span [fromMs, toMs) from the API's history endpoint; one page. */
  fetchRange?: (fromMs: number, toMs: number) => Promise<IntensityValue[]>;
  /** The longest span one fetchRange call may ask for (ms): longer spans are paged. */
  maxRangeMs?: number;
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
  /** Uniform random numbers in [0, 1) for the jitter of retries and refreshes (tests: a constant). */
  random?: () => number;
}

/** FetchingProviderOptions are what every API provider (Electricity Maps, UK, WattTime) takes besides its own. */
export type FetchingProviderOptions = Pick<ApiProviderOptions, 'cache' | 'now' | 'fallback' | 'onReport' | 'refreshIntervalMs' | 'baseBackoffMs' | 'random'> & {
  /** Override of the provider's real base URL (tests: a loopback fake). */
  baseUrl?: string;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the agent read them. */
  proxy?: ProxySettings;
};

/** commonOptions passes a provider's shared options on to createApiProvider, leaving out the ones not given. */
export function commonOptions(opts: FetchingProviderOptions): Pick<ApiProviderOptions, 'cache' | 'now' | 'onReport' | 'refreshIntervalMs' | 'baseBackoffMs' | 'random'> {
  return {
    ...(opts.cache ? { cache: opts.cache } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.onReport ? { onReport: opts.onReport } : {}),
    ...(opts.refreshIntervalMs ? { refreshIntervalMs: opts.refreshIntervalMs } : {}),
    ...(opts.baseBackoffMs ? { baseBackoffMs: opts.baseBackoffMs } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  };
}

/**
 * JITTER is how much later than its base delay a retry or refresh may come, as a fraction of that delay: the
 * nodes of one job start together, fail together on a rate limit, and must not retry in step (each waits
 * base × (1 + JITTER × random)). Never earlier than the base, so a Retry-After is always honoured.
 */
export const JITTER = 0.5;

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
  const random = opts.random ?? Math.random;
  const jittered = (delayMs: number, fraction: number): number => Math.round(delayMs * (1 + fraction * random()));
  let status: ApiProviderStatus = { state: 'idle', failures: 0, message: `${opts.name}: no data fetched yet` };
  let inFlight: Promise<void> | undefined;
  // Periods fetched for an explicit span (prepare): kept for the provider's life, never pruned like `memory`.
  const prepared = new Map<number, IntensityValue>();
  const clock = opts.now ?? Date.now;

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
    const backoffMs = jittered(Math.max(retryAfterMs, Math.min(maxBackoffMs, baseBackoffMs * 2 ** (failures - 1))), JITTER);
    const nextTryMs = nowMs + backoffMs;
    const message = `${opts.name}: ${text}; retrying at ${new Date(nextTryMs).toISOString()}; using cache, then ${opts.fallback.name}`;
    status = { ...status, state: 'backing-off', failures, nextTryMs, message };
  };

  const cachePut = (values: readonly IntensityValue[], fetchedAtMs: number): void => {
    opts.cache?.put(
      values.map((v) => ({
        provider: opts.name, zone: opts.zone, periodStartMs: v.periodStartMs, periodSeconds: v.periodSeconds,
        gramsPerKwh: v.gramsPerKwh, ...(v.cfe === undefined ? {} : { cfe: v.cfe }), source: v.source,
        fetchedAtMs, quality: v.quality === 'actual' ? 'actual' : 'forecast',
        ...(v.marginal ? { marginal: true } : {}),
      })),
    );
  };

  const fetchNow = async (nowMs: number): Promise<void> => {
    try {
      const values = await opts.fetch(nowMs);
      for (const value of values) remember(value);
      for (const key of memory.keys()) if (key < nowMs - HOLD_PAST_MS) memory.delete(key);
      cachePut(values, nowMs);
      // Refreshes spread out too (by a tenth), or one job's nodes would keep asking the API at the same second.
      const nextTryMs = nowMs + jittered(refreshIntervalMs, 0.1);
      status = { state: 'ok', failures: 0, lastSuccessMs: nowMs, nextTryMs, message: `${opts.name}: ${values.length} periods fetched at ${new Date(nowMs).toISOString()}` };
    } catch (err) {
      fail(err, nowMs);
    }
  };

  const prepare = async (fromMs: number, toMs: number, how: { refetch?: boolean } = {}): Promise<void> => {
    if (!opts.fetchRange || !(toMs > fromMs)) return;
    const periodMs = opts.periodSeconds * 1000;
    const nowMs = clock();
    // What the cache already holds for the span counts as fetched, unless it may still change.
    const cached = new Map<number, { value: IntensityValue; fetchedAtMs: number }>();
    for (const c of opts.cache?.range(opts.name, opts.zone, periodStartMs(fromMs, opts.periodSeconds), toMs) ?? []) {
      cached.set(c.periodStartMs, { value: toIntensityValue(c), fetchedAtMs: c.fetchedAtMs });
      prepared.set(c.periodStartMs, toIntensityValue(c));
    }
    // Settled: an actual, a future period already forecast, or a forecast fetched after its period ended
    // (regional UK figures are never anything but forecasts).
    const settled = (startMs: number): boolean => {
      if (how.refetch) return false;
      const held = memory.get(startMs) ?? prepared.get(startMs);
      if (held?.quality === 'actual' || (held && startMs >= nowMs)) return true;
      const c = cached.get(startMs);
      return c !== undefined && c.fetchedAtMs >= startMs + periodMs;
    };
    const pages = historyPages(fromMs, toMs, opts.periodSeconds, opts.maxRangeMs ?? Infinity, settled);
    for (const page of pages) {
      if (status.state === 'stopped') return;
      try {
        const values = await opts.fetchRange(page.fromMs, page.toMs);
        for (const value of values) {
          const held = prepared.get(value.periodStartMs);
          if (!(held?.quality === 'actual' && value.quality === 'forecast')) prepared.set(value.periodStartMs, value);
          // A revised figure replaces the one warmed from the cache at creation, which lookup asks first.
          if (memory.has(value.periodStartMs)) remember(value);
        }
        cachePut(values, clock());
        status = { ...status, state: 'ok', failures: 0, lastSuccessMs: nowMs, message: `${opts.name}: ${values.length} periods of ${iso(page.fromMs)}..${iso(page.toMs)} fetched` };
      } catch (err) {
        fail(err, nowMs);
        // A refusal or an outage will not answer the next page either: the rest falls back, flagged.
        return;
      }
    }
  };

  return {
    name: opts.name,
    zone: opts.zone,
    lookup(atMs: number): IntensityValue {
      const startMs = periodStartMs(atMs, opts.periodSeconds);
      const held = memory.get(startMs) ?? prepared.get(startMs);
      if (held) return held;
      const cached = opts.cache?.get(opts.name, opts.zone, atMs);
      if (cached) return toIntensityValue(cached);
      const why = status.state === 'ok' || status.state === 'idle' ? `${opts.name} has no value for this period` : status.message.split(';')[0] ?? opts.name;
      return onGrid(fallbackValue(opts.fallback, atMs, why), startMs, opts.periodSeconds);
    },
    prepare,
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
      for (const value of [...prepared.values(), ...memory.values()]) {
        if (value.periodStartMs + value.periodSeconds * 1000 > fromMs && value.periodStartMs < toMs) byStart.set(value.periodStartMs, value);
      }
      return [...byStart.values()].sort((a, b) => a.periodStartMs - b.periodStartMs);
    },
  };
}

/**
 * onGrid puts a fallback value (an annual figure, constant over its hour) on the provider's own period grid,
 * so a half hour the UK API lacks is one half-hour row of its own, not merged into a neighbour's hour.
 */
function onGrid(value: IntensityValue, startMs: number, periodSeconds: number): IntensityValue {
  const divides = value.periodSeconds >= periodSeconds && value.periodSeconds % periodSeconds === 0;
  return divides ? { ...value, periodStartMs: startMs, periodSeconds } : value;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
