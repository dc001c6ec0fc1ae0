import { hostname } from 'node:os';
import type { DeviceAccount, LedgerTotals } from '../src/ledger/ledger.js';
import type { PhaseRecord, Work } from '../src/ledger/phases.js';
import { progressAt, projectAtCompletion, type Progress } from '../src/ledger/progress.js';
import type { CollectorStatus, DeviceSnapshot, Snapshot } from '../src/snapshot.js';
import type { DeviceRow, RunRow } from '../src/store/rows.js';
import type { IntensityProvider } from '../src/intensity/types.js';

/** LiveDevice is a tracked device: its stored row and its running account in the ledger. */
export interface LiveDevice {
  row: DeviceRow;
  account: DeviceAccount;
}

/** SnapshotInputs are the tracker's state at one tick. */
export interface SnapshotInputs {
  run: RunRow;
  options: {
    labels: Record<string, string>;
    intervalSeconds: number;
    pue: { value: number; source: string };
    zone?: string;
    intensity: IntensityProvider;
    expectedDurationSeconds?: number;
  };
  devices: LiveDevice[];
  wallMs: number;
  tick: number;
  /** The ledger's totals: facility energy accounted period by period at the PUE in force then. */
  totals: LedgerTotals;
  collectors: CollectorStatus[];
  tickLagSeconds: number;
  status: 'running' | 'ended';
  progress?: Progress;
  work?: Work;
  phases?: PhaseRecord[];
}

/** deviceSnapshot is one device's live line; built whole, no spread: it runs for every device every tick. */
function deviceSnapshot(d: LiveDevice): DeviceSnapshot {
  const { row, account } = d;
  const snap: DeviceSnapshot = row.uuid
    ? { id: row.id, kind: row.kind, name: row.name, uuid: row.uuid, method: row.method, collector: row.collector, powerWatts: account.powerWatts, energyJoules: account.energyJoules }
    : { id: row.id, kind: row.kind, name: row.name, method: row.method, collector: row.collector, powerWatts: account.powerWatts, energyJoules: account.energyJoules };
  // Charged a share: the whole device's energy goes beside it (the node's total only grows faster than the share).
  if (account.nodeEnergyJoules !== account.energyJoules) snap.deviceEnergyJoules = account.nodeEnergyJoules;
  return snap;
}

/** LIVE_CLOSED_PHASES is how many closed phases the snapshot carries besides the open ones. */
const LIVE_CLOSED_PHASES = 20;

/** buildSnapshot assembles the one immutable state that every live output reads. */
export function buildSnapshot(s: SnapshotInputs): Snapshot {
  const itEnergyJoules = s.devices.reduce((sum, d) => sum + d.account.energyJoules, 0);
  const totalPowerWatts = s.devices.reduce((sum, d) => sum + d.account.powerWatts, 0);
  const intensity = s.options.intensity.lookup(s.wallMs);
  const elapsedSeconds = Math.max(0, (s.wallMs - s.run.startedAtMs) / 1000);
  const collectors = s.collectors.map((c) => ({ ...c, errorsTotal: { ...c.errorsTotal } }));
  const facility = s.totals.facilityJoules;
  const snapshot: Snapshot = {
    runId: s.run.runId,
    hostname: s.run.hostname || hostname(),
    labels: s.options.labels,
    startedAt: new Date(s.run.startedAtMs).toISOString(),
    at: new Date(s.wallMs).toISOString(),
    elapsedSeconds,
    tick: s.tick,
    intervalSeconds: s.options.intervalSeconds,
    status: s.status,
    devices: s.devices.map(deviceSnapshot),
    itEnergyJoules,
    facilityEnergyJoules: facility,
    totalPowerWatts,
    pue: s.options.pue.value,
    pueSource: s.options.pue.source,
    ...(s.options.zone ? { zone: s.options.zone } : {}),
    intensityGramsPerKwh: intensity.gramsPerKwh,
    intensitySource: intensity.source,
    co2eGrams: { location: s.totals.co2eLocationGrams, market: s.totals.co2eMarketGrams },
    collectors,
    tickLagSeconds: s.tickLagSeconds,
    // A reopened counter file lost no reading: it is a fault recovered from, not a dropped reading.
    droppedTotal: collectors.reduce((sum, c) => sum + Object.entries(c.errorsTotal).reduce((a, [reason, n]) => a + (reason === 'reopened' ? 0 : n), 0), 0),
  };
  const projected = projectAtCompletion({ ...s.totals, itJoules: itEnergyJoules },
    progressAt(s.progress, elapsedSeconds, s.options.expectedDurationSeconds));
  if (projected) {
    snapshot.projected = {
      fraction: projected.fraction, energyJoules: projected.itJoules, co2eGrams: projected.co2eLocationGrams, source: projected.source,
    };
  }
  if (s.work && Object.keys(s.work).length) snapshot.work = { ...s.work };
  if (s.phases?.length) {
    const open = s.phases.filter((p) => p.endMs === undefined);
    const closed = s.phases.filter((p) => p.endMs !== undefined).slice(-LIVE_CLOSED_PHASES);
    snapshot.phases = [...closed, ...open].map((p) => ({
      id: p.id, name: p.name, startedAt: new Date(p.startMs).toISOString(), ...(p.endMs !== undefined ? { endedAt: new Date(p.endMs).toISOString() } : {}),
      itEnergyJoules: p.itJoules, co2eGrams: p.co2eLocationGrams,
    }));
    const byName = new Map<string, { name: string; windows: number; itEnergyJoules: number; co2eGrams: number }>();
    for (const p of s.phases) {
      const t = byName.get(p.name) ?? { name: p.name, windows: 0, itEnergyJoules: 0, co2eGrams: 0 };
      t.windows++;
      t.itEnergyJoules += p.itJoules;
      t.co2eGrams += p.co2eLocationGrams;
      byName.set(p.name, t);
    }
    snapshot.phaseTotals = [...byName.values()];
  }
  return snapshot;
}
