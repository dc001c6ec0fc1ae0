import { buildCli, isCommanderError } from './cli.js';
import { UsageError } from './errors.js';

/** rewriteArgv turns `--no-collector X` into `--drop-collector X` (commander reads --no-* as negations). */
export function rewriteArgv(argv: string[]): string[] {
  const dash = argv.indexOf('--');
  return argv.map((a, i) => (dash >= 0 && i > dash ? a : a === '--no-collector' ? '--drop-collector' : a.startsWith('--no-collector=') ? `--drop-collector=${a.slice(15)}` : a));
}

/** BOOLEAN_ENV are the switches settable from the environment; commander would read any value as 'on'. */
const BOOLEAN_ENV = ['WATTPRINT_QUIET', 'WATTPRINT_INSECURE'];

/** normaliseBooleanEnv makes 1/true/yes/on mean on and 0/false/no/off/empty mean off; anything else is an error. */
export function normaliseBooleanEnv(env: NodeJS.ProcessEnv): void {
  for (const name of BOOLEAN_ENV) {
    const value = env[name];
    if (value === undefined) continue;
    if (/^(1|true|yes|on)$/i.test(value.trim())) env[name] = '1';
    else if (/^(0|false|no|off|)$/i.test(value.trim())) delete env[name];
    else throw new UsageError(`${name}='${value}' is not a switch: use 1/true/yes to turn it on, 0/false/no to turn it off`);
  }
}

/** main runs the CLI and exits: 2 for usage errors, the child's code for `run`, 1 for internal errors. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let exitCode: number | undefined;
  try {
    normaliseBooleanEnv(env);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
    return;
  }
  const args = rewriteArgv(argv);
  try {
    const program = await buildCli(env, (code) => { exitCode = code; }, args);
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    exitCode = exitCodeFor(err);
  }
  process.exitCode = exitCode ?? 0;
}

function exitCodeFor(err: unknown): number {
  if (isCommanderError(err)) {
    // help and version exit 0; every parse problem is a usage error (2)
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`wattprint: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`wattprint: internal error: ${message} (set WATTPRINT_DEBUG=1 for details and please report it)\n`);
  if (process.env.WATTPRINT_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return 1;
}

main(process.argv.slice(2), process.env).then(
  () => setTimeout(() => process.exit(), 50).unref(),
  () => process.exit(1),
);
