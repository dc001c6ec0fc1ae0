import type Database from 'better-sqlite3';
import type { Restatement } from '../sources/restate.js';

/** saveRestatement stores a restatement; the tracked energy_period rows are never changed, so both are kept. */
export function saveRestatement(db: Database.Database, runKey: number, r: Restatement): void {
  db.prepare('INSERT INTO restatements (run_key, created_at_ms, source, old_json, new_json) VALUES (?, ?, ?, ?, ?)')
    .run(runKey, r.createdAtMs, r.source, JSON.stringify(r.before), JSON.stringify(r.after));
}

/** latestRestatement returns a run's most recent restatement, if any. */
export function latestRestatement(db: Database.Database, runKey: number): Restatement | undefined {
  const row = db.prepare('SELECT created_at_ms, source, old_json, new_json FROM restatements WHERE run_key = ? ORDER BY created_at_ms DESC, restatement_key DESC LIMIT 1')
    .get(runKey) as { created_at_ms: number; source: string; old_json: string; new_json: string } | undefined;
  if (!row) return undefined;
  return { createdAtMs: row.created_at_ms, source: row.source, before: JSON.parse(row.old_json), after: JSON.parse(row.new_json) };
}

