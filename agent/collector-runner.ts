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

  /** read returns the collector's readings, or an empty result when it failed or timed out. */
  async read(final = false): Promise<ReadResult> {
    const started = performance.now();
    try {
      const result = await withTimeout(this.collector.read(final ? { final } : undefined), this.timeoutMs);
      for (const d of result.dropped ?? []) this.count(d.reason, d.message);
      for (const r of result.recovered ?? []) this.count(r.reason, r.message);
      this.status.up = true;
      return result;
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      this.count(timedOut ? 'timeout' : 'error', timedOut ? `no answer within ${this.timeoutMs} ms` : (err as Error).message);
      this.status.up = false;
      return { readings: [] };
    } finally {
      this.status.lastDurationSeconds = (performance.now() - started) / 1000;
    }
  }

  private count(reason: string, message?: string): void {
    this.status.errorsTotal[reason] = (this.status.errorsTotal[reason] ?? 0) + 1;
    if (message) this.status.lastError = message;
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(value: T | Promise<T>, timeoutMs: number): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  let timer: NodeJS.Timeout;
  return Promise.race([
    value.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), timeoutMs);
    }),
  ]);
}
