import type { Collector } from '../collectors/types.js';
import type { CollectorStatus } from '../src/snapshot.js';
import type { ReadResult } from '../src/types.js';

/** MAX_READ_TIMEOUT_MS caps any read's wait, whatever the interval: a hung read is abandoned after 2 s. */
export const MAX_READ_TIMEOUT_MS = 2000;

/**
 * CollectorDown is what a collector that cannot work this session (its probe failed) throws from read(): the
 * runner shows it down with the reason, without counting an error every tick.
 */
export class CollectorDown extends Error {
  override readonly name = 'CollectorDown';
}

/**
 * CollectorRunner calls one collector with a timeout and keeps its health: a failing or slow collector
 * never stops the others, and its errors are counted by reason (wattprint_collector_errors_total). The
 * first read that times out is said once on stderr.
 */
export class CollectorRunner {
  readonly status: CollectorStatus;
  private readonly timeoutMs: number;
  private timeoutReported = false;

  constructor(readonly collector: Collector, timeoutMs: number, private readonly report: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
    this.timeoutMs = Math.min(timeoutMs, MAX_READ_TIMEOUT_MS);
    this.status = { name: collector.name, up: true, lastDurationSeconds: 0, errorsTotal: {} };
  }

  /**
   * read returns the collector's readings, or an empty result when it failed or timed out. A synchronous
   * collector (RAPL, NVML on a fast driver) is answered synchronously: no promise to settle every tick.
   */
  read(final = false): ReadResult | Promise<ReadResult> {
    const started = performance.now();
    let value: ReadResult | Promise<ReadResult>;
    try {
      value = this.collector.read(final ? { final } : undefined);
    } catch (err) {
      return this.failed(err, started);
    }
    if (!(value instanceof Promise)) return this.succeeded(value, started);
    return withTimeout(value, this.timeoutMs).then((r) => this.succeeded(r, started), (err: unknown) => this.failed(err, started));
  }

  private succeeded(result: ReadResult, started: number): ReadResult {
    for (const d of result.dropped ?? []) this.count(d.reason, d.message);
    for (const r of result.recovered ?? []) this.count(r.reason, r.message);
    this.status.up = true;
    this.status.lastDurationSeconds = (performance.now() - started) / 1000;
    return result;
  }

  private failed(err: unknown, started: number): ReadResult {
    this.status.up = false;
    this.status.lastDurationSeconds = (performance.now() - started) / 1000;
    if (err instanceof CollectorDown) {
      this.status.lastError = err.message;
      return { readings: [] };
    }
    const timedOut = err instanceof TimeoutError;
    this.count(timedOut ? 'timeout' : 'error', timedOut ? `no answer within ${this.timeoutMs} ms` : (err as Error).message);
    if (timedOut && !this.timeoutReported) {
      this.timeoutReported = true;
      this.report(`wattprint: ${this.collector.name}: a read gave no answer within ${this.timeoutMs} ms and was abandoned; ` +
        'its readings are missing until it answers (counted in wattprint_collector_errors_total{reason="timeout"})');
    }
    return { readings: [] };
  }

  /** count adds one error of a reason to the collector's health, with the message shown as its last error. */
  count(reason: string, message?: string): void {
    this.status.errorsTotal[reason] = (this.status.errorsTotal[reason] ?? 0) + 1;
    if (message) this.status.lastError = message;
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(value: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    value.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), timeoutMs);
    }),
  ]);
}
