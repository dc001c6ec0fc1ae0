import { Command, CommanderError } from 'commander';
import { VERSION } from './version.js';
import * as agent from './commands/agent.js';
import * as doctor from './commands/doctor.js';
import * as estimate from './commands/estimate.js';
import * as forecast from './commands/forecast.js';
import * as replay from './commands/replay.js';
import * as report from './commands/report.js';
import * as run from './commands/run.js';
import * as runs from './commands/runs.js';
import type { CommandContext } from './commands/shared.js';
import * as zones from './commands/zones.js';

/** COMMANDS is the explicit list of commands, in the order `--help` shows them; a command is one file plus one line. */
const COMMANDS: readonly { register(program: Command, ctx: CommandContext): void }[] = [run, agent, report, runs, replay, forecast, estimate, doctor, zones];

/** buildCli defines every command; actions set the exit code through `done`. */
export function buildCli(env: NodeJS.ProcessEnv, done: (code: number) => void): Command {
  const program = new Command('wattprint')
    .description('Live energy and carbon tracking for ML training runs: measured energy × PUE × hourly grid intensity.')
    .version(VERSION)
    .enablePositionalOptions()
    // Set before the commands are added, which copy it: every usage error is one 'wattprint: …' line.
    .configureOutput({ writeErr: (text) => process.stderr.write(oneLine(text)) })
    .exitOverride();
  for (const command of COMMANDS) command.register(program, { env, done });
  return program;
}

/** oneLine turns commander's 'error: …\n(Did you mean …?)' into one line naming the fix. */
export function oneLine(text: string): string {
  if (/^(Usage|Options|Commands):/m.test(text)) return text;
  const body = withoutPreamble(text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
  return `wattprint: ${body.replace(/\.$/, '')} (see --help)\n`;
}

/**
 * withoutPreamble drops commander's "option '--interval <seconds>' argument '0' is invalid." in front of our
 * parser's own message, which already names the option and the value: one statement of the problem, not two.
 * A message that does not name the option gets it in front ('--pue: PUE must be …').
 */
function withoutPreamble(body: string): string {
  const flagged = /^option '(\S+)[^']*' argument '(?:[^']|'(?! is invalid))*' is invalid\. (.+)$/.exec(body);
  if (flagged) return flagged[2]!.includes(flagged[1]!) ? flagged[2]! : `${flagged[1]}: ${flagged[2]}`;
  const fromEnv = /^option '(\S+)[^']*' value '((?:[^']|'(?! from env))*)' from env '(\S+)' is invalid\. (.+)$/.exec(body);
  if (fromEnv) return `${fromEnv[3]}='${fromEnv[2]}': ${fromEnv[4]}`;
  const argument = /^command-argument value '(?:[^']|'(?! is invalid))*' is invalid for argument '[^']*'\. (.+)$/.exec(body);
  return argument ? argument[1]! : body;
}

export { VERSION };

/** isCommanderError tells commander's own exits (help, version, usage) from failures. */
export function isCommanderError(err: unknown): err is CommanderError {
  return err instanceof CommanderError;
}
