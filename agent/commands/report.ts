import { Option, type Command } from 'commander';
import { reportPrometheusCommand } from './report-prometheus.js';
import { compareZones, parseZoneList } from '../../src/compare.js';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/types.js';
import { latestRestatement, restatedReport, restateMinutes, saveRestatement, storedFacts, type Restatement } from '../../src/restate.js';
import { minutesOf } from '../../src/store/queries.js';
import type { RunRow } from '../../src/store/rows.js';
import type { Store } from '../../src/store/store.js';
import { joulesToKwh } from '../../src/units.js';
import { setupCarbon, type CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import { openStoreForReading } from '../open-store.js';
import { formatCo2eKg, formatDuration, formatKwh } from '../../src/report/format.js';
import type { ReportFormat } from '../session.js';
import { addCarbonOptions, addDbOption, defaultDbPath } from '../options.js';
import { addCompareOption, addUkRegionOption, compareCli } from './carbon-commands.js';

/** ReportFlags are the options of `wattprint report`. */
export interface ReportFlags extends CarbonFlags {
  db: string;
  format: ReportFormat;
  restate?: boolean;
  compare?: string | true;
}

const FETCHING_SOURCES = ['electricitymaps', 'uk', 'watttime'];

/** findRunOrThrow returns a stored run, the latest when no id is given, or a usage error naming the fix. */
export function findRunOrThrow(store: Store, runId: string | undefined): RunRow {
  const run = runId ? store.findRun(runId) : store.latestRun();
  if (!run) {
    throw new UsageError(runId ? `unknown run '${runId}': \`wattprint runs\` lists the stored runs` : `no runs stored in ${store.path} yet: track one with \`wattprint run -- CMD\``);
  }
  return run;
}

/**
 * reportCommand prints a stored run's report to stdout: as tracked, or under its latest restatement;
 * --restate recomputes and stores a new restatement first; --compare adds counterfactual zones.
 */
export async function reportCommand(runId: string | undefined, flags: ReportFlags, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const store = openStoreForReading(flags.db);
  try {
    const run = findRunOrThrow(store, runId);
    let report: Report;
    if (flags.restate) {
      const restatement = await restateRun(store, run, flags, env);
      saveRestatement(store.db, run.runKey, restatement);
      report = restatedReport(store, run, restatement);
    } else {
      const latest = latestRestatement(store.db, run.runKey);
      report = latest ? restatedReport(store, run, latest) : loadReport(store, run);
    }
    if (flags.compare !== undefined) {
      report.counterfactuals = compareCli(() => compareZones(minutesOf(store.db, run.runKey), parseZoneList(compareList(flags.compare)), report.pue));
    }
    process.stdout.write(renderReport(report, flags.format));
    return 0;
  } finally {
    store.close();
  }
}

function compareList(compare: string | true | undefined): string | undefined {
  return typeof compare === 'string' ? compare : undefined;
}

/**
 * restateRun recomputes a run's CO2e from its stored per-minute energy with the new intensity (and, when
 * given, PUE or market instruments); without new intensity flags a fetching source is asked again, since
 * its actuals replace the forecasts the run was tracked with.
 */
async function restateRun(store: Store, run: RunRow, flags: ReportFlags, env: NodeJS.ProcessEnv): Promise<Restatement> {
  const hasIntensity = flags.intensityFile !== undefined || flags.zone !== undefined || flags.intensity !== undefined || flags.intensitySource !== undefined;
  let carbonFlags: CarbonFlags = flags;
  if (!hasIntensity) {
    if (!FETCHING_SOURCES.includes(run.intensitySource)) {
      throw new UsageError(`--restate needs the new intensity data: --intensity-file F, --zone Z, --intensity G or --intensity-source S (run ${run.runId} was tracked with ${run.intensitySource})`);
    }
    carbonFlags = { ...flags, intensitySource: run.intensitySource, ...(run.zone ? { zone: run.zone } : {}) };
  }
  const carbon = await setupCarbon(carbonFlags, { env, db: store.db, firstFetchMs: 20_000 });
  const hasMarket = flags.marketIntensity !== undefined || flags.cfe !== undefined;
  const pue = flags.pue !== undefined ? carbon.pue : { value: run.pue, source: run.pueSource };
  const after = restateMinutes(minutesOf(store.db, run.runKey), {
    pue: pue.value, pueSource: pue.source, market: hasMarket ? carbon.market : run.market, intensity: carbon.intensity,
    ...(carbon.zone ?? run.zone ? { zone: carbon.zone ?? run.zone } : {}),
  });
  const previous = latestRestatement(store.db, run.runKey);
  return { createdAtMs: Date.now(), source: carbon.source, before: previous?.after ?? storedFacts(store.db, run), after };
}

/** runsCommand lists stored runs, newest first. */
export function runsCommand(flags: { db: string; json?: boolean }): number {
  const store = openStoreForReading(flags.db);
  try {
    const rows = store.listRuns().map((run) => {
      const itJoules = store.devicesOf(run.runKey).reduce((s, d) => s + d.energyJoules, 0);
      const endMs = run.endedAtMs ?? run.lastTickMs;
      return {
        runId: run.runId, status: run.status, startedAt: new Date(run.startedAtMs).toISOString(), endedAt: new Date(endMs).toISOString(),
        durationSeconds: (endMs - run.startedAtMs) / 1000, itKwh: joulesToKwh(itJoules), facilityKwh: joulesToKwh(store.facilityJoulesOf(run.runKey)),
        co2eLocationKg: run.co2eLocationGrams / 1000, co2eMarketKg: run.co2eMarketGrams / 1000, command: run.command ?? null, labels: run.labels,
        exitCode: run.exitCode ?? null,
      };
    });
    if (flags.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write(`no runs in ${store.path}\n`);
      return 0;
    }
    const table = [['RUN ID', 'STATUS', 'EXIT', 'STARTED (UTC)', 'DURATION', 'FACILITY ENERGY', 'CO2e', 'COMMAND']];
    for (const r of rows) {
      table.push([r.runId, r.status, r.exitCode === null ? '-' : String(r.exitCode), r.startedAt.replace('T', ' ').slice(0, 19),
        formatDuration(r.durationSeconds), formatKwh(r.facilityKwh), formatCo2eKg(r.co2eLocationKg), (r.command ?? 'agent').slice(0, 40)]);
    }
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    process.stdout.write(table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    return 0;
  } finally {
    store.close();
  }
}

/** registerReportCommands adds `report` and `runs` to the CLI. */
export function registerReportCommands(program: Command, env: NodeJS.ProcessEnv, done: (code: number) => void): void {
  const report = addDbOption(program.command('report').description('print a stored run\'s report (the latest by default); --restate recomputes its CO2e with new intensity data').argument('[run-id]'))
    .addOption(new Option('--format <format>', 'table|markdown|json|csv').choices(['table', 'markdown', 'json', 'csv']).default('table'))
    .option('--restate', 'recompute CO2e from the stored per-minute energy with the intensity given (--intensity-file, --zone, --intensity, --intensity-source), keeping both')
    .option('--prometheus <url>', 'build the job-level report of a multi-node run from this Prometheus (one agent per node, same run id)')
    .option('--run-id <id>', 'with --prometheus: the run id (also accepted as the argument)');
  addUkRegionOption(addCompareOption(addCarbonOptions(report)))
    .action(async (runId: string | undefined, opts) => {
      if (opts.prometheus) return done(await reportPrometheusCommand({ prometheus: opts.prometheus, runId: opts.runId ?? runId, format: opts.format }));
      done(await reportCommand(runId, { ...opts, db: opts.db ?? defaultDbPath(env) }, env));
    });

  addDbOption(program.command('runs').description('list stored runs, newest first'))
    .option('--json', 'JSON output')
    .action((opts) => done(runsCommand({ db: opts.db ?? defaultDbPath(env), json: opts.json })));
}
