import type Database from 'better-sqlite3';
import type { EmbodiedSettings } from '../carbon/embodied.js';

// A table of its own, created on first use: the schema file belongs to the store's owner.
const SCHEMA = 'CREATE TABLE IF NOT EXISTS run_embodied (run_key INTEGER PRIMARY KEY, settings_json TEXT NOT NULL)';

/** saveEmbodiedSettings records a run's --embodied-kg / --lifetime-years, so later reports amortise the same way. */
export function saveEmbodiedSettings(db: Database.Database, runKey: number, settings: EmbodiedSettings): void {
  db.exec(SCHEMA);
  db.prepare('INSERT OR REPLACE INTO run_embodied (run_key, settings_json) VALUES (?, ?)').run(runKey, JSON.stringify(settings));
}

/** embodiedSettingsOf returns a run's stored overrides, or undefined (the published defaults apply). */
export function embodiedSettingsOf(db: Database.Database, runKey: number): EmbodiedSettings | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_embodied'").get();
  if (!table) return undefined;
  const row = db.prepare('SELECT settings_json FROM run_embodied WHERE run_key = ?').get(runKey) as { settings_json: string } | undefined;
  return row ? (JSON.parse(row.settings_json) as EmbodiedSettings) : undefined;
}
