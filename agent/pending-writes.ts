import type { PeriodWrite, TickWrite } from '../src/store/rows.js';

/** MAX_PENDING_MINUTE_ROWS bounds what is held in memory while the database refuses writes: a day of 64 devices. */
export const MAX_PENDING_MINUTE_ROWS = 64 * 1440;

/**
 * mergeTickWrites folds a newer tick into writes not yet committed, so one transaction can commit both when
 * the database takes writes again (a full disk freed, a lock released). Energy rows add up (minutes per
 * device-minute, periods per period); device state, totals, work and progress are the newer tick's; raw
 * samples keep the newest tick only (they are a short window anyway). Nothing measured is dropped.
 */
export function mergeTickWrites(older: TickWrite, newer: TickWrite): TickWrite {
  const minutes = new Map<string, TickWrite['minutes'][number]>();
  for (const m of [...older.minutes, ...newer.minutes]) {
    const key = `${m.devKey}:${m.minute}`;
    const row = minutes.get(key);
    if (row) row.energyJoules += m.energyJoules;
    else minutes.set(key, { ...m });
  }
  const periods = new Map<number, PeriodWrite>();
  for (const p of [...older.periods, ...newer.periods]) {
    const row = periods.get(p.periodStartMs);
    if (!row) {
      periods.set(p.periodStartMs, { ...p });
      continue;
    }
    row.itJoules += p.itJoules;
    row.facilityJoules += p.facilityJoules;
    row.co2eLocationGrams += p.co2eLocationGrams;
    row.co2eMarketGrams += p.co2eMarketGrams;
    // The accounted intensity is what was applied on average; the store does the same when rows add up.
    row.intensityGramsPerKwh = row.facilityJoules > 0 ? (row.co2eLocationGrams * 3_600_000) / row.facilityJoules : p.intensityGramsPerKwh;
    if (!row.source.includes(p.source)) row.source = `${row.source}; ${p.source}`;
    if (row.quality !== p.quality) row.quality = 'mixed';
  }
  const phases = new Map((older.phases ?? []).map((p) => [p.id, p]));
  for (const p of newer.phases ?? []) phases.set(p.id, p);
  return {
    ...newer,
    minutes: [...minutes.values()],
    periods: [...periods.values()],
    gaps: [...(older.gaps ?? []), ...(newer.gaps ?? [])],
    phases: [...phases.values()],
    ...(newer.work ?? older.work ? { work: newer.work ?? older.work } : {}),
    ...(newer.progress ?? older.progress ? { progress: newer.progress ?? older.progress } : {}),
    ...(newer.dropped ?? older.dropped ? { dropped: newer.dropped ?? older.dropped } : {}),
    ...(newer.attribution ?? older.attribution ? { attribution: newer.attribution ?? older.attribution } : {}),
  };
}

/** isStorageFailure tells a database that cannot take writes for now (full disk, I/O error, lock) from a bug. */
export function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? '';
  return /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|PROTOCOL)/.test(code) ||
    /database or disk is full|disk I\/O error|database is locked|SQLITE_BUSY|SQLITE_FULL|ENOSPC|readonly database/i.test(message);
}
