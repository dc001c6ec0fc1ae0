import type Database from 'better-sqlite3';
import type { IntensityQuality } from '../intensity/types.js';
import type { PeriodWrite } from './rows.js';
import type { MinuteEnergy } from '../ledger/accounting.js';
import { decodeSamples, decodeTickState, mergePeriod, type TickState } from './tick-state.js';

/** periodsOf returns a run's accounting periods in time order, the period still open in its tick state included. */
export function periodsOf(db: Database.Database, runKey: number): PeriodWrite[] {
  const rows = db.prepare('SELECT * FROM energy_period WHERE run_key = ? ORDER BY period_start_ms').all(runKey) as Record<string, unknown>[];
  return mergePeriod(rows.map(toPeriod), storedTickState(db, runKey)?.period);
}

function toPeriod(r: Record<string, unknown>): PeriodWrite {
  return {
    periodStartMs: r.period_start_ms as number,
    periodSeconds: r.period_seconds as number,
    itJoules: r.it_joules as number,
    facilityJoules: r.facility_joules as number,
    intensityGramsPerKwh: r.intensity_g_per_kwh as number,
    cfe: (r.cfe as number | null) ?? undefined,
    co2eLocationGrams: r.co2e_location_g as number,
    co2eMarketGrams: r.co2e_market_g as number,
    source: r.source as string,
    quality: r.quality as IntensityQuality,
  };
}

/** storedTickState is a run's last committed tick state (open minutes and period), decoded; undefined when it has none. */
export function storedTickState(db: Database.Database, runKey: number): TickState | undefined {
  const row = db.prepare('SELECT state_blob FROM runs WHERE run_key = ?').get(runKey) as { state_blob: unknown } | undefined;
  return decodeTickState(row?.state_blob);
}

/** GapRow is a stored gap or recovery. */
export interface GapRow {
  deviceId: string;
  startMs: number;
  endMs: number;
  reason: string;
  recoveredJoules?: number;
}

/** gapsOf returns a run's gaps and recoveries. */
export function gapsOf(db: Database.Database, runKey: number): GapRow[] {
  const rows = db.prepare(`SELECT d.device_id, g.start_ms, g.end_ms, g.reason, g.recovered_joules FROM gaps g
    JOIN devices d ON d.dev_key = g.dev_key WHERE d.run_key = ? ORDER BY g.start_ms, d.device_id`).all(runKey) as Record<string, unknown>[];
  return rows.map((r) => ({
    deviceId: r.device_id as string, startMs: r.start_ms as number, endMs: r.end_ms as number,
    reason: r.reason as string, recoveredJoules: (r.recovered_joules as number | null) ?? undefined,
  }));
}

/**
 * openMinutes is the energy of each device's current minute, held in the run's last tick state until the
 * device moves on to a later minute (tick-state.ts): [minute, joules] pairs, to add to energy_minute's rows.
 */
function openMinutes(db: Database.Database, runKey: number): [number, number][] {
  const out: [number, number][] = [];
  for (const state of storedTickState(db, runKey)?.devices.values() ?? []) if (state.open) out.push([state.open.minute, state.open.joules]);
  return out;
}

/** addRows adds [key, joules] pairs into rows sorted by key, keeping them sorted. */
function addRows(rows: [number, number][], extra: [number, number][]): [number, number][] {
  if (extra.length === 0) return rows;
  const byKey = new Map(rows);
  for (const [key, joules] of extra) byKey.set(key, (byKey.get(key) ?? 0) + joules);
  return [...byKey].sort((a, b) => a[0] - b[0]);
}

/** minutesOf returns a run's IT energy per minute (all devices), for restatement. */
export function minutesOf(db: Database.Database, runKey: number): MinuteEnergy[] {
  const rows = db.prepare(`SELECT m.minute, SUM(m.joules) AS j FROM energy_minute m JOIN devices d ON d.dev_key = m.dev_key
    WHERE d.run_key = ? GROUP BY m.minute ORDER BY m.minute`).raw().all(runKey) as [number, number][];
  return addRows(rows, openMinutes(db, runKey)).map(([minute, j]) => ({ minuteStartMs: minute * 60_000, itJoules: j }));
}

/** powerSeries returns total IT power averaged over buckets of bucketMinutes, oldest first. */
export function powerSeries(db: Database.Database, runKey: number, bucketMinutes: number): { startMs: number; watts: number }[] {
  const k = Math.max(1, Math.floor(bucketMinutes));
  // The bucket size is bound as a JS number, i.e. a REAL: cast it, or `/` divides exactly and every minute is a bucket.
  const rows = db.prepare(`SELECT m.minute / CAST(? AS INTEGER) AS b, SUM(m.joules) AS j FROM energy_minute m JOIN devices d ON d.dev_key = m.dev_key
    WHERE d.run_key = ? GROUP BY b ORDER BY b`).raw().all(k, runKey) as [number, number][];
  const open = openMinutes(db, runKey).map(([minute, joules]): [number, number] => [Math.floor(minute / k), joules]);
  return addRows(rows, open).map(([b, j]) => ({ startMs: b * k * 60_000, watts: j / (k * 60) }));
}

/** samplePowerSeries returns total IT power per tick from the raw samples still kept (short runs). */
export function samplePowerSeries(db: Database.Database, runKey: number): { startMs: number; watts: number }[] {
  const rows = db.prepare('SELECT t_ms, data FROM samples WHERE run_key = ? ORDER BY t_ms').raw().all(runKey) as [number, unknown][];
  return rows.map(([t, data]) => {
    const devices = decodeSamples(data);
    return { startMs: t, watts: devices.reduce((sum, d) => sum + (d[1] ?? 0), 0) };
  });
}
