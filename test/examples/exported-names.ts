import { buildCli } from '../../agent/cli.js';
import { metricFamilyNames, renderMetricsOnce } from '../../src/exporters/metrics.js';
import { sampleSnapshot } from '../exporters/snapshots.js';

/** commandFlags lists the long options the real CLI defines for a command (and its --no-* forms). */
export async function commandFlags(name: string): Promise<Set<string>> {
  const command = (await buildCli({}, () => undefined)).commands.find((c) => c.name() === name);
  if (!command) throw new Error(`no command ${name}`);
  return new Set(command.options.map((o) => o.long).filter((l): l is string => l !== undefined));
}

/** AGENT_FLAGS are the `wattprint agent` options; examples may use only these. */
export const AGENT_FLAGS = await commandFlags('agent');
/** REPORT_FLAGS are the `wattprint report` options. */
export const REPORT_FLAGS = await commandFlags('report');

/**
 * exportedMetricNames renders the real registry from a sample snapshot with every optional part present
 * (projection, a shared node's jobs, collectors, server stats) and returns the family names with the series suffixes Prometheus sees.
 */
export async function exportedMetricNames(): Promise<Set<string>> {
  const snapshot = sampleSnapshot({ tick: 5, projected: { fraction: 0.5, energyJoules: 10, co2eGrams: 1, source: 'api' }, jobs: [{ id: 'slurm-1', share: 0.5 }] });
  const text = await renderMetricsOnce(snapshot, { serverStats: () => ({ wsClients: 1, wsDroppedClientsTotal: 0 }) });
  return new Set(metricFamilyNames(text));
}

/** metricNamesIn returns the wattprint_* metric names a PromQL expression uses (recording-rule names aside). */
export function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\bwattprint_[a-zA-Z0-9_]*/g)].map((m) => m[0]);
}
