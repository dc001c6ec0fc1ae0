import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compareZones, parseZoneList } from '../../src/carbon/compare.js';
import { CsvInputError } from '../../src/intensity/csv-text.js';
import { replayTrace } from '../../src/sources/replay.js';
import { parseTrace, type ParsedTrace } from '../../src/sources/replay-parse.js';
import { renderReport } from '../../src/report/render.js';
import { setupCarbon, type CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import type { ReportFormat } from '../../src/report/render.js';
import { addCarbonOptions } from '../options.js';
import { positiveNumber } from '../parse.js';
import { addCompareOption, addFormatOption, addUkRegionOption, compareCli, type CommandContext } from './shared.js';

/** ReplayFlags are the options of `wattprint replay`. */
export interface ReplayFlags extends CarbonFlags {
  runId?: string;
  interval?: number;
  format: ReportFormat;
  json?: boolean;
  compare?: string | true;
  skipBadRows?: boolean;
}

/**
 * replayCommand accounts a recorded trace with the live pipeline's integrator and accounting (see
 * src/replay.ts) and prints the same report `wattprint report` prints. Nothing is stored.
 */
export async function replayCommand(file: string, flags: ReplayFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const trace = readTrace(file, flags.skipBadRows === true);
  // Fetching sources are asked once, up front: a replay is usually of the past, which their history covers.
  const carbon = await setupCarbon(flags, { env, firstFetchMs: 20_000 });
  const fileName = basename(file);
  const { report, minutes } = replayTrace(trace, {
    runId: flags.runId ?? `replay-${fileName.replace(/\.[^.]*$/, '')}`, fileName, pue: carbon.pue, intensity: carbon.intensity,
    market: carbon.market, ...(carbon.zone ? { zone: carbon.zone } : {}), ...(flags.interval ? { intervalSeconds: flags.interval } : {}),
  });
  if (trace.badRows) {
    const { count, first } = trace.badRows;
    report.notes.push(`${count} bad row${count === 1 ? '' : 's'} of ${fileName} left out (--skip-bad-rows); the first: ${first}`);
  }
  if (flags.compare !== undefined) {
    const zones = parseZoneList(typeof flags.compare === 'string' ? flags.compare : undefined);
    report.counterfactuals = compareCli(() => compareZones(minutes, zones, report.pue));
  }
  process.stdout.write(renderReport(report, flags.json ? 'json' : flags.format));
  return 0;
}

function readTrace(file: string, skipBadRows: boolean): ParsedTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read trace ${file}: ${why}; give a CSV with a header 'timestamp,device,watts' or 'timestamp,device,joules_total'`);
  }
  try {
    return parseTrace(text, file, { skipBadRows });
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
    .option('--interval <seconds>', 'poll interval of the trace for the gap rule (default: each device\'s own median spacing)', positiveNumber('--interval')))
    .option('--json', 'JSON output (same as --format json)')
    .option('--skip-bad-rows', 'leave out malformed rows (counted in the report\'s notes) instead of stopping at the first');
  addUkRegionOption(addCompareOption(addCarbonOptions(replay)))
    .action(async (file: string, opts) => done(await replayCommand(file, opts, env)));
}
