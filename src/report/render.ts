import { asciiChart } from './ascii-chart.js';
import { formatCo2eKg, formatDuration, formatKwh, formatPue, formatUtc, formatWatts, sig } from './format.js';
import { renderCsv } from './render-csv.js';
import { jobBlocks } from './render-job.js';
import { renderModelCard, type ModelCardOptions } from './render-model-card.js';
import type { Report, ReportPeriod } from './types.js';
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

function blocks(r: Report): Block[] {
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
      header: ['ID', 'Kind', 'Name', 'Energy (kWh)', 'Avg power (W)', 'Method'],
      right: [3, 4],
      rows: r.energy.byDevice.map((x) => [x.id, x.kind, x.name, sig(x.kwh, 4), sig(x.avgWatts, 3), x.method]),
    },
    {
      kind: 'kv',
      title: 'Energy and emissions',
      rows: [
        ['IT energy', formatKwh(r.energy.itKwh)],
        ['PUE', `${formatPue(r.pue)} (${r.pueSource})`],
        ['Facility energy', formatKwh(r.energy.facilityKwh)],
        ['Grid intensity', `${sig(r.intensity.avgGramsPerKwh, 3)} gCO2e/kWh average (${r.intensity.source}${r.intensity.zone ? `, zone ${r.intensity.zone}` : ''})`],
        ['CO2e location-based', formatCo2eKg(r.co2e.locationKg)],
        ['CO2e market-based', `${formatCo2eKg(r.co2e.marketKg)} (${r.intensity.marketBasis})`],
        ...(r.projected ? [['Projected at completion', `${formatKwh(r.projected.facilityKwh)}, ${formatCo2eKg(r.projected.co2eLocationKg)} CO2e ` +
          `(the run ended at ${sig(r.projected.fraction * 100, 3)}% of the job: ${r.projected.source})`] as [string, string]] : []),
      ],
    },
    {
      kind: 'table',
      title: 'Disclosure (Patterson et al. 2021, Table 4 form)',
      header: ['Processor', 'Chips', 'Avg system W per chip', 'Hours', 'MWh', 'PUE', 'kgCO2e/kWh', 'Gross tCO2e', 'Net tCO2e'],
      right: [1, 2, 3, 4, 5, 6, 7, 8],
      rows: [[d.processor, String(d.count), sig(d.avgWattsPerAccelerator, 3), sig(d.hours, 4), sig(d.mwh, 4), formatPue(d.pue),
        sig(d.kgCo2ePerKwh, 3), sig(d.tCo2e, 3), sig(d.tCo2eMarket, 3)]],
    },
    { kind: 'list', title: 'Measured', items: r.measured.length ? r.measured : ['(nothing measured: every figure is modelled)'] },
    { kind: 'list', title: 'Modelled', items: r.modelled.length ? r.modelled : ['(nothing modelled)'] },
  ];
  out.push(...jobBlocks(r));
  if (r.gaps.length) {
    out.push({
      kind: 'table',
      title: 'Gaps',
      header: ['Device', 'From (UTC)', 'To (UTC)', 'Reason', 'Recovered (kWh)'],
      right: [4],
      rows: r.gaps.map((g) => [g.deviceId, formatUtc(g.startAt), formatUtc(g.endAt), g.reason,
        g.recoveredJoules === undefined ? '-' : sig(g.recoveredJoules / JOULES_PER_KWH, 4)]),
    });
  }
  if (r.restatement) {
    const { before, after } = r.restatement;
    out.push({
      kind: 'table',
      title: `Restatement (${formatUtc(r.restatement.createdAt)}, ${r.restatement.source})`,
      header: ['', 'gCO2e/kWh', 'CO2e location', 'CO2e market', 'Intensity source'],
      right: [1, 2, 3],
      rows: [
        ['as tracked', sig(before.avgGramsPerKwh, 3), formatCo2eKg(before.co2eLocationKg), formatCo2eKg(before.co2eMarketKg), before.intensitySource],
        ['restated', sig(after.avgGramsPerKwh, 3), formatCo2eKg(after.co2eLocationKg), formatCo2eKg(after.co2eMarketKg), after.intensitySource],
      ],
    });
  }
  if (r.counterfactuals?.length) {
    out.push({
      kind: 'table',
      title: 'The same energy elsewhere (annual averages)',
      header: ['Zone', 'Name', 'gCO2e/kWh', 'CO2e location', 'vs this run'],
      right: [2, 3, 4],
      rows: r.counterfactuals.map((c) => [c.zone, c.name ?? '', sig(c.avgGramsPerKwh, 3), formatCo2eKg(c.co2eLocationKg),
        r.co2e.locationKg > 0 ? `${sig(c.co2eLocationKg / r.co2e.locationKg, 2)}x` : '-']),
    });
  }
  if (r.hourly.length) out.push(hourlyBlock(r.hourly));
  if (r.powerSeries.length) {
    const first = r.powerSeries[0]!.at;
    const last = r.powerSeries.at(-1)!.at;
    out.push({
      kind: 'pre',
      title: 'Total IT power',
      text: `${asciiChart(r.powerSeries.map((p) => p.watts), { width: 60, height: 8, unit: 'W' })}\n` +
        `${formatUtc(first)} to ${formatUtc(last)}, ${r.powerSeries.length} points (${stepWords(r.powerSeries)} means); peak ${formatWatts(Math.max(...r.powerSeries.map((p) => p.watts)))}`,
    });
  }
  if (r.notes.length) out.push({ kind: 'list', title: 'Notes', items: r.notes });
  return out;
}

function hourlyBlock(hourly: ReportPeriod[]): Block {
  const row = (p: ReportPeriod): string[] => [formatUtc(p.startAt), sig(p.itKwh, 4), sig(p.facilityKwh, 4),
    sig(p.intensityGramsPerKwh, 3), sig(p.co2eLocationKg, 3), sig(p.co2eMarketKg, 3), `${p.source} (${p.quality})`];
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
  rows.push([`Total (${hourly.length} period${hourly.length === 1 ? '' : 's'})`, sig(sum((p) => p.itKwh), 4), sig(facilityKwh, 4),
    facilityKwh > 0 ? sig((locationKg * 1000) / facilityKwh, 3) : '-', sig(locationKg, 3), sig(sum((p) => p.co2eMarketKg), 3), '']);
  return {
    kind: 'table',
    title: 'By hour (UTC)',
    header: ['Period start (UTC)', 'IT kWh', 'Facility kWh', 'gCO2e/kWh', 'kgCO2e location', 'kgCO2e market', 'Intensity source'],
    right: [1, 2, 3, 4, 5],
    rows,
  };
}

/** renderTable is the terminal rendering: aligned plain-text columns. */
function renderTable(r: Report): string {
  const parts = [`wattprint report`];
  for (const b of blocks(r)) {
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
  for (const b of blocks(r)) {
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
