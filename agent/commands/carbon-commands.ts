import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { addCarbonOptions, addDbOption, envName } from '../options.js';
import { positiveNumber } from '../parse.js';
import { forecastCommand } from './forecast.js';
import { replayCommand } from './replay.js';

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

const FORMATS = ['table', 'markdown', 'json', 'csv'];

/** registerCarbonCommands adds `replay` and `forecast` to the CLI. */
export function registerCarbonCommands(program: Command, env: NodeJS.ProcessEnv, done: (code: number) => void): void {
  const replay = program.command('replay')
    .description('account a recorded power trace (CSV timestamp,device,watts|joules_total, or a Prometheus export) and print its report')
    .argument('<file>', 'the trace')
    .option('--run-id <id>', 'name of the replayed run in the report (default: replay-FILE)')
    .option('--interval <seconds>', 'poll interval of the trace for the gap rule (default: its median spacing)', positiveNumber('--interval'))
    .addOption(new Option('--format <format>', 'table|markdown|json|csv').choices(FORMATS).default('table'))
    .option('--json', 'JSON output (same as --format json)');
  addUkRegionOption(addCompareOption(addCarbonOptions(replay)))
    .action(async (file: string, opts) => done(await replayCommand(file, opts, env)));

  const forecast = program.command('forecast')
    .description('the lowest-carbon start window for a job of H hours within the intensity forecast')
    .option('--zone <zone>', 'grid zone (GB uses the free UK API; others need --intensity-source electricitymaps or a file)')
    .option('--hours <h>', 'job length in hours', positiveNumber('--hours'), 1)
    .addOption(new Option('--intensity-source <name>', 'uk|electricitymaps|watttime|csv').env(envName('--intensity-source')))
    .addOption(new Option('--intensity-file <path>', 'hourly intensity CSV to plan on').env(envName('--intensity-file')))
    .addOption(new Option('--intensity-url <url>', 'override the provider\'s base URL').env(envName('--intensity-url')))
    .addOption(new Option('--emission-factor <kind>', 'lifecycle|direct').choices(['lifecycle', 'direct']).default('lifecycle'))
    .addOption(new Option('--now <time>', 'plan as if it were this ISO 8601 time (for files of past data)'))
    .option('--json', 'JSON output');
  addUkRegionOption(addDbOption(forecast))
    .action(async (opts) => done(await forecastCommand(opts, env)));
}
