import { Option, type Command } from 'commander';
import { TRAINING_TYPES } from '../../src/report/render-model-card.js';
import { VERSION } from '../version.js';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/types.js';
import { restatedReport, restateMinutes, storedFacts, type Restatement } from '../../src/sources/restate.js';
import type { RunRow } from '../../src/store/rows.js';
import type { Store } from '../../src/store/store.js';
import type { CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import { openStoreForReading } from '../open-store.js';
import type { ReportFormat } from '../../src/report/render.js';
import { addCarbonOptions, addDbOption, defaultDbPath } from '../options.js';
import { addCompareOption, addFormatOption, addUkRegionOption, compareCli, type CommandContext } from './shared.js';

/** ReportFlags are the options of `wattprint report`. */
export interface ReportFlags extends CarbonFlags {
  db: string;
  format: ReportFormat;
  restate?: boolean;
  /** For --format model-card: pre-training or fine-tuning. */
  trainingType?: string;
  compare?: string | true;
  /** Chart every stored step instead of ~120 points. */
  fullSeries?: boolean;
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
    const series = { fullSeries: flags.fullSeries ?? false };
    let report: Report;
    if (flags.restate) {
      const restatement = await restateRun(store, run, flags, env);
      store.saveRestatement(run.runKey, restatement);
      report = restatedReport(store, run, restatement, [], series);
    } else {
      const latest = store.latestRestatement(run.runKey);
      report = latest ? restatedReport(store, run, latest, [], series) : loadReport(store, run, [], series);
    }
    if (flags.compare !== undefined) {
      // The zone table (and its data) is loaded only when a report compares or restates.
      const { compareZones, parseZoneList } = await import('../../src/carbon/compare.js');
      report.counterfactuals = compareCli(() => compareZones(store.minutesOf(run.runKey), parseZoneList(compareList(flags.compare)), report.pue));
    }
    process.stdout.write(renderReport(report, flags.format, { trainingType: flags.trainingType, version: VERSION }));
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
  const { setupCarbon } = await import('../carbon-setup.js');
  const carbon = await setupCarbon(carbonFlags, { env, cache: store.intensityCache(), firstFetchMs: 20_000 });
  const hasMarket = flags.marketIntensity !== undefined || flags.cfe !== undefined;
  const pue = flags.pue !== undefined ? carbon.pue : { value: run.pue, source: run.pueSource };
  const after = restateMinutes(store.minutesOf(run.runKey), {
    pue: pue.value, pueSource: pue.source, market: hasMarket ? carbon.market : run.market, intensity: carbon.intensity,
    ...(carbon.zone ?? run.zone ? { zone: carbon.zone ?? run.zone } : {}),
  });
  const previous = store.latestRestatement(run.runKey);
  return { createdAtMs: Date.now(), source: carbon.source, before: previous?.after ?? storedFacts(store, run), after };
}

/** register adds `wattprint report`. */
export function register(program: Command, { env, done }: CommandContext): void {
  const report = addFormatOption(addDbOption(program.command('report').description('print a stored run\'s report (the latest by default); --restate recomputes its CO2e with new intensity data').argument('[run-id]')))
    .addOption(new Option('--training-type <type>', 'for --format model-card: pre-training or fine-tuning (default: the run\'s training_type label)').choices(TRAINING_TYPES))
    .option('--full-series', 'chart every stored step (each tick while raw samples are kept, else each minute) instead of ~120 points')
    .option('--restate', 'recompute CO2e from the stored per-minute energy with the intensity given (--intensity-file, --zone, --intensity, --intensity-source), keeping both')
    .option('--prometheus <url>', 'build the job-level report of a multi-node run from this Prometheus (one agent per node, same run id)')
    .option('--run-id <id>', 'with --prometheus: the run id (also accepted as the argument)');
  addUkRegionOption(addCompareOption(addCarbonOptions(report)))
    .action(async (runId: string | undefined, opts) => {
      if (opts.prometheus) {
        const { reportPrometheusCommand } = await import('./report-prometheus.js');
        return done(await reportPrometheusCommand({ prometheus: opts.prometheus, runId: opts.runId ?? runId, format: opts.format }));
      }
      done(await reportCommand(runId, { ...opts, db: opts.db ?? defaultDbPath(env) }, env));
    });

}
