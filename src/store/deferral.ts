import type Database from 'better-sqlite3';

/** Deferral is a run's start put off by `run --start-within` to the lowest-carbon window of a forecast. */
export interface Deferral {
  /** When the plan was made (ISO 8601 UTC) and the start it chose. */
  decidedAt: string;
  plannedStartAt: string;
  /** Seconds actually waited before the job started. */
  waitedSeconds: number;
  /** The --start-within window (hours) and the job length planned for (hours, from --expected-duration). */
  withinHours: number;
  jobHours: number;
  /** Expected average intensity of the chosen window and of starting at once (gCO2e/kWh), and the saving (%). */
  avgGramsPerKwh: number;
  nowGramsPerKwh?: number;
  savingPercent?: number;
  /** The forecast planned on, e.g. 'uk GB'. */
  source: string;
}

// A table of its own, created on first use: the schema file belongs to the store's owner.
const SCHEMA = 'CREATE TABLE IF NOT EXISTS run_deferrals (run_key INTEGER PRIMARY KEY, deferral_json TEXT NOT NULL)';

/** saveDeferral records (or replaces) a run's deferral. */
export function saveDeferral(db: Database.Database, runKey: number, deferral: Deferral): void {
  db.exec(SCHEMA);
  db.prepare('INSERT OR REPLACE INTO run_deferrals (run_key, deferral_json) VALUES (?, ?)').run(runKey, JSON.stringify(deferral));
}

/** deferralOf returns a run's deferral, or undefined (also when no run of this database was ever deferred). */
export function deferralOf(db: Database.Database, runKey: number): Deferral | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_deferrals'").get();
  if (!table) return undefined;
  const row = db.prepare('SELECT deferral_json FROM run_deferrals WHERE run_key = ?').get(runKey) as { deferral_json: string } | undefined;
  return row ? (JSON.parse(row.deferral_json) as Deferral) : undefined;
}
