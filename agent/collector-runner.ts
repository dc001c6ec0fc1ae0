import type { Collector } from '../collectors/types.js';
import type { CollectorStatus } from '../src/snapshot.js';
import type { ReadResult } from '../src/types.js';

/**
 * CollectorRunner calls one collector with a timeout and keeps its health: a failing or slow collector
 * never stops the others, and its errors are counted by reason (wattprint_collector_errors_total).
 */
export class CollectorRunner {
  readonly status: CollectorStatus;

  constructor(readonly collector: Collector, private readonly timeoutMs: number) {
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
    this.status.up = true;
    this.status.lastDurationSeconds = (performance.now() - started) / 1000;
    return result;
  }

  private failed(err: unknown, started: number): ReadResult {
    const timedOut = err instanceof TimeoutError;
    this.count(timedOut ? 'timeout' : 'error', timedOut ? `no answer within ${this.timeoutMs} ms` : (err as Error).message);
    this.status.up = false;
    this.status.lastDurationSeconds = (performance.now() - started) / 1000;
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
