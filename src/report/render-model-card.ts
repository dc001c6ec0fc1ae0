import { formatCo2eKg, formatKwh, formatPue, sig } from './format.js';
import { efficiencyWords, workWords } from './render-job.js';
import type { Report } from './types.js';

/** TRAINING_TYPES are the Hugging Face model-card values of co2_eq_emissions.training_type. */
export const TRAINING_TYPES = ['pre-training', 'fine-tuning'] as const;

/** ModelCardOptions: what the run itself does not know. */
export interface ModelCardOptions {
  /** 'pre-training' or 'fine-tuning' (default: the run's `training_type` label, else omitted). */
  trainingType?: string;
  /** wattprint's version, named in `source`. */
  version: string;
}

/**
 * renderModelCard prints Hugging Face model-card metadata (YAML front matter with `co2_eq_emissions`:
 * emissions in grams CO2e, location-based; source; training_type; geographical_location; hardware_used),
 * then a Markdown "Environmental impact" section with the Table 4 row, the phases and the efficiency.
 */
export function renderModelCard(r: Report, opts: ModelCardOptions): string {
  const d = r.disclosure;
  const trainingType = opts.trainingType ?? r.labels.training_type;
  const location = r.labels.region ?? r.intensity.zone ?? 'unknown';
  const chips = d.count > 0 ? `${d.count} x ${d.processor}` : d.processor;
  const source = `wattprint ${opts.version}: measured energy (${methods(r)}) x PUE ${formatPue(r.pue)} x grid intensity (${r.intensity.source})`;
  const yaml = [
    '---',
    'co2_eq_emissions:',
    `  emissions: ${Number((r.co2e.locationKg * 1000).toPrecision(6))}`,
    `  source: ${quote(source)}`,
    ...(trainingType ? [`  training_type: ${quote(trainingType)}`] : []),
    `  geographical_location: ${quote(location)}`,
    `  hardware_used: ${quote(chips)}`,
    '---',
  ];
  const md = [
    '',
    '## Environmental impact',
    '',
    `Training run \`${r.runId}\` (${r.startedAt} to ${r.endedAt}) drew ${formatKwh(r.energy.itKwh)} of IT energy, ` +
      `${formatKwh(r.energy.facilityKwh)} at the facility (PUE ${formatPue(r.pue)}, ${r.pueSource}), and emitted ` +
      `${formatCo2eKg(r.co2e.locationKg)} CO2e location-based (${formatCo2eKg(r.co2e.marketKg)} market-based: ${r.intensity.marketBasis}), ` +
      `measured by wattprint in the disclosure form of Patterson et al. 2021, Table 4:`,
    '',
    '| Processor | Chips | Avg system W per chip | Hours | MWh | PUE | kgCO2e/kWh | Gross tCO2e | Net tCO2e |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${d.processor} | ${d.count} | ${sig(d.avgWattsPerAccelerator, 3)} | ${sig(d.hours, 4)} | ${sci(d.mwh)} | ${formatPue(d.pue)} | ${sig(d.kgCo2ePerKwh, 3)} | ${sci(d.tCo2e)} | ${sci(d.tCo2eMarket)} |`,
  ];
  if (r.phasesByName?.length) {
    md.push('', '| Phase | Windows | IT energy | CO2e | Work | Efficiency |', '|---|---:|---:|---:|---|---|');
    for (const p of r.phasesByName) {
      md.push(`| ${p.name} | ${p.windows} | ${formatKwh(p.itKwh)} | ${formatCo2eKg(p.co2eLocationKg)} | ${workWords(p.work)} | ${efficiencyWords(p.efficiency)} |`);
    }
  }
  if (r.work) md.push('', `Work: ${workWords(r.work)}. Efficiency: ${efficiencyWords(r.efficiency)}.`);
  if (r.modelled.length) md.push('', `Modelled rather than measured: ${r.modelled.join('; ')}.`);
  return `${[...yaml, ...md].join('\n')}\n`;
}

function methods(r: Report): string {
  const byMethod = new Map<string, number>();
  for (const d of r.energy.byDevice) byMethod.set(d.method, (byMethod.get(d.method) ?? 0) + 1);
  return [...byMethod].map(([m, n]) => `${n} ${m}`).join(', ');
}

/** quote writes a YAML double-quoted scalar (JSON strings are valid YAML double-quoted scalars). */
function quote(text: string): string {
  return JSON.stringify(text);
}

/** sci keeps the paper's units but switches to scientific notation below 0.001. */
function sci(x: number): string {
  return x !== 0 && Math.abs(x) < 0.001 ? x.toExponential(2) : sig(x, 3);
}
