import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { TRAINING_TYPES } from '../../src/report/render-model-card.js';
import { VERSION } from '../version.js';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/types.js';
import { restatedReport, restateMinutes, storedFacts, type Restatement } from '../../src/sources/restate.js';
import { restatementSource } from '../../src/report/fallbacks.js';
import { rawSamples, samplesCsv } from '../../src/store/samples-export.js';
import type { RunRow } from '../../src/store/rows.js';
import type { Store } from '../../src/store/store.js';
import type { CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import { isWritable, openStoreForReading } from '../open-store.js';
import { nonNegativeNumber } from '../parse.js';
import { waitForRunEnd } from '../wait-run.js';
import type { ReportFormat } from '../../src/report/render.js';
import { addCarbonOptions, addDbOption, addEmbodiedOptions, defaultDbPath, embodiedSettings, type EmbodiedFlags } from '../options.js';
import { embodiedEmissions } from '../../src/carbon/embodied.js';
import { addCompareOption, addFormatOption, addUkRegionOption, compareCli, type CommandContext } from './shared.js';

/** ReportFlags are the options of `wattprint report`. */
export interface ReportFlags extends CarbonFlags, EmbodiedFlags {
  db: string;
  format: ReportFormat;
  restate?: boolean;
  /** For --format model-card: pre-training or fine-tuning. */
  trainingType?: string;
  compare?: string | true;
  /** Print the run's raw samples instead of its report (the only format: csv). */
  samples?: 'csv';
  /** Wait at most this many seconds for a running run to be closed (a node agent's job, from a SLURM epilog). */
  wait?: number;
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
  // A restatement is stored next to the tracked figures, so --restate writes; say so before any work.
  if (flags.restate && existsSync(flags.db) && !isWritable(flags.db)) throw readOnlyRestate(flags.db);
  const store = openStoreForReading(flags.db);
  try {
    if (flags.wait !== undefined && runId) await waitForRunEnd(store, runId, flags.wait);
    const run = findRunOrThrow(store, runId);
    if (flags.samples) return printSamples(store, run);
    const series = { fullSeries: flags.fullSeries ?? false };
    let report: Report;
    if (flags.restate) {
      const restatement = await restateRun(store, run, flags, env);
      try {
        store.saveRestatement(run.runKey, restatement);
      } catch (err) {
        if (/^SQLITE_(READONLY|CANTOPEN|PERM)/.test(String((err as { code?: string }).code))) throw readOnlyRestate(flags.db);
        throw err;
      }
      report = restatedReport(store, run, restatement, [], series);
    } else {
      const latest = store.latestRestatement(run.runKey);
      report = latest ? restatedReport(store, run, latest, [], series) : loadReport(store, run, [], series);
    }
    // --embodied-kg / --lifetime-years on a report: shown with these figures, the run's stored ones unchanged.
    const embodied = embodiedSettings(flags);
    if (embodied) report.embodied = embodiedEmissions(report.energy.byDevice, report.durationSeconds / 3600, embodied);
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

/** printSamples writes a run's raw samples as CSV (see src/store/samples-export.ts). */
function printSamples(store: Store, run: RunRow): number {
  const samples = rawSamples(store.db, run.runKey);
  if (samples.length === 0) {
    throw new UsageError(`run ${run.runId} has no raw samples stored: they are kept for the last --sample-retention seconds of a run (600 by default); per-minute energy is in --format csv`);
  }
  process.stdout.write(samplesCsv(samples));
  return 0;
}

function readOnlyRestate(path: string): UsageError {
  return new UsageError(`cannot restate: database ${path} is read-only to you, and --restate stores the new figures in it; ` +
    'run it with write access, or leave out --restate to read the run as it is');
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
  // A fetching source is asked again (a restatement is for revised figures) for the run's own span, from its
  // history endpoint, not for "now".
  const span = { fromMs: run.startedAtMs, toMs: run.endedAtMs ?? run.lastTickMs, refetch: true };
  const { setupCarbon } = await import('../carbon-setup.js');
  const carbon = await setupCarbon(carbonFlags, { env, cache: store.intensityCache(), firstFetchMs: 20_000, span });
  const hasMarket = flags.marketIntensity !== undefined || flags.cfe !== undefined || flags.residualMix !== undefined;
  const pue = flags.pue !== undefined ? carbon.pue : { value: run.pue, source: run.pueSource };
  const after = restateMinutes(store.minutesOf(run.runKey), {
    pue: pue.value, pueSource: pue.source, market: hasMarket ? carbon.market : run.market, intensity: carbon.intensity,
    ...(carbon.zone ?? run.zone ? { zone: carbon.zone ?? run.zone } : {}),
  });
  const previous = store.latestRestatement(run.runKey);
  return { createdAtMs: Date.now(), source: restatementSource(carbon.source, after.periods), before: previous?.after ?? storedFacts(store, run), after };
}

/** register adds `wattprint report`. */
export function register(program: Command, { env, done }: CommandContext): void {
  const report = addFormatOption(addDbOption(program.command('report').description('print a stored run\'s report (the latest by default); --restate recomputes its CO2e with new intensity data').argument('[run-id]')))
    .addOption(new Option('--training-type <type>', 'for --format model-card: pre-training or fine-tuning (default: the run\'s training_type label)').choices(TRAINING_TYPES))
    .addOption(new Option('--wait <seconds>', 'wait at most this long for the run to be closed by its tracker (a node agent closes a job\'s run a tick or two after the job ends: SLURM epilogs)')
      .argParser(nonNegativeNumber('--wait')))
    .option('--full-series', 'chart every stored step (each tick while raw samples are kept, else each minute) instead of ~120 points')
    .option('--restate', 'recompute CO2e from the stored per-minute energy with the intensity given (--intensity-file, --zone, --intensity, --intensity-source), keeping both')
    .option('--prometheus <url>', 'build the job-level report of a multi-node run from this Prometheus (one agent per node, same run id)')
    .option('--run-id <id>', 'with --prometheus: the run id (also accepted as the argument)')
    .addOption(new Option('--samples <format>', 'print the run\'s raw samples (timestamp,device,kind,watts,joules_total) instead of its report').choices(['csv']));
  addUkRegionOption(addCompareOption(addEmbodiedOptions(addCarbonOptions(report))))
    .action(async (runId: string | undefined, opts) => {
      if (opts.prometheus && opts.samples) throw new UsageError('--samples reads the local database: it cannot be combined with --prometheus');
      if (opts.prometheus) {
        const { reportPrometheusCommand } = await import('./report-prometheus.js');
        return done(await reportPrometheusCommand({ prometheus: opts.prometheus, runId: opts.runId ?? runId, format: opts.format }));
      }
      done(await reportCommand(runId, { ...opts, db: opts.db ?? defaultDbPath(env) }, env));
    });

}
