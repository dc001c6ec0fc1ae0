import type { Snapshot } from '../snapshot.js';

/** PROTOCOL_VERSION is the `v` field of every /ws message; see PROTOCOL.md. Bump it on a breaking change. */
export const PROTOCOL_VERSION = 1;

/**
 * PROTOCOL_REVISION counts additions within v1 (fields a v1 client may ignore), sent as `rev` in the snapshot
 * message. 2: `history` carries energy, CO2e and grid intensity per tick besides power (PROTOCOL.md, "Revisions").
 * 3: ticks carry the job's `work` counters and `phases` (open ones and the latest closed ones) when it reports them.
 * 4: the snapshot's and the tick's devices carry `deviceEnergyJoules`, the whole device's energy, when the run is charged a share.
 */
export const PROTOCOL_REVISION = 4;

/** TickDevice is one device's line in a tick message (power in watts, run energy in joules). */
export interface TickDevice {
  id: string;
  powerWatts: number;
  energyJoules: number;
  /** Rev 4: the whole device's energy, when the run is charged a share of it (energyJoules is the share). */
  deviceEnergyJoules?: number;
}

/** TickMessage is sent once per agent tick. All units SI: watts, joules, grams, seconds. */
export interface TickMessage {
  type: 'tick';
  v: 1;
  runId: string;
  at: string;
  tick: number;
  elapsedSeconds: number;
  status: Snapshot['status'];
  totalPowerWatts: number;
  devices: TickDevice[];
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  co2eGrams: { location: number; market: number };
  intensityGramsPerKwh: number;
  pue: number;
  projected?: Snapshot['projected'];
  /** The job's cumulative work counters (rev 3). */
  work?: Snapshot['work'];
  /** The job's phases: open ones and the latest closed ones (rev 3). */
  phases?: Snapshot['phases'];
}

/**
 * PowerHistory is the recent ticks, column-wise as a chart wants them: `t` holds Unix seconds, and
 * `powerWatts[i][j]` is device `deviceIds[i]` at `t[j]` in watts (null where the device had no reading).
 * Since revision 2 the run's totals at `t[j]` too: energy in joules, location-based CO2e in grams, and the
 * grid intensity in force in gCO2e/kWh.
 */
export interface PowerHistory {
  deviceIds: string[];
  t: number[];
  powerWatts: (number | null)[][];
  /** Revision 2: IT energy of the run at t[j], joules. */
  itEnergyJoules: number[];
  /** Revision 2: facility energy (IT × PUE) of the run at t[j], joules. */
  facilityEnergyJoules: number[];
  /** Revision 2: location-based CO2e of the run at t[j], grams. */
  co2eGrams: number[];
  /** Revision 2: grid intensity in force at t[j], gCO2e/kWh. */
  intensityGramsPerKwh: number[];
}

/** SnapshotMessage is the full state, sent once on connect, with recent power history for the chart. */
export interface SnapshotMessage {
  type: 'snapshot';
  v: 1;
  /** Additions within v1 this agent sends (PROTOCOL_REVISION). */
  rev: number;
  snapshot: Snapshot;
  history: PowerHistory;
}

/** RunEventMessage marks the start or end of a run. */
export interface RunEventMessage {
  type: 'run_start' | 'run_end';
  v: 1;
  runId: string;
  at: string;
}

/** FeedMessage is any message on /ws. */
export type FeedMessage = SnapshotMessage | TickMessage | RunEventMessage;

/** tickMessage derives the per-tick message from a snapshot. */
export function tickMessage(s: Snapshot): TickMessage {
  const msg: TickMessage = {
    type: 'tick', v: PROTOCOL_VERSION, runId: s.runId, at: s.at, tick: s.tick,
    elapsedSeconds: s.elapsedSeconds, status: s.status, totalPowerWatts: s.totalPowerWatts,
    devices: s.devices.map((d): TickDevice => (d.deviceEnergyJoules === undefined
      ? { id: d.id, powerWatts: d.powerWatts, energyJoules: d.energyJoules }
      : { id: d.id, powerWatts: d.powerWatts, energyJoules: d.energyJoules, deviceEnergyJoules: d.deviceEnergyJoules })),
    itEnergyJoules: s.itEnergyJoules, facilityEnergyJoules: s.facilityEnergyJoules,
    co2eGrams: { location: s.co2eGrams.location, market: s.co2eGrams.market },
    intensityGramsPerKwh: s.intensityGramsPerKwh, pue: s.pue,
  };
  if (s.projected) msg.projected = { ...s.projected };
  if (s.work) msg.work = { ...s.work };
  if (s.phases) msg.phases = s.phases;
  return msg;
}

/** snapshotMessage is the on-connect message. */
export function snapshotMessage(s: Snapshot, history: PowerHistory): SnapshotMessage {
  return { type: 'snapshot', v: PROTOCOL_VERSION, rev: PROTOCOL_REVISION, snapshot: s, history };
}

/** runEventMessage is a run_start / run_end message. */
export function runEventMessage(ev: { type: 'run_start' | 'run_end'; runId: string; at: string }): RunEventMessage {
  return { type: ev.type, v: PROTOCOL_VERSION, runId: ev.runId, at: ev.at };
}
