import type Database from 'better-sqlite3';
import { decodeSamples } from './tick-state.js';

/** RawSample is one device's reading at one tick, as the tracker stored it (before integration). */
export interface RawSample {
  /** Wall-clock time of the tick, ms since the epoch (UTC). */
  atMs: number;
  deviceId: string;
  kind: string;
  /** Power in watts, when the device reported one. */
  powerWatts?: number;
  /** The hardware energy counter's reading in joules (since its own origin: driver load, boot), when it has one. */
  counterJoules?: number;
}

/**
 * rawSamples reads a run's stored raw samples, oldest first: each tick's row holds
 * `[dev_key, power W | null, counter J | null]` per device (see store.ts). Samples are kept only for the
 * run's last --sample-retention seconds; energy per minute is what lasts.
 */
export function rawSamples(db: Database.Database, runKey: number): RawSample[] {
  const devices = new Map<number, { id: string; kind: string }>();
  for (const d of db.prepare('SELECT dev_key, device_id, kind FROM devices WHERE run_key = ?').all(runKey) as { dev_key: number; device_id: string; kind: string }[]) {
    devices.set(d.dev_key, { id: d.device_id, kind: d.kind });
  }
  const out: RawSample[] = [];
  const rows = db.prepare('SELECT t_ms, data FROM samples WHERE run_key = ? ORDER BY t_ms').iterate(runKey) as Iterable<{ t_ms: number; data: unknown }>;
  for (const row of rows) {
    let entries: unknown;
    try {
      // A BLOB of float64 triples (schema v6), or the JSON of older runs.
      entries = decodeSamples(row.data);
    } catch {
      continue; // a row this version cannot read is skipped, not fatal to the export
    }
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!Array.isArray(entry)) continue;
      const [devKey, watts, joules] = entry as [number, number | null, number | null];
      const device = devices.get(devKey);
      if (!device) continue;
      out.push({
        atMs: row.t_ms, deviceId: device.id, kind: device.kind,
        ...(typeof watts === 'number' ? { powerWatts: watts } : {}), ...(typeof joules === 'number' ? { counterJoules: joules } : {}),
      });
    }
  }
  return out;
}

/** SAMPLES_CSV_HEADER names the columns: watts and joules_total are the names `wattprint replay` reads. */
export const SAMPLES_CSV_HEADER = 'timestamp,device,kind,watts,joules_total';

/**
 * samplesCsv renders raw samples as CSV, one row per device per tick, full precision, empty where a device
 * had no such reading. Keep timestamp, device and one of watts / joules_total and `wattprint replay` reads
 * the file back (joules_total is exact: a counter, differenced).
 */
export function samplesCsv(samples: readonly RawSample[]): string {
  const lines = [SAMPLES_CSV_HEADER];
  for (const s of samples) {
    lines.push([new Date(s.atMs).toISOString(), csvCell(s.deviceId), s.kind, s.powerWatts ?? '', s.counterJoules ?? ''].join(','));
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
