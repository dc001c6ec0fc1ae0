import { WORK_UNITS, type Work } from '../ledger/phases.js';
import { formatCo2eKg, formatDuration, formatKwh, formatUtc, sig } from './format.js';
import type { Efficiency } from './job.js';
import type { Report } from './types.js';

/** JobBlock is a table the report renderers lay out (the same shape render.ts uses). */
export interface JobBlock {
  kind: 'table';
  title: string;
  header: string[];
  right: number[];
  rows: string[][];
}

/** jobBlocks are the report's "Phases" and "Work and efficiency" tables, when the job reported any. */
export function jobBlocks(r: Report): JobBlock[] {
  const out: JobBlock[] = [];
  if (r.attribution) {
    const a = r.attribution;
    out.push({
      kind: 'table', title: `Attribution (scope ${a.scope}, policy ${a.policy}: the job's share of each device; every figure above is the job's)`,
      header: ['Device', 'Job energy', 'Device energy', 'Job share'], right: [1, 2, 3],
      rows: r.energy.byDevice.map((d) => [d.id, formatKwh(d.kwh), formatKwh(d.nodeKwh), `${sig((a.share[d.id] ?? 1) * 100, 3)}%`]),
    });
  }
  if (r.phases?.length) {
    out.push({
      kind: 'table', title: 'Phases (windows the job reported; nested windows count in each)',
      header: ['Phase', 'From (UTC)', 'Duration', 'IT energy', 'CO2e location', 'Work', 'Efficiency'],
      right: [2, 3, 4],
      rows: r.phases.map((p) => [p.name, formatUtc(p.startedAt), formatDuration(p.seconds), formatKwh(p.itKwh), formatCo2eKg(p.co2eLocationKg),
        workWords(p.work), efficiencyWords(p.efficiency)]),
    });
    if (r.phasesByName && r.phasesByName.length < r.phases.length) {
      out.push({
        kind: 'table', title: 'Phases by name',
        header: ['Phase', 'Windows', 'Duration', 'IT energy', 'CO2e location', 'Work', 'Efficiency'],
        right: [1, 2, 3, 4],
        rows: r.phasesByName.map((p) => [p.name, String(p.windows), formatDuration(p.seconds), formatKwh(p.itKwh), formatCo2eKg(p.co2eLocationKg),
          workWords(p.work), efficiencyWords(p.efficiency)]),
      });
    }
  }
  if (r.work) {
    out.push({
      kind: 'table', title: 'Work and efficiency (whole run, IT energy)',
      header: ['Work', 'Efficiency'], right: [],
      rows: [[workWords(r.work), efficiencyWords(r.efficiency)]],
    });
  }
  return out;
}

/** workWords is '1,200 steps, 38,400 samples, 9.83M tokens'. */
export function workWords(work: Work | undefined): string {
  if (!work) return '-';
  const parts = WORK_UNITS.filter((u) => work[u] !== undefined).map((u) => `${sig(work[u]!, 4)} ${u}`);
  return parts.length ? parts.join(', ') : '-';
}

/** efficiencyWords is 'J/token 0.0123, gCO2e per 1M tokens 4.56'. */
export function efficiencyWords(e: Efficiency | undefined): string {
  if (!e) return '-';
  const parts: string[] = [];
  if (e.itJoulesPerToken !== undefined) parts.push(`${sig(e.itJoulesPerToken, 3)} J/token`);
  if (e.co2eGramsPerMillionTokens !== undefined) parts.push(`${sig(e.co2eGramsPerMillionTokens, 3)} gCO2e/1M tokens`);
  if (e.itJoulesPerSample !== undefined) parts.push(`${sig(e.itJoulesPerSample, 3)} J/sample`);
  if (e.itJoulesPerStep !== undefined) parts.push(`${sig(e.itJoulesPerStep, 3)} J/step`);
  return parts.length ? parts.join(', ') : '-';
}
