import type Database from 'better-sqlite3';

/**
 * MIGRATIONS are applied in order; PRAGMA user_version records how many ran. Never edit a shipped one:
 * add a new entry. Integer keys keep the per-minute table small (a 30-day run stays well under 1 MB per device-day).
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     run_key INTEGER PRIMARY KEY,
     run_id TEXT NOT NULL UNIQUE,
     hostname TEXT,
     started_at_ms INTEGER NOT NULL,
     last_tick_ms INTEGER NOT NULL,
     ended_at_ms INTEGER,
     status TEXT NOT NULL DEFAULT 'running',
     pue REAL NOT NULL,
     pue_source TEXT NOT NULL,
     zone TEXT,
     intensity_source TEXT,
     market_json TEXT NOT NULL DEFAULT '{}',
     labels_json TEXT NOT NULL DEFAULT '{}',
     command TEXT,
     exit_code INTEGER,
     co2e_location_g REAL NOT NULL DEFAULT 0,
     co2e_market_g REAL NOT NULL DEFAULT 0,
     state_json TEXT NOT NULL DEFAULT '{}'
   );
   CREATE TABLE devices (
     dev_key INTEGER PRIMARY KEY,
     run_key INTEGER NOT NULL REFERENCES runs(run_key),
     device_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     uuid TEXT,
     method TEXT NOT NULL,
     collector TEXT NOT NULL,
     power_limit_watts REAL,
     notes_json TEXT NOT NULL DEFAULT '[]',
     energy_joules REAL NOT NULL DEFAULT 0,
     samples INTEGER NOT NULL DEFAULT 0,
     counter_joules REAL,
     counter_epoch TEXT,
     power_watts REAL,
     state_wall_ms INTEGER,
     UNIQUE (run_key, device_id)
   );
   CREATE TABLE energy_minute (
     dev_key INTEGER NOT NULL,
     minute INTEGER NOT NULL,
     joules REAL NOT NULL,
     samples INTEGER NOT NULL,
     PRIMARY KEY (dev_key, minute)
   ) WITHOUT ROWID;
   CREATE TABLE energy_period (
     run_key INTEGER NOT NULL,
     period_start_ms INTEGER NOT NULL,
     period_seconds INTEGER NOT NULL,
     it_joules REAL NOT NULL,
     facility_joules REAL NOT NULL,
     intensity_g_per_kwh REAL NOT NULL,
     cfe REAL,
     co2e_location_g REAL NOT NULL,
     co2e_market_g REAL NOT NULL,
     source TEXT NOT NULL,
     quality TEXT NOT NULL,
     PRIMARY KEY (run_key, period_start_ms)
   ) WITHOUT ROWID;
   CREATE TABLE samples (
     run_key INTEGER NOT NULL,
     t_ms INTEGER NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (run_key, t_ms)
   ) WITHOUT ROWID;
   CREATE TABLE gaps (
     gap_key INTEGER PRIMARY KEY,
     dev_key INTEGER NOT NULL,
     start_ms INTEGER NOT NULL,
     end_ms INTEGER NOT NULL,
     reason TEXT NOT NULL,
     recovered_joules REAL
   );
   CREATE TABLE restatements (
     restatement_key INTEGER PRIMARY KEY,
     run_key INTEGER NOT NULL,
     created_at_ms INTEGER NOT NULL,
     source TEXT NOT NULL,
     old_json TEXT NOT NULL,
     new_json TEXT NOT NULL
   );`,
  // v2: which process tracks a run, so a second tracker on the same host cannot resume a live run.
  `ALTER TABLE runs ADD COLUMN owner_host TEXT;
   ALTER TABLE runs ADD COLUMN owner_pid INTEGER;`,
  // v3: the job's last known progress, so a report can project the run's totals at completion.
  `ALTER TABLE runs ADD COLUMN progress_json TEXT;`,
  // v4: the job's phases (measurement windows) with their energy and CO2e, and its cumulative work counters.
  `CREATE TABLE phases (
     run_key INTEGER NOT NULL,
     phase_id TEXT NOT NULL,
     name TEXT NOT NULL,
     started_at_ms REAL NOT NULL,
     ended_at_ms REAL,
     it_joules REAL NOT NULL,
     facility_joules REAL NOT NULL,
     co2e_location_g REAL NOT NULL,
     co2e_market_g REAL NOT NULL,
     work_start_json TEXT NOT NULL DEFAULT '{}',
     work_end_json TEXT,
     PRIMARY KEY (run_key, phase_id)
   ) WITHOUT ROWID;
   ALTER TABLE runs ADD COLUMN work_json TEXT NOT NULL DEFAULT '{}';`,
  // v5: attribution — each device's whole energy beside the job's share of it, and how the share was measured;
  // readings refused (by collector and reason), so the report can say what was dropped.
  `ALTER TABLE devices ADD COLUMN node_energy_joules REAL;
   ALTER TABLE runs ADD COLUMN attribution_json TEXT;
   ALTER TABLE runs ADD COLUMN dropped_json TEXT;`,
  // v6: each tick's device state as one binary value with each device's open minute (tick-state.ts), and raw
  // samples as BLOBs; runs.state_json stays for runs written before.
  `ALTER TABLE runs ADD COLUMN state_blob BLOB;`,
];

/** migrate brings a database to the latest schema inside one transaction. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`database schema v${version} is newer than this wattprint (v${MIGRATIONS.length}): upgrade wattprint`);
  }
  if (version === MIGRATIONS.length) return; // up to date: write nothing (a read-only copy still opens)
  const apply = db.transaction(() => {
    for (let i = version; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  apply();
}
