import type { Ledger } from '../src/ledger/ledger.js';
import type { RunRow } from '../src/store/rows.js';
import type { Store } from '../src/store/store.js';
import type { DeviceInfo } from '../src/types.js';
import { RunBusyError } from './errors.js';
import type { LiveDevice } from './snapshot-builder.js';
import { processAlive } from './process-alive.js';

/** ResumeResult is what reopening a stored run restores into a new session. */
export interface ResumeResult {
  devices: Map<string, LiveDevice>;
  /** Devices of the run that no collector offers now: kept with their totals, never read. */
  absent: Set<string>;
}

/**
 * resumeDevices registers this session's devices on a run and in the ledger, restoring what the stored run
 * knew. Energy across the downtime is recovered from counters only when the previous session died (the run is
 * still 'running'): after a clean stop the device may have worked for someone else, so the time in between is a gap.
 */
export function resumeDevices(store: Store, run: RunRow, previous: RunRow | undefined, infos: DeviceInfo[], ledger: Ledger, nowMs: number): ResumeResult {
  const devices = new Map<string, LiveDevice>();
  const absent = new Set<string>();
  const crashed = previous?.status === 'running';
  for (const info of infos) {
    const row = store.upsertDevice(run.runKey, info);
    const stored = previous !== undefined && row.stateWallMs !== undefined;
    const state = stored && crashed
      ? { counterJoules: row.counterJoules, counterEpoch: row.counterEpoch, powerWatts: row.powerWatts, wallMs: row.stateWallMs! }
      : undefined;
    devices.set(info.id, { row, account: ledger.addDevice({ ...row, energyJoules: row.energyJoules, nodeEnergyJoules: row.nodeEnergyJoules, samples: row.samples }, state) });
    if (stored && !crashed) {
      ledger.addGap(info.id, previous.endedAtMs ?? row.stateWallMs!, nowMs, 'run closed between sessions: energy in between not counted');
    }
  }
  if (previous) {
    for (const row of store.devicesOf(run.runKey)) {
      if (devices.has(row.id)) continue;
      devices.set(row.id, { row, account: ledger.addDevice(row) });
      absent.add(row.id);
    }
  }
  return { devices, absent };
}

/**
 * assertNotTrackedElsewhere refuses to resume a run that a live process on this host is tracking: two
 * trackers writing one run would count its energy twice (several ranks sharing one SLURM job id, say).
 */
export function assertNotTrackedElsewhere(run: RunRow, host: string): void {
  if (run.status !== 'running' || run.ownerHost !== host || !run.ownerPid || run.ownerPid === process.pid) return;
  if (!processAlive(run.ownerPid)) return;
  throw new RunBusyError(`run '${run.runId}' is being tracked by process ${run.ownerPid} on this host: pass another --run-id ` +
    '(one tracker per node: wrap the launcher, not each rank), or stop that process first', run.ownerPid);
}
