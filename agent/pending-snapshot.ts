import type { CollectorStatus, Snapshot } from '../src/snapshot.js';
import type { CarbonSetup } from './carbon-setup.js';

/**
 * pendingSnapshot is what the live server shows while `run` probes the collectors beside the job: the run,
 * its factors, no devices yet, and the requested collectors down with 'probing'.
 */
export function pendingSnapshot(s: {
  runId: string; hostname: string; labels: Record<string, string>; intervalSeconds: number; startedAtMs: number;
  carbon: CarbonSetup; collectors: CollectorStatus[];
}): Snapshot {
  const at = new Date(s.startedAtMs).toISOString();
  return {
    runId: s.runId, hostname: s.hostname, labels: s.labels, startedAt: at, at, elapsedSeconds: 0, tick: 0,
    intervalSeconds: s.intervalSeconds, status: 'running', devices: [], itEnergyJoules: 0, facilityEnergyJoules: 0,
    totalPowerWatts: 0, pue: s.carbon.pue.value, pueSource: s.carbon.pue.source, ...(s.carbon.zone ? { zone: s.carbon.zone } : {}),
    ...intensityAt(s.carbon, s.startedAtMs),
    co2eGrams: { location: 0, market: 0 }, collectors: s.collectors, tickLagSeconds: 0, droppedTotal: 0,
  };
}

function intensityAt(carbon: CarbonSetup, atMs: number): { intensityGramsPerKwh: number; intensitySource: string } {
  const value = carbon.intensity.lookup(atMs);
  return { intensityGramsPerKwh: value.gramsPerKwh, intensitySource: value.source };
}
