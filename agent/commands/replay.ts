import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compareZones, parseZoneList } from '../../src/carbon/compare.js';
import { CsvInputError } from '../../src/intensity/csv-text.js';
import { replayTrace } from '../../src/sources/replay.js';
import { parseTrace, type ParsedTrace } from '../../src/sources/replay-parse.js';
import { renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/types.js';
import { reportFormatForPath } from '../session.js';
import { setupCarbon, type CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import type { ReportFormat } from '../../src/report/render.js';
import { addCarbonOptions, addEmbodiedOptions, defaultDbPath, embodiedSettings, type EmbodiedFlags } from '../options.js';
import { embodiedEmissions } from '../../src/carbon/embodied.js';
import { positiveNumber } from '../parse.js';
import { addCompareOption, addFormatOption, addUkRegionOption, compareCli, type CommandContext } from './shared.js';

/** ReplayFlags are the options of `wattprint replay`. */
export interface ReplayFlags extends CarbonFlags, EmbodiedFlags {
  runId?: string;
  interval?: number;
  format: ReportFormat;
  json?: boolean;
  compare?: string | true;
  /** The counters' range in joules (they wrap to 0 after it), for points without a max_joules cell. */
  counterRange?: number;
  /** Also write the report here, in the format its extension names (.json, .md, .csv, else text). */
  reportFile?: string;
  skipBadRows?: boolean;
}

/**
 * replayCommand accounts a recorded trace with the live pipeline's integrator and accounting (see
 * src/replay.ts) and prints the same report `wattprint report` prints. Nothing is stored.
 */
export async function replayCommand(file: string, flags: ReplayFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const trace = readTrace(file, flags.skipBadRows === true, flags.counterRange);
  // Fetching sources are asked for the trace's own span, from their history endpoints: a replay is usually
  // of the past. Fetched periods are cached in the default database when there is one.
  const dbPath = existsSync(defaultDbPath(env)) ? defaultDbPath(env) : undefined;
  const carbon = await setupCarbon(flags, { env, firstFetchMs: 20_000, span: traceSpan(trace), ...(dbPath ? { dbPath } : {}) });
  const fileName = basename(file);
  const { report, minutes } = replayTrace(trace, {
    runId: flags.runId ?? `replay-${fileName.replace(/\.[^.]*$/, '')}`, fileName, pue: carbon.pue, intensity: carbon.intensity,
    market: carbon.market, ...(carbon.zone ? { zone: carbon.zone } : {}), ...(flags.interval ? { intervalSeconds: flags.interval } : {}),
  });
  const embodied = embodiedSettings(flags);
  if (embodied) report.embodied = embodiedEmissions(report.energy.byDevice, report.durationSeconds / 3600, embodied);
  if (trace.badRows) {
    const { count, first } = trace.badRows;
    report.notes.push(`${count} bad row${count === 1 ? '' : 's'} of ${fileName} left out (--skip-bad-rows); the first: ${first}`);
  }
  if (flags.compare !== undefined) {
    const zones = parseZoneList(typeof flags.compare === 'string' ? flags.compare : undefined);
    report.counterfactuals = compareCli(() => compareZones(minutes, zones, report.pue));
  }
  if (flags.reportFile) writeReportFile(flags.reportFile, report);
  process.stdout.write(renderReport(report, flags.json ? 'json' : flags.format));
  return 0;
}

/** traceSpan is [first reading, last reading] over all devices (ms, UTC). */
function traceSpan(trace: ParsedTrace): { fromMs: number; toMs: number } {
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const points of trace.series.values()) {
    if (points.length === 0) continue;
    fromMs = Math.min(fromMs, points[0]!.tMs);
    toMs = Math.max(toMs, points.at(-1)!.tMs);
  }
  return { fromMs, toMs };
}

/** writeReportFile writes the report as `run --report-file` does: the format follows the file's extension. */
function writeReportFile(path: string, report: Report): void {
  try {
    writeFileSync(path, renderReport(report, reportFormatForPath(path)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new UsageError(`cannot write --report-file ${path}: ${why}; pass a writable path`);
  }
}

function readTrace(file: string, skipBadRows: boolean, counterRangeJoules?: number): ParsedTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read trace ${file}: ${why}; give a CSV with a header 'timestamp,device,watts' or 'timestamp,device,joules_total'`);
  }
  try {
    return parseTrace(text, file, { skipBadRows, ...(counterRangeJoules !== undefined ? { counterRangeJoules } : {}) });
  } catch (err) {
    if (!(err instanceof CsvInputError)) throw err;
    // A bad row (it has a column) can be left out; a bad header cannot.
    const hint = !skipBadRows && err.columnNumber !== undefined ? ' (or pass --skip-bad-rows to leave such rows out)' : '';
    throw new UsageError(`${err.message}${hint}`);
  }
}

/** register adds `wattprint replay`. */
export function register(program: Command, { env, done }: CommandContext): void {
  const replay = addFormatOption(program.command('replay')
    .description('account a recorded power trace (CSV timestamp,device,watts|joules_total, or a Prometheus export) and print its report')
    .argument('<file>', 'the trace')
    .option('--run-id <id>', 'name of the replayed run in the report (default: replay-FILE)')
    .option('--interval <seconds>', 'poll interval of the trace for the gap rule (default: each device\'s own median spacing)', positiveNumber('--interval'))
    .option('--counter-range <joules>', 'range of the trace\'s energy counters (they wrap to 0 after it; a max_joules column does the same per row)', positiveNumber('--counter-range')))
    .option('--json', 'JSON output (same as --format json)')
    .option('--report-file <path>', 'also write the report here (.json, .md, .csv, else text)')
    .option('--skip-bad-rows', 'leave out malformed rows (counted in the report\'s notes) instead of stopping at the first');
  addUkRegionOption(addCompareOption(addEmbodiedOptions(addCarbonOptions(replay))))
    .action(async (file: string, opts) => done(await replayCommand(file, opts, env)));
}
