import { Command, CommanderError } from 'commander';
import { agentCommand } from './commands/agent.js';
import { doctorCommand } from './commands/doctor.js';
import { estimateCommand } from './commands/estimate.js';
import { registerReportCommands } from './commands/report.js';
import { registerCarbonCommands } from './commands/carbon-commands.js';
import { zonesCommand } from './commands/zones.js';
import { runCommand } from './commands/run.js';
import { applyConfigFile } from './config.js';
import { addCarbonOptions, addHardwareOptions, addTrackingOptions } from './options.js';
import { nonNegativeNumber, positiveNumber } from './parse.js';
import type { TrackingFlags } from './session.js';

/** buildCli defines every command; actions set the exit code through `done`. */
export function buildCli(env: NodeJS.ProcessEnv, done: (code: number) => void): Command {
  const program = new Command('wattprint')
    .description('Live energy and carbon tracking for ML training runs: measured energy × PUE × hourly grid intensity.')
    .version(VERSION)
    .enablePositionalOptions()
    // Set before the commands are added, which copy it: every usage error is one 'wattprint: …' line.
    .configureOutput({ writeErr: (text) => process.stderr.write(oneLine(text)) })
    .exitOverride();

  const trackingFlags = (cmd: Command): TrackingFlags => {
    const config = cmd.opts().config as string | undefined;
    if (config) applyConfigFile(cmd, config);
    return { ...cmd.opts(), listenIsDefault: cmd.getOptionValueSource('listen') === 'default' } as TrackingFlags;
  };

  addTrackingOptions(program.command('run').description('run a command and track it from start to exit; prints the report to stderr')
    .usage('[options] -- <command> [args...]').argument('<command...>', 'the command and its arguments').passThroughOptions())
    .action(async (argv: string[], _opts, cmd: Command) => done(await runCommand(argv, trackingFlags(cmd), env)));

  addTrackingOptions(program.command('agent').description('track this node until SIGINT/SIGTERM (daemon per node), then print the report'))
    .action(async (_opts, cmd: Command) => done(await agentCommand(trackingFlags(cmd), env)));

  registerReportCommands(program, env, done);
  registerCarbonCommands(program, env, done);

  program.command('estimate').description('the paper\'s calculator without measurement: accelerators × watts × time × PUE × intensity')
    .requiredOption('--accelerators <n>', 'number of accelerators (chips)', positiveNumber('--accelerators'))
    .requiredOption('--watts <w>', 'average system power per accelerator, watts', positiveNumber('--watts'))
    .option('--hours <h>', 'training time in hours', positiveNumber('--hours'))
    .option('--days <d>', 'training time in days', positiveNumber('--days'))
    .option('--pue <n>', 'datacenter PUE (default 1.58, the 2023 industry average)', positiveNumber('--pue'))
    .option('--intensity <g>', 'grid intensity, gCO2e/kWh', nonNegativeNumber('--intensity'))
    .option('--zone <zone>', 'grid zone or country: its annual average intensity')
    .option('--market-intensity <g>', 'market-based intensity, gCO2e/kWh', nonNegativeNumber('--market-intensity'))
    .option('--cfe <fraction>', 'carbon-free energy fraction 0..1', nonNegativeNumber('--cfe'))
    .option('--json', 'JSON output')
    .action((opts) => done(estimateCommand(opts)));

  addCarbonOptions(addHardwareOptions(program.command('doctor').description('what wattprint would measure here, how, and what it would apply')))
    .option('--json', 'JSON output')
    .action(async (opts) => done(await doctorCommand(opts, env)));

  program.command('zones').description('grid zones with embedded annual intensity').option('--json', 'JSON output')
    .action((opts) => done(zonesCommand(opts)));

  return program;
}

/** oneLine turns commander's 'error: …\n(Did you mean …?)' into one line naming the fix. */
export function oneLine(text: string): string {
  const body = text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  return /^(Usage|Options|Commands):/m.test(text) ? text : `wattprint: ${body} (see --help)\n`;
}

/** VERSION is the package version. */
export const VERSION = '0.1.0';

/** isCommanderError tells commander's own exits (help, version, usage) from failures. */
export function isCommanderError(err: unknown): err is CommanderError {
  return err instanceof CommanderError;
}
