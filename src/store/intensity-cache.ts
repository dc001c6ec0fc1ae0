import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CachedIntensity, CachedQuality, IntensityCache } from '../intensity/cache.js';

interface Row {
  provider: string;
  zone: string;
  period_start_ms: number;
  period_seconds: number;
  grams_per_kwh: number;
  cfe: number | null;
  source: string;
  fetched_at_ms: number;
  quality: CachedQuality;
  marginal: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS intensity_cache (
  provider TEXT NOT NULL,
  zone TEXT NOT NULL,
  period_start_ms INTEGER NOT NULL,
  period_seconds INTEGER NOT NULL,
  grams_per_kwh REAL NOT NULL,
  cfe REAL,
  source TEXT NOT NULL,
  fetched_at_ms INTEGER NOT NULL,
  quality TEXT NOT NULL CHECK (quality IN ('forecast', 'actual')),
  marginal INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (provider, zone, period_start_ms)
) WITHOUT ROWID`;

function fromRow(row: Row): CachedIntensity {
  return {
    provider: row.provider,
    zone: row.zone,
    periodStartMs: row.period_start_ms,
    periodSeconds: row.period_seconds,
    gramsPerKwh: row.grams_per_kwh,
    ...(row.cfe === null ? {} : { cfe: row.cfe }),
    source: row.source,
    fetchedAtMs: row.fetched_at_ms,
    quality: row.quality,
    ...(row.marginal ? { marginal: true } : {}),
  };
}

/**
 * createIntensityCache creates the intensity_cache table in db if missing (provider and zone are part of the
 * key: an average and a marginal figure for the same hour are different facts) and returns the cache.
 */
export function createIntensityCache(db: Database.Database): IntensityCache {
  db.exec(SCHEMA);
  const upsert = db.prepare(`
    INSERT INTO intensity_cache VALUES
      (@provider, @zone, @periodStartMs, @periodSeconds, @gramsPerKwh, @cfe, @source, @fetchedAtMs, @quality, @marginal)
    ON CONFLICT (provider, zone, period_start_ms) DO UPDATE SET
      period_seconds = excluded.period_seconds, grams_per_kwh = excluded.grams_per_kwh, cfe = excluded.cfe,
      source = excluded.source, fetched_at_ms = excluded.fetched_at_ms, quality = excluded.quality,
      marginal = excluded.marginal
    WHERE NOT (intensity_cache.quality = 'actual' AND excluded.quality = 'forecast')`);
  const getOne = db.prepare(`
    SELECT * FROM intensity_cache
    WHERE provider = ? AND zone = ? AND period_start_ms <= ? AND period_start_ms + period_seconds * 1000 > ?
    ORDER BY period_start_ms DESC LIMIT 1`);
  const getRange = db.prepare(`
    SELECT * FROM intensity_cache
    WHERE provider = ? AND zone = ? AND period_start_ms >= ? AND period_start_ms < ?
    ORDER BY period_start_ms`);
  const putAll = db.transaction((values: readonly CachedIntensity[]) => {
    for (const v of values) {
      upsert.run({ ...v, cfe: v.cfe ?? null, marginal: v.marginal ? 1 : 0 });
    }
  });
  return {
    put: (values) => putAll(values),
    get(provider, zone, atMs) {
      const row = getOne.get(provider, zone, atMs, atMs) as Row | undefined;
      return row ? fromRow(row) : undefined;
    },
    range(provider, zone, fromMs, toMs) {
      return (getRange.all(provider, zone, fromMs, toMs) as Row[]).map(fromRow);
    },
  };
}


/** openIntensityCache opens the database at path on its own connection (WAL allows both) for the cache alone. */
export function openIntensityCache(path: string): IntensityCache {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return createIntensityCache(db);
}
