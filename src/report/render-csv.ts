import type { Report } from './types.js';
import { JOULES_PER_KWH } from '../units.js';

const COLUMNS = [
  'record', 'id', 'kind', 'name', 'method', 'start_utc', 'end_utc', 'count', 'hours', 'it_kwh', 'facility_kwh',
  'avg_watts', 'pue', 'intensity_g_per_kwh', 'co2e_location_kg', 'co2e_market_kg', 'source', 'node_kwh', 'low', 'high', 'embodied_kg',
] as const;
type Row = Partial<Record<(typeof COLUMNS)[number], string | number | undefined>>;

/**
 * renderCsv renders the report as one flat table a spreadsheet can filter on its first column:
 * 'device' rows (IT energy per device), 'hour' rows (one accounting period each, all of them),
 * 'gap' rows, one 'total' row and one 'disclosure' row (the paper's Table 4, in the same units: kWh,
 * W, g/kWh, kg). Numbers keep full precision; '#' lines on top describe the columns.
 */
export function renderCsv(r: Report): string {
  const d = r.disclosure;
  const rows: Row[] = [
    ...r.energy.byDevice.map((x): Row => ({
      record: 'device', id: x.id, kind: x.kind, name: x.name, method: x.method, start_utc: r.startedAt, end_utc: r.endedAt,
      hours: r.durationSeconds / 3600, it_kwh: x.kwh, avg_watts: x.avgWatts, source: x.collector, node_kwh: x.nodeKwh,
    })),
    ...r.hourly.map((p): Row => ({
      record: 'hour', start_utc: p.startAt, end_utc: new Date(Date.parse(p.startAt) + p.periodSeconds * 1000).toISOString(),
      hours: p.periodSeconds / 3600, it_kwh: p.itKwh, facility_kwh: p.facilityKwh, pue: r.pue,
      intensity_g_per_kwh: p.intensityGramsPerKwh, co2e_location_kg: p.co2eLocationKg, co2e_market_kg: p.co2eMarketKg,
      source: `${p.source} (${p.quality})${p.cfe !== undefined ? ` cfe=${p.cfe}` : ''}`,
    })),
    ...(r.phases ?? []).map((p): Row => ({
      record: 'phase', id: p.id, name: p.name, start_utc: p.startedAt, end_utc: p.endedAt, hours: p.seconds / 3600,
      it_kwh: p.itKwh, facility_kwh: p.facilityKwh, co2e_location_kg: p.co2eLocationKg, co2e_market_kg: p.co2eMarketKg,
      source: workCell(p.work),
    })),
    ...(r.work ? [{
      record: 'work', id: r.runId, it_kwh: r.energy.itKwh, co2e_location_kg: r.co2e.locationKg,
      source: `${workCell(r.work)}${r.efficiency?.itJoulesPerToken !== undefined ? `; it_joules_per_token=${r.efficiency.itJoulesPerToken}` : ''}` +
        `${r.efficiency?.itJoulesPerSample !== undefined ? `; it_joules_per_sample=${r.efficiency.itJoulesPerSample}` : ''}` +
        `${r.efficiency?.itJoulesPerStep !== undefined ? `; it_joules_per_step=${r.efficiency.itJoulesPerStep}` : ''}`,
    } as Row] : []),
    ...r.gaps.map((g): Row => ({
      record: 'gap', id: g.deviceId, start_utc: g.startAt, end_utc: g.endAt,
      it_kwh: g.recoveredJoules === undefined ? undefined : g.recoveredJoules / JOULES_PER_KWH, source: g.reason,
    })),
    {
      record: 'total', id: r.runId, start_utc: r.startedAt, end_utc: r.endedAt, count: r.energy.byDevice.length,
      hours: r.durationSeconds / 3600, it_kwh: r.energy.itKwh, facility_kwh: r.energy.facilityKwh,
      avg_watts: r.durationSeconds > 0 ? (r.energy.itKwh * JOULES_PER_KWH) / r.durationSeconds : 0, pue: r.pue,
      intensity_g_per_kwh: r.intensity.avgGramsPerKwh, co2e_location_kg: r.co2e.locationKg, co2e_market_kg: r.co2e.marketKg,
      source: `pue: ${r.pueSource}; intensity: ${r.intensity.source}; market: ${r.intensity.marketBasis}`,
    },
    ...uncertaintyRows(r),
    ...(r.embodied ? [
      ...r.embodied.lines.map((l): Row => ({
        record: 'embodied', id: r.runId, name: l.component, count: l.units, hours: r.embodied!.hours, embodied_kg: l.kg,
        source: `${l.kgPerUnit} kgCO2e per unit over ${l.lifetimeYears} years: ${l.source}`,
      })),
      { record: 'embodied', id: r.runId, name: 'total', hours: r.embodied.hours, embodied_kg: r.embodied.kgCo2e, source: r.embodied.method } satisfies Row,
    ] : []),
    ...(r.counterfactuals ?? []).map((c): Row => ({
      record: 'counterfactual', id: c.zone, name: c.name, it_kwh: r.energy.itKwh, facility_kwh: r.energy.facilityKwh, pue: r.pue,
      intensity_g_per_kwh: c.avgGramsPerKwh, co2e_location_kg: c.co2eLocationKg, source: c.source,
    })),
    ...(r.restatement ? (['before', 'after'] as const).map((k): Row => ({
      record: `restatement_${k}`, start_utc: r.restatement!.createdAt, intensity_g_per_kwh: r.restatement![k].avgGramsPerKwh,
      co2e_location_kg: r.restatement![k].co2eLocationKg, co2e_market_kg: r.restatement![k].co2eMarketKg, source: r.restatement![k].intensitySource,
    })) : []),
    ...(r.deferral ? [{
      record: 'deferral', start_utc: r.deferral.plannedStartAt, hours: r.deferral.waitedSeconds / 3600,
      intensity_g_per_kwh: r.deferral.avgGramsPerKwh,
      source: `--start-within ${r.deferral.withinHours} h on ${r.deferral.source}: at once ${r.deferral.nowGramsPerKwh ?? '?'} gCO2e/kWh, saving ${r.deferral.savingPercent === undefined ? '?' : `${r.deferral.savingPercent.toFixed(2)}%`}`,
    } satisfies Row] : []),
    {
      record: 'disclosure', name: d.processor, count: d.count, hours: d.hours, facility_kwh: d.mwh * 1000,
      avg_watts: d.avgWattsPerAccelerator, pue: d.pue, intensity_g_per_kwh: d.kgCo2ePerKwh * 1000,
      co2e_location_kg: d.tCo2e * 1000, co2e_market_kg: d.tCo2eMarket * 1000, source: 'Patterson et al. 2021 Table 4 form',
    },
  ];
  // Plain CSV (no comment lines, which break csv readers): the columns are described in the README.
  const body = rows.map((row) => COLUMNS.map((c) => cell(row[c])).join(','));
  return `${[COLUMNS.join(','), ...body].join('\n')}\n`;
}

/**
 * uncertaintyRows: one 'uncertainty' row per bounded quantity (name it_kwh, facility_kwh, co2e_location_kg,
 * co2e_market_kg; id the run) and per device (name it_kwh; id the device), the bounds in low/high, the basis
 * in source.
 */
function uncertaintyRows(r: Report): Row[] {
  const u = r.uncertainty;
  if (!u) return [];
  const total = (name: string, range: { low: number; high: number }, source: string): Row => ({ record: 'uncertainty', id: r.runId, name, low: range.low, high: range.high, source });
  return [
    total('it_kwh', u.itKwh, `${u.method}; gaps estimated ${u.gapEstimateKwh} kWh (in high only)`),
    total('facility_kwh', u.facilityKwh, 'IT bounds × PUE'),
    total('co2e_location_kg', u.co2eLocationKg, u.intensity.map((i) => `${i.quality}: ${i.basis}`).join('; ')),
    total('co2e_market_kg', u.co2eMarketKg, r.intensity.marketBasis),
    ...u.byDevice.map((d): Row => ({ record: 'uncertainty', id: d.id, name: 'it_kwh', method: d.method, low: d.lowKwh, high: d.highKwh, source: d.basis })),
  ];
}

/** workCell is 'steps=1200; samples=38400; tokens=9830400'. */
function workCell(work: Report['work']): string | undefined {
  if (!work) return undefined;
  return Object.entries(work).map(([k, v]) => `${k}=${v}`).join('; ');
}

/** cell quotes per RFC 4180 and defuses text a spreadsheet would run as a formula. */
function cell(v: string | number | undefined): string {
  if (v === undefined) return '';
  // 12 significant digits drop binary noise (0.7954496000000001) and keep far more than any input has.
  if (typeof v === 'number') return Number.isFinite(v) ? String(Number(v.toPrecision(12))) : '';
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
