import type { RunRow } from '../../src/store/rows.js';
import type { Store } from '../../src/store/store.js';

/**
 * storeSharedRun stores a closed `run` of `seconds` on a shared 300 W GPU whose job was charged half of it, as the
 * tracker stores one: the raw samples hold the device's whole power (300 W), the minutes and totals the job's share
 * (150 W), the device row both (energy 150 J/s, node energy 300 J/s).
 */
export function storeSharedRun(store: Store, runId: string, startMs: number, seconds: number): RunRow {
  const run = store.createRun({ runId, hostname: 'h', startedAtMs: startMs, pue: 1, pueSource: 'test', intensitySource: 'constant', market: {}, labels: {} });
  const dev = store.upsertDevice(run.runKey, { id: 'gpu0', kind: 'gpu', name: 'GPU', method: 'counter', collector: 'nvml' });
  for (let t = 1; t <= seconds; t++) {
    const wallMs = startMs + t * 1000;
    store.commitTick({
      runKey: run.runKey, wallMs, periods: [], co2eLocationGrams: 0, co2eMarketGrams: 0,
      minutes: [{ devKey: dev.devKey, minute: Math.floor((wallMs - 1) / 60_000), energyJoules: 150 }],
      samples: [{ devKey: dev.devKey, tMs: wallMs, powerWatts: 300, counterJoules: 300 * t }],
      devices: [{ devKey: dev.devKey, energyJoules: 150 * t, nodeEnergyJoules: 300 * t, samples: t }],
    });
  }
  store.endRun(run.runKey, startMs + seconds * 1000);
  return store.findRun(runId)!;
}

/** ChartedReport is what chartJoules reads of a report (JSON or typed). */
export interface ChartedReport {
  startedAt: string;
  endedAt?: string;
  powerSeries: { at: string; watts: number }[];
}

/** chartJoules is the energy under a report's power chart: each point's mean power over its part of the run. */
export function chartJoules(r: ChartedReport): number {
  const startMs = Date.parse(r.startedAt);
  const endMs = Date.parse(r.endedAt!);
  return r.powerSeries.reduce((sum, p, i) => {
    const at = Date.parse(p.at);
    const next = i + 1 < r.powerSeries.length ? Date.parse(r.powerSeries[i + 1]!.at) : endMs;
    return sum + p.watts * Math.max(0, Math.min(endMs, next) - Math.max(startMs, at)) / 1000;
  }, 0);
}
