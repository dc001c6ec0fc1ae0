import { asciiChart } from './ascii-chart.js';
import { fixed, formatDuration, formatPue, formatUtc, sig } from './format.js';
import { FIXED_UNITS, SI_UNITS, type ReportUnits } from './report-units.js';
import { renderCsv } from './render-csv.js';
import { jobBlocks } from './render-job.js';
import { renderModelCard, type ModelCardOptions } from './render-model-card.js';
import type { Report, ReportPeriod } from './types.js';
import type { Range } from './uncertainty.js';
import { JOULES_PER_KWH } from '../units.js';

/** ReportFormat is a report rendering: terminal table, Markdown, JSON (the Report object), CSV, or a model card. */
export type ReportFormat = 'table' | 'markdown' | 'json' | 'csv' | 'model-card';

/** HOURLY_EDGE_ROWS is how many first and last periods the table and Markdown show of a long run. */
export const HOURLY_EDGE_ROWS = 24;

type Block =
  | { kind: 'kv'; title?: string; rows: [string, string][] }
  | { kind: 'table'; title: string; header: string[]; right: number[]; rows: string[][] }
  | { kind: 'list'; title: string; items: string[] }
  | { kind: 'pre'; title: string; text: string };

/** renderReport renders a report; every format reads only the Report object (no I/O). */
export function renderReport(report: Report, format: ReportFormat, card: Partial<ModelCardOptions> = {}): string {
  switch (format) {
    case 'model-card':
      return renderModelCard(report, { version: card.version ?? 'unknown', ...card });
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'table':
      return renderTable(report);
  }
}

function blocks(r: Report, u: ReportUnits): Block[] {
  const d = r.disclosure;
  const out: Block[] = [
    {
      kind: 'kv',
      rows: [
        ['Run', `${r.runId}${r.status === 'running' ? ' (running)' : ''}`],
        ...(r.hostname ? [['Host', r.hostname] as [string, string]] : []),
        ...(Object.keys(r.labels).length
          ? [['Labels', Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(', ')] as [string, string]]
          : []),
        ['Started', formatUtc(r.startedAt)],
        ['Ended', r.status === 'running' ? `${formatUtc(r.endedAt)} (last tick)` : formatUtc(r.endedAt)],
        ['Duration', formatDuration(r.durationSeconds)],
      ],
    },
    {
      kind: 'table',
      title: 'Devices',
      header: ['ID', 'Kind', 'Name', u.column('Energy', 'Energy (kWh)'), u.column('Avg power', 'Avg power (W)'), 'Method'],
      right: [3, 4],
      rows: r.energy.byDevice.map((x) => [x.id, x.kind, x.name, u.kwhCell(x.kwh), u.wattsCell(x.avgWatts), x.method]),
    },
    {
      kind: 'kv',
      title: 'Energy and emissions',
      rows: [
        ['IT energy', `${u.kwh(r.energy.itKwh)}${range(u.kwh, r.uncertainty?.itKwh)}`],
        ['PUE', `${formatPue(r.pue)} (${r.pueSource})`],
        ['Facility energy', `${u.kwh(r.energy.facilityKwh)}${range(u.kwh, r.uncertainty?.facilityKwh)}`],
        ['Grid intensity', `${sig(r.intensity.avgGramsPerKwh, 3)} gCO2e/kWh average (${r.intensity.source}${r.intensity.zone ? `, zone ${r.intensity.zone}` : ''})`],
        ['CO2e location-based', `${u.kg(r.co2e.locationKg)}${range(u.kg, r.uncertainty?.co2eLocationKg)}`],
        ['CO2e market-based', `${u.kg(r.co2e.marketKg)}${range(u.kg, r.uncertainty?.co2eMarketKg)} (${r.intensity.marketBasis})`],
        ...(r.projected ? [['Projected at completion', `${u.kwh(r.projected.facilityKwh)}, ${u.kg(r.projected.co2eLocationKg)} CO2e ` +
          `(the run ended at ${sig(r.projected.fraction * 100, 3)}% of the job: ${r.projected.source})`] as [string, string]] : []),
      ],
    },
    {
      kind: 'table',
      title: 'Disclosure (Patterson et al. 2021, Table 4 form)',
      header: ['Processor', 'Chips', 'Avg system W per chip', 'Hours', 'MWh', 'PUE', 'kgCO2e/kWh', 'Gross tCO2e', 'Net tCO2e'],
      right: [1, 2, 3, 4, 5, 6, 7, 8],
      // The paper's units in every rendering; scientific notation keeps a small run's figures readable.
      rows: [[d.processor, String(d.count), fixed(d.avgWattsPerAccelerator, 3), fixed(d.hours, 4), fixed(d.mwh, 4), formatPue(d.pue),
        fixed(d.kgCo2ePerKwh, 3), fixed(d.tCo2e, 3), fixed(d.tCo2eMarket, 3)]],
    },
    ...(r.uncertainty ? [uncertaintyBlock(r, u)] : []),
    ...(r.embodied?.lines.length ? [embodiedBlock(r, u)] : []),
    { kind: 'list', title: 'Measured', items: r.measured.length ? r.measured : ['(nothing measured: every figure is modelled)'] },
    { kind: 'list', title: 'Modelled', items: r.modelled.length ? r.modelled : ['(nothing modelled)'] },
  ];
  out.push(...jobBlocks(r, u));
  if (r.gaps.length) {
    out.push({
      kind: 'table',
      title: 'Gaps',
      header: ['Device', 'From (UTC)', 'To (UTC)', 'Reason', u.column('Recovered', 'Recovered (kWh)')],
      right: [4],
      rows: r.gaps.map((g) => [g.deviceId, formatUtc(g.startAt), formatUtc(g.endAt), g.reason,
        g.recoveredJoules === undefined ? '-' : u.kwhCell(g.recoveredJoules / JOULES_PER_KWH)]),
    });
  }
  if (r.restatement) {
    const { before, after } = r.restatement;
    out.push({
      kind: 'table',
      title: `Restatement (${formatUtc(r.restatement.createdAt)}, ${r.restatement.source})`,
      header: ['', 'gCO2e/kWh', u.column('CO2e location', 'CO2e location (kg)'), u.column('CO2e market', 'CO2e market (kg)'), 'Intensity source'],
      right: [1, 2, 3],
      rows: [
        ['as tracked', sig(before.avgGramsPerKwh, 3), u.kgCell(before.co2eLocationKg), u.kgCell(before.co2eMarketKg), before.intensitySource],
        ['restated', sig(after.avgGramsPerKwh, 3), u.kgCell(after.co2eLocationKg), u.kgCell(after.co2eMarketKg), after.intensitySource],
      ],
    });
  }
  if (r.counterfactuals?.length) {
    out.push({
      kind: 'table',
      title: 'The same energy elsewhere (annual averages)',
      header: ['Zone', 'Name', 'gCO2e/kWh', u.column('CO2e location', 'CO2e location (kg)'), 'vs this run'],
      right: [2, 3, 4],
      rows: r.counterfactuals.map((c) => [c.zone, c.name ?? '', sig(c.avgGramsPerKwh, 3), u.kgCell(c.co2eLocationKg),
        r.co2e.locationKg > 0 ? `${sig(c.co2eLocationKg / r.co2e.locationKg, 2)}x` : '-']),
    });
  }
  if (r.hourly.length) out.push(hourlyBlock(r.hourly, u));
  if (r.powerSeries.length) {
    const first = r.powerSeries[0]!.at;
    const last = r.powerSeries.at(-1)!.at;
    out.push({
      kind: 'pre',
      title: r.powerSeriesScope === 'devices'
        ? `Total IT power of the devices (whole devices, shared: this run was charged ${sharePercent(r)} of their IT energy)`
        : 'Total IT power',
      text: `${asciiChart(r.powerSeries.map((p) => p.watts), { width: 60, height: 8, unit: 'W' })}\n` +
        `${formatUtc(first)} to ${formatUtc(last)}, ${r.powerSeries.length} points (${stepWords(r.powerSeries)} means); peak ${u.watts(Math.max(...r.powerSeries.map((p) => p.watts)))}`,
    });
  }
  if (r.notes.length) out.push({ kind: 'list', title: 'Notes', items: r.notes });
  return out;
}

/** sharePercent is the run's IT energy as a percentage of its devices' whole energy ('41%'). */
function sharePercent(r: Report): string {
  return r.energy.nodeItKwh > 0 ? `${sig((100 * r.energy.itKwh) / r.energy.nodeItKwh, 3)}%` : 'an unknown share';
}

/** range is ' (low–high)' in the same unit system as the central figure (its unit said once), or '' without bounds. */
function range(format: (x: number) => string, bounds: Range | undefined): string {
  if (!bounds) return '';
  const low = format(bounds.low);
  const high = format(bounds.high);
  const unit = (text: string) => text.slice(text.lastIndexOf(' ') + 1);
  return unit(low) === unit(high) ? ` (${low.slice(0, low.lastIndexOf(' '))}–${high})` : ` (${low}–${high})`;
}

function uncertaintyBlock(r: Report, units: ReportUnits): Block {
  const u = r.uncertainty!;
  return {
    kind: 'list',
    title: 'Uncertainty (low–high beside each figure)',
    items: [
      ...u.byDevice.map((d) => `${d.id}: ${d.basis}; ${units.kwh(d.lowKwh)} to ${units.kwh(d.highKwh)}` +
        (d.gapEstimateKwh > 0 ? ` (high end includes ${units.kwh(d.gapEstimateKwh)} estimated for unbridged gaps, not in the central figure)` : '')),
      ...u.intensity.map((i) => `intensity, ${i.periods} ${i.quality} period${i.periods === 1 ? '' : 's'}: ${i.basis}`),
      u.method,
    ],
  };
}

function embodiedBlock(r: Report, units: ReportUnits): Block {
  const e = r.embodied!;
  return {
    kind: 'table',
    title: 'Embodied emissions (Scope 3: hardware manufacturing, amortised; not in the figures above or Table 4)',
    header: ['Component', 'Units', 'kgCO2e per unit', 'Life (years)', 'Share of this run', 'Source'],
    right: [1, 2, 3, 4],
    rows: [
      ...e.lines.map((l) => [l.component, String(l.units), sig(l.kgPerUnit, 4), sig(l.lifetimeYears, 3), units.kg(l.kg), l.source]),
      [`Total (${sig(e.hours, 4)} h of ${e.lines.map((l) => l.component).join(', ')})`, '', '', '', units.kg(e.kgCo2e), e.method],
    ],
  };
}

function hourlyBlock(hourly: ReportPeriod[], u: ReportUnits): Block {
  const row = (p: ReportPeriod): string[] => [formatUtc(p.startAt), u.kwhCell(p.itKwh), u.kwhCell(p.facilityKwh),
    sig(p.intensityGramsPerKwh, 3), u.kgCell(p.co2eLocationKg), u.kgCell(p.co2eMarketKg), `${p.source} (${p.quality})`];
  const capped = hourly.length > 2 * HOURLY_EDGE_ROWS;
  const shown = capped ? [...hourly.slice(0, HOURLY_EDGE_ROWS), ...hourly.slice(-HOURLY_EDGE_ROWS)] : hourly;
  const rows = shown.map(row);
  if (capped) {
    const omitted = hourly.length - 2 * HOURLY_EDGE_ROWS;
    rows.splice(HOURLY_EDGE_ROWS, 0, [`... ${omitted} more periods (all of them: --format json or csv)`, '', '', '', '', '', '']);
  }
  const sum = (f: (p: ReportPeriod) => number): number => hourly.reduce((s, p) => s + f(p), 0);
  const facilityKwh = sum((p) => p.facilityKwh);
  const locationKg = sum((p) => p.co2eLocationKg);
  rows.push([`Total (${hourly.length} period${hourly.length === 1 ? '' : 's'})`, u.kwhCell(sum((p) => p.itKwh)), u.kwhCell(facilityKwh),
    facilityKwh > 0 ? sig((locationKg * 1000) / facilityKwh, 3) : '-', u.kgCell(locationKg), u.kgCell(sum((p) => p.co2eMarketKg)), '']);
  return {
    kind: 'table',
    title: 'By hour (UTC)',
    header: ['Period start (UTC)', u.column('IT energy', 'IT kWh'), u.column('Facility energy', 'Facility kWh'), 'gCO2e/kWh',
      u.column('CO2e location', 'kgCO2e location'), u.column('CO2e market', 'kgCO2e market'), 'Intensity source'],
    right: [1, 2, 3, 4, 5],
    rows,
  };
}

/** renderTable is the terminal rendering: aligned plain-text columns. */
function renderTable(r: Report): string {
  const parts = [`wattprint report`];
  for (const b of blocks(r, SI_UNITS)) {
    const title = 'title' in b && b.title ? `\n${b.title}\n${'-'.repeat(b.title.length)}\n` : '\n';
    if (b.kind === 'kv') {
      const w = Math.max(...b.rows.map(([k]) => k.length));
      parts.push(title + b.rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
    } else if (b.kind === 'table' && b.rows.length === 1 && tableWidth(b.header, b.rows[0]!) > TERMINAL_WIDTH) {
      // A one-row table too wide for a terminal (the Table 4 row) reads better turned on its side.
      const w = Math.max(...b.header.map((h) => h.length));
      parts.push(title + b.header.map((h, i) => `${h.padEnd(w)}  ${b.rows[0]![i]}`).join('\n'));
    } else if (b.kind === 'table') {
      const all = [b.header, ...b.rows];
      const widths = b.header.map((_, i) => Math.max(...all.filter((row) => !isSpanRow(row)).map((row) => row[i]!.length)));
      const line = (row: string[]): string => isSpanRow(row) ? row[0]! :
        row.map((c, i) => (b.right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
      parts.push(title + [line(b.header), widths.map((w) => '-'.repeat(w)).join('  '), ...b.rows.map(line)].join('\n'));
    } else if (b.kind === 'list') {
      parts.push(title + b.items.map((i) => `- ${i}`).join('\n'));
    } else {
      parts.push(title + b.text);
    }
  }
  return `${parts.join('\n')}\n`;
}

/** renderMarkdown is the paper-ready rendering: GitHub-flavoured Markdown tables. */
function renderMarkdown(r: Report): string {
  const parts = [`# wattprint report: run \`${r.runId}\``];
  for (const b of blocks(r, FIXED_UNITS)) {
    const title = 'title' in b && b.title ? `## ${b.title}\n\n` : '';
    if (b.kind === 'kv') {
      parts.push(`${title}| | |\n|---|---|\n${b.rows.map(([k, v]) => `| ${k} | ${md(v)} |`).join('\n')}`);
    } else if (b.kind === 'table') {
      const rule = b.header.map((_, i) => (b.right.includes(i) ? '---:' : '---'));
      const rows = b.rows.map((row) => `| ${(isSpanRow(row) ? [`*${row[0]}*`, ...row.slice(1)] : row).map(md).join(' | ')} |`);
      parts.push(`${title}| ${b.header.join(' | ')} |\n|${rule.join('|')}|\n${rows.join('\n')}`);
    } else if (b.kind === 'list') {
      parts.push(title + b.items.map((i) => `- ${md(i)}`).join('\n'));
    } else {
      parts.push(`${title}\`\`\`text\n${b.text}\n\`\`\``);
    }
  }
  return `${parts.join('\n\n')}\n`;
}

/** TERMINAL_WIDTH is the width a terminal rendering aims to stay within. */
const TERMINAL_WIDTH = 100;

function tableWidth(header: string[], row: string[]): number {
  return header.reduce((sum, h, i) => sum + Math.max(h.length, row[i]!.length) + 2, 0);
}

/** A span row has text only in its first cell (the "... N more periods" line). */
function isSpanRow(row: string[]): boolean {
  return row[0]!.startsWith('... ') && row.slice(1).every((c) => c === '');
}

function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** stepWords names the spacing of a power series: '1 s', '2 min', '3 h'. */
function stepWords(series: readonly { at: string }[]): string {
  if (series.length < 2) return 'one-minute';
  const stepSeconds = (Date.parse(series[1]!.at) - Date.parse(series[0]!.at)) / 1000;
  if (stepSeconds < 60) return `${sig(stepSeconds, 2)} s`;
  if (stepSeconds < 3600) return `${sig(stepSeconds / 60, 2)} min`;
  return `${sig(stepSeconds / 3600, 2)} h`;
}
