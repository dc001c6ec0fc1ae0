import { Option, type Command } from 'commander';
import type { ReportFormat } from '../../src/report/render.js';
import { UsageError } from '../errors.js';
import { envName } from '../options.js';
import { positiveNumber } from '../parse.js';

/** CommandContext is what every command's registration gets: the environment and the exit-code sink. */
export interface CommandContext {
  env: NodeJS.ProcessEnv;
  done: (code: number) => void;
}

/** REPORT_FORMATS are the renderings every report-printing command offers. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'markdown', 'json', 'csv', 'model-card'];

/** addFormatOption adds --format table|markdown|json|csv (default table). */
export function addFormatOption(cmd: Command): Command {
  return cmd.addOption(new Option('--format <format>', REPORT_FORMATS.join('|')).choices(REPORT_FORMATS).default('table'));
}

/** addUkRegionOption adds --uk-region (env WATTPRINT_UK_REGION) unless the command already has it. */
export function addUkRegionOption(cmd: Command): Command {
  if (cmd.options.some((o) => o.long === '--uk-region')) return cmd;
  return cmd.addOption(new Option('--uk-region <n>', 'carbonintensity.org.uk region 1..17 for --intensity-source uk (13 is London; default: national)')
    .env(envName('--uk-region')).argParser(positiveNumber('--uk-region')));
}

/** addCompareOption adds --compare [zones]: without a list, a default spread of low- and high-carbon zones. */
export function addCompareOption(cmd: Command): Command {
  return cmd.option('--compare [zones]', 'also account the same energy in these zones, comma-separated (default: NO,FR,GB,US-CAL-CISO,DE,US,IN,ZA)');
}

/** compareCli turns an unknown --compare zone into a usage error naming close matches. */
export function compareCli<T>(compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
