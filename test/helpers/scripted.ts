import type { Collector } from '../../collectors/types.js';
import type { IntensityProvider, IntensityValue } from '../../src/intensity/types.js';
import type { DeviceInfo, ReadResult } from '../../src/types.js';
export { manualClock } from '../../agent/clock.js';

/** scriptedCollector returns the queued results in order (pipeline tests; hardware collectors have their own). */
export function scriptedCollector(devices: DeviceInfo[], queue: ReadResult[]): Collector & { queue: ReadResult[] } {
  return {
    name: 'sim', devices, queue,
    read() {
      const next = queue.shift();
      if (!next) throw new Error('script exhausted');
      return next;
    },
    close() {},
  };
}

/** hourlyProvider answers a fixed intensity per UTC hour (hour start ms → g/kWh). */
export function hourlyProvider(byHour: Record<number, number>, cfe?: number): IntensityProvider {
  return {
    name: 'test-hourly',
    lookup(atMs: number): IntensityValue {
      const periodStartMs = Math.floor(atMs / 3_600_000) * 3_600_000;
      const g = byHour[periodStartMs];
      if (g === undefined) throw new Error(`no test intensity for ${new Date(periodStartMs).toISOString()}`);
      return { gramsPerKwh: g, source: 'test', periodStartMs, periodSeconds: 3600, quality: 'actual', ...(cfe !== undefined ? { cfe } : {}) };
    },
  };
}
