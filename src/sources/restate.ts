import { accountMinutes, sumPeriods, type AccountingSettings, type MinuteEnergy } from '../ledger/accounting.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import { buildReport } from '../report/build.js';
import { loadReport, type LoadOptions } from '../report/load.js';
import type { Report } from '../report/types.js';
import type { PeriodWrite, RunRow } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { JOULES_PER_KWH, joulesToKwh } from '../units.js';
import { embodiedSettingsOf } from '../store/embodied.js';

/** AccountingFacts are the carbon figures of a run under one set of factors: grams, gCO2e/kWh, periods. */
export interface AccountingFacts {
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  /** Facility-energy-weighted average location intensity, gCO2e/kWh. */
  avgGramsPerKwh: number;
  /** The distinct sources of the periods, '; '-joined (fallbacks included, flagged). */
  intensitySource: string;
  pue: number;
  pueSource: string;
  zone?: string;
  market: MarketInstruments;
  periods: PeriodWrite[];
}

/** Restatement is one stored recomputation: when, from what, and the figures before and after. */
export interface Restatement {
  createdAtMs: number;
  /** What the new figures came from, e.g. 'csv: DE_2024.csv (Electricity Maps, lifecycle)'. */
  source: string;
  before: AccountingFacts;
  after: AccountingFacts;
}

/** factsOf summarises periods accounted under the given factors. */
export function factsOf(
  periods: PeriodWrite[],
  factors: { pue: number; pueSource: string; zone?: string; market: MarketInstruments; fallbackSource?: string },
): AccountingFacts {
  const totals = sumPeriods(periods);
  const facilityKwh = joulesToKwh(totals.facilityJoules);
  const sources = [...new Set(periods.map((p) => p.source))];
  return {
    co2eLocationGrams: totals.co2eLocationGrams,
    co2eMarketGrams: totals.co2eMarketGrams,
    avgGramsPerKwh: facilityKwh > 0 ? totals.co2eLocationGrams / facilityKwh : (periods.at(-1)?.intensityGramsPerKwh ?? 0),
    intensitySource: sources.length ? sources.join('; ') : (factors.fallbackSource ?? ''),
    pue: factors.pue,
    pueSource: factors.pueSource,
    ...(factors.zone ? { zone: factors.zone } : {}),
    market: factors.market,
    periods,
  };
}

/**
 * restateMinutes recomputes a run's carbon from its stored per-minute IT energy (joules) with new factors,
 * through the same accountMinutes as live tracking: CO2e = Σ_p facility kWh(p) × CI(p). Pure apart from the
 * provider's in-memory lookups.
 */
export function restateMinutes(
  minutes: readonly MinuteEnergy[],
  settings: AccountingSettings & { pueSource: string; zone?: string },
): AccountingFacts {
  const periods = accountMinutes(minutes, settings).sort((a, b) => a.periodStartMs - b.periodStartMs);
  return factsOf(periods, { pue: settings.pue, pueSource: settings.pueSource, zone: settings.zone, market: settings.market });
}

/** storedFacts are a run's figures as tracked: its energy_period rows and its own factors. */
export function storedFacts(store: Store, run: RunRow): AccountingFacts {
  return factsOf(store.periodsOf(run.runKey), { pue: run.pue, pueSource: run.pueSource, zone: run.zone, market: run.market, fallbackSource: run.intensitySource });
}

/**
 * restatedReport is a run's report under a restatement's new figures (CO2e, intensity, PUE, hourly rows),
 * with `restatement` holding the figures before and after side by side.
 */
export function restatedReport(store: Store, run: RunRow, r: Restatement, notes: string[] = [], opts: LoadOptions = {}): Report {
  // A restatement covers the energy stored when it was made; a run resumed after it has more, whose CO2e the
  // restated periods lack. Then the tracked figures hold, and the report says to restate again.
  const coveredJoules = r.after.periods.reduce((s, p) => s + p.itJoules, 0);
  const trackedJoules = store.devicesOf(run.runKey).reduce((s, d) => s + d.energyJoules, 0);
  if (trackedJoules > coveredJoules * (1 + 1e-9) + 1e-6) {
    return loadReport(store, run, [...notes, `the restatement of ${new Date(r.createdAtMs).toISOString()} (${r.source}) covers ` +
      `${(coveredJoules / JOULES_PER_KWH).toPrecision(4)} of the run's ${(trackedJoules / JOULES_PER_KWH).toPrecision(4)} kWh (the run went on after it): ` +
      `figures are as tracked; restate again with \`wattprint report ${run.runId} --restate\``], opts);
  }
  const restatedRun: RunRow = {
    ...run, pue: r.after.pue, pueSource: r.after.pueSource, market: r.after.market, intensitySource: r.after.intensitySource,
    ...(r.after.zone ? { zone: r.after.zone } : {}),
  };
  // loadReport supplies the power series and status notes; the carbon figures are rebuilt from the new periods.
  const loaded = loadReport(store, restatedRun, notes, opts);
  const report = buildReport({
    run: restatedRun, devices: store.devicesOf(run.runKey), periods: r.after.periods, gaps: store.gapsOf(run.runKey),
    powerSeries: loaded.powerSeries.map((p) => ({ startMs: Date.parse(p.at), watts: p.watts })),
    powerSeriesOfDevices: loaded.powerSeriesScope === 'devices',
    endMs: run.endedAtMs ?? run.lastTickMs, embodied: embodiedSettingsOf(store.db, run.runKey),
    notes: [...loaded.notes, `restated ${new Date(r.createdAtMs).toISOString()} from ${r.source}; the tracked figures are kept (restatement.before)`],
  });
  const side = (f: AccountingFacts) => ({
    co2eLocationKg: f.co2eLocationGrams / 1000, co2eMarketKg: f.co2eMarketGrams / 1000, avgGramsPerKwh: f.avgGramsPerKwh, intensitySource: f.intensitySource,
  });
  return { ...report, ...(loaded.deferral ? { deferral: loaded.deferral } : {}), restatement: { createdAt: new Date(r.createdAtMs).toISOString(), source: r.source, before: side(r.before), after: side(r.after) } };
}
