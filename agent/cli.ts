import { Command, CommanderError } from 'commander';
import { VERSION } from './version.js';
import type { CommandContext } from './commands/shared.js';

type CommandModule = { register(program: Command, ctx: CommandContext): void };

/**
 * COMMANDS is the explicit list of commands, in the order `--help` shows them; a command is one file plus one
 * line. Each is imported only when it runs (or for --help): `--version` and `estimate` must not pay for the
 * tracker, the live server and the collectors' native libraries.
 */
const COMMANDS: readonly { name: string; load: () => Promise<CommandModule> }[] = [
  { name: 'run', load: () => import('./commands/run.js') },
  { name: 'agent', load: () => import('./commands/agent.js') },
  { name: 'report', load: () => import('./commands/report.js') },
  { name: 'runs', load: () => import('./commands/runs.js') },
  { name: 'replay', load: () => import('./commands/replay.js') },
  { name: 'forecast', load: () => import('./commands/forecast.js') },
  { name: 'estimate', load: () => import('./commands/estimate.js') },
  { name: 'doctor', load: () => import('./commands/doctor.js') },
  { name: 'zones', load: () => import('./commands/zones.js') },
];

/**
 * commandsFor picks the commands to define for argv: the one it names; none for a bare `--version`; all of
 * them otherwise (help, and commander's "did you mean" for an unknown command need every name).
 */
function commandsFor(argv: readonly string[] | undefined): readonly { name: string; load: () => Promise<CommandModule> }[] {
  if (!argv) return COMMANDS;
  const first = argv.find((a) => !a.startsWith('-'));
  const named = first === undefined ? undefined : COMMANDS.find((c) => c.name === first);
  if (named) return [named];
  if (first === undefined && argv.length > 0 && argv.every((a) => a === '--version' || a === '-V')) return [];
  return COMMANDS;
}

/** buildCli defines the commands argv needs (all without argv); actions set the exit code through `done`. */
export async function buildCli(env: NodeJS.ProcessEnv, done: (code: number) => void, argv?: readonly string[]): Promise<Command> {
  const program = new Command('wattprint')
    .description('Live energy and carbon tracking for ML training runs: measured energy × PUE × hourly grid intensity.')
    .version(VERSION)
    .enablePositionalOptions()
    // Set before the commands are added, which copy it: every usage error is one 'wattprint: …' line.
    .configureOutput({ writeErr: (text) => process.stderr.write(oneLine(text)) })
    .exitOverride();
  const modules = await Promise.all(commandsFor(argv).map((c) => c.load()));
  for (const command of modules) command.register(program, { env, done });
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
