import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compareZones, parseZoneList } from '../../src/compare.js';
import { CsvInputError } from '../../src/intensity/csv-text.js';
import { replayTrace } from '../../src/replay.js';
import { parseTrace, type ParsedTrace } from '../../src/replay-parse.js';
import { renderReport } from '../../src/report/render.js';
import { setupCarbon, type CarbonFlags } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import type { ReportFormat } from '../session.js';
import { compareCli } from './carbon-commands.js';

/** ReplayFlags are the options of `wattprint replay`. */
export interface ReplayFlags extends CarbonFlags {
  runId?: string;
  interval?: number;
  format: ReportFormat;
  json?: boolean;
  compare?: string | true;
}

/**
 * replayCommand accounts a recorded trace with the live pipeline's integrator and accounting (see
 * src/replay.ts) and prints the same report `wattprint report` prints. Nothing is stored.
 */
export async function replayCommand(file: string, flags: ReplayFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const trace = readTrace(file);
  // Fetching sources are asked once, up front: a replay is usually of the past, which their history covers.
  const carbon = await setupCarbon(flags, { env, firstFetchMs: 20_000 });
  const fileName = basename(file);
  const { report, minutes } = replayTrace(trace, {
    runId: flags.runId ?? `replay-${fileName.replace(/\.[^.]*$/, '')}`, fileName, pue: carbon.pue, intensity: carbon.intensity,
    market: carbon.market, ...(carbon.zone ? { zone: carbon.zone } : {}), ...(flags.interval ? { intervalSeconds: flags.interval } : {}),
  });
  if (flags.compare !== undefined) {
    const zones = parseZoneList(typeof flags.compare === 'string' ? flags.compare : undefined);
    report.counterfactuals = compareCli(() => compareZones(minutes, zones, report.pue));
  }
  process.stdout.write(renderReport(report, flags.json ? 'json' : flags.format));
  return 0;
}

function readTrace(file: string): ParsedTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read trace ${file}: ${why}; give a CSV with a header 'timestamp,device,watts' or 'timestamp,device,joules_total'`);
  }
  try {
    return parseTrace(text, file);
  } catch (err) {
    if (err instanceof CsvInputError) throw new UsageError(err.message);
    throw err;
  }
}
