import { WORK_UNITS, type Work } from '../ledger/phases.js';
import { formatDuration, formatUtc, sig } from './format.js';
import { SI_UNITS, type ReportUnits } from './report-units.js';
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

/**
 * jobBlocks are the report's "Phases" and "Work and efficiency" tables, when the job reported any; quantities
 * in the rendering's units (SI prefixes on a terminal, kWh and kg in Markdown).
 */
export function jobBlocks(r: Report, u: ReportUnits = SI_UNITS): JobBlock[] {
  const out: JobBlock[] = [];
  if (r.nodeJobs) out.push(...nodeJobBlocks(r.nodeJobs, u));
  else if (r.attribution) {
    const a = r.attribution;
    out.push({
      kind: 'table', title: `Attribution (scope ${a.scope}, policy ${a.policy}: the job's share of each device; every figure above is the job's)`,
      header: ['Device', 'Job energy', 'Device energy', 'Job share'], right: [1, 2, 3],
      rows: r.energy.byDevice.map((d) => [d.id, u.kwh(d.kwh), u.kwh(d.nodeKwh), `${sig((a.share[d.id] ?? 1) * 100, 3)}%`]),
    });
  }
  if (r.phases?.length) {
    out.push({
      kind: 'table', title: 'Phases (windows the job reported; nested windows count in each)',
      header: ['Phase', 'From (UTC)', 'Duration', 'IT energy', 'CO2e location', 'Work', 'Efficiency'],
      right: [2, 3, 4],
      rows: r.phases.map((p) => [p.name, formatUtc(p.startedAt), formatDuration(p.seconds), u.kwh(p.itKwh), u.kg(p.co2eLocationKg),
        workWords(p.work), efficiencyWords(p.efficiency)]),
    });
    if (r.phasesByName && r.phasesByName.length < r.phases.length) {
      out.push({
        kind: 'table', title: 'Phases by name',
        header: ['Phase', 'Windows', 'Duration', 'IT energy', 'CO2e location', 'Work', 'Efficiency'],
        right: [1, 2, 3, 4],
        rows: r.phasesByName.map((p) => [p.name, String(p.windows), formatDuration(p.seconds), u.kwh(p.itKwh), u.kg(p.co2eLocationKg),
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

/** NODE_JOB_ROWS is how many jobs the table and Markdown list (the most energy first); JSON has them all. */
const NODE_JOB_ROWS = 30;

/** nodeJobBlocks are a node agent's "Jobs on this node" tables: per device, and per job. */
function nodeJobBlocks(n: NonNullable<Report['nodeJobs']>, u: ReportUnits): JobBlock[] {
  const top = [...n.jobs].sort((a, b) => b.itKwh - a.itKwh).slice(0, NODE_JOB_ROWS);
  const blocks: JobBlock[] = [{
    kind: 'table', title: `Jobs on this node (${n.jobs.length}): per device, jobs + unattributed = the device's energy`,
    header: ['Device', u.column('Device energy', 'Device kWh'), u.column('Jobs', 'Jobs kWh'), u.column('Unattributed', 'Unattributed kWh')], right: [1, 2, 3],
    rows: n.byDevice.map((d) => [d.id, u.kwhCell(d.nodeKwh), u.kwhCell(d.jobsKwh), u.kwhCell(d.unattributedKwh)]),
  }];
  if (top.length) {
    const more = n.jobs.length - top.length;
    blocks.push({
      kind: 'table', title: `Jobs, most energy first${more > 0 ? ` (${more} more in --format json)` : ''}: \`wattprint report RUN_ID\` for one`,
      header: ['Run id', 'Status', 'From (UTC)', 'To (UTC)', u.column('IT energy', 'IT kWh'), u.column('CO2e location', 'kgCO2e location')], right: [4, 5],
      rows: top.map((j) => [j.runId, j.status, formatUtc(j.startedAt), formatUtc(j.endedAt), u.kwhCell(j.itKwh), u.kgCell(j.co2eLocationKg)]),
    });
  }
  return blocks;
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
