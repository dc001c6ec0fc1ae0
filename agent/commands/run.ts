import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJobSocket, type JobSocket } from '../../src/exporters/job-routes.js';
import { renderReport } from '../../src/report/render.js';
import { UsageError } from '../errors.js';
import { announce, prepareSession, type PendingSession, type TrackingFlags } from '../session.js';
import { waitForBestStart } from '../start-wait.js';
import { saveDeferral, type Deferral } from '../../src/store/deferral.js';
import { positiveNumber } from '../parse.js';
import { TerminalStatus } from '../status-line.js';
import { findExecutable } from '../which.js';
import { jobAttributor } from '../attribution.js';
import { addTrackingOptions } from '../options.js';
import { trackingFlags } from '../config.js';
import type { CommandContext } from './shared.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * runCommand tracks a child command from its start to its exit and returns the exit code to use: the
 * child's own, or 128 + signal number when a signal killed it. The child is spawned without a shell.
 */
export async function runCommand(argv: string[], flags: TrackingFlags & { startWithin?: number }, env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = argv;
  if (!command) throw new UsageError('wattprint run needs a command: wattprint run [options] -- python train.py');
  const executable = findExecutable(command, env);
  if (!executable) throw new UsageError(`command not found: '${command}': check the spelling, or give its full path`, 127);
  let deferral: Deferral | undefined;
  if (flags.startWithin !== undefined) {
    const waited = await waitForBestStart(flags, env, { withinHours: flags.startWithin, ...(flags.expectedDuration !== undefined ? { jobSeconds: flags.expectedDuration } : {}) });
    if ('exitCode' in waited) return waited.exitCode;
    deferral = waited.deferral;
  }
  const pending = await prepareSession(flags, env, argv.join(' '));
  if (!flags.quiet) announce(pending);
  // The job finds its tracker: a private socket (no port, no token; works with --no-listen), else the live
  // server with its token. The token goes through the environment, never argv.
  const socket = await openJobSocket(pending);
  const childEnv = {
    ...env, WATTPRINT_JOB_RUN_ID: pending.runId,
    ...(pending.server ? { WATTPRINT_URL: pending.server.url } : {}),
    ...(pending.server && flags.token ? { WATTPRINT_TOKEN: flags.token } : {}),
    ...(socket ? { WATTPRINT_SOCKET: socket.path } : {}),
  };
  // Without a terminal to read from, the job leads its own session, so workers it double-forks (re-parented to
  // init) are still found as its own by attribution; with one, it stays in the terminal's process group.
  const detached = !process.stdin.isTTY;
  // The job starts now; the collectors are probed beside it (each within 2 s), so a hung tool never holds it up.
  const spawnedAtMs = Date.now();
  const child = spawn(executable, args, { stdio: 'inherit', env: childEnv, detached });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve({ code: c, signal: s }));
  });
  exited.catch(() => undefined); // awaited below; a spawn error must not go unhandled meanwhile
  const forward = (signal: NodeJS.Signals) => () => {
    // Ctrl-C on the terminal already reached the child (same foreground process group): do not send it twice.
    if (signal === 'SIGINT' && !detached && inForegroundOfTerminal()) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  let status: TerminalStatus | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const started = pending.start(spawnedAtMs).then((session) => {
    if (deferral) saveDeferral(session.store.db, session.tracker.run.runKey, deferral);
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      session.tracker.attach(jobAttributor(session, flags, child.pid));
    }
    status = !flags.quiet && process.stderr.isTTY ? new TerminalStatus(process.stderr) : undefined;
    status?.update(session.tracker.snapshot);
    redraw = status ? setInterval(() => status!.update(session.tracker.snapshot), Math.max(1000, flags.interval * 1000)) : undefined;
    redraw?.unref();
    return session;
  }, (err: unknown) => {
    // The job is already running: it runs on, untracked, and keeps its own exit code.
    const message = err instanceof UsageError ? err.message : `internal error: ${(err as Error).message} (please report it)`;
    process.stderr.write(`wattprint: ${message}; the job runs on untracked\n`);
    return undefined;
  });
  const stopStatus = () => {
    clearInterval(redraw);
    status?.close();
  };
  const { code, signal } = await exited.catch(async (err: NodeJS.ErrnoException) => {
    // As shells do: 126 for a command found but not executable, 127 for one not found.
    const failed = err.code === 'EACCES' ? 126 : 127;
    const session = await started;
    stopStatus();
    await closeJobSocket(socket);
    await session?.finish(failed);
    for (const [sig, handler] of handlers) process.off(sig, handler);
    throw new UsageError(`cannot start '${command}': ${err.message}`, failed);
  });
  const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
  const session = await started;
  stopStatus();
  await closeJobSocket(socket);
  const report = await session?.finish(exitCode);
  for (const [sig, handler] of handlers) process.off(sig, handler);
  if (report && !flags.quiet) process.stderr.write(renderReport(report, 'table'));
  // The job's exit code stands: a database that filled up is wattprint's problem, said in one line.
  if (report && session?.tracker.storageError) process.stderr.write(`wattprint: warning: the run could not be stored to its end (${session.tracker.storageError.message}); free space and see \`wattprint report ${report.runId}\`\n`);
  return exitCode;
}

/** openJobSocket serves the job API on a Unix socket in a folder only this user can enter; undefined if it cannot. */
async function openJobSocket(session: PendingSession): Promise<JobSocket | undefined> {
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'wattprint-'));
    return await startJobSocket(join(dir, 'job.sock'), { getSnapshot: () => session.getSnapshot(), job: session.job });
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`wattprint: cannot open the job's socket (${(err as Error).message}); the job can still use WATTPRINT_URL\n`);
    return undefined;
  }
}

async function closeJobSocket(socket: JobSocket | undefined): Promise<void> {
  if (!socket) return;
  await socket.close();
  rmSync(join(socket.path, '..'), { recursive: true, force: true });
}

/**
 * inForegroundOfTerminal tells whether this process is in its terminal's foreground process group (from
 * /proc/self/stat: pgrp equals the terminal's tpgid), where a typed Ctrl-C reaches every process of the group.
 */
function inForegroundOfTerminal(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [pgrp, ttyNr, tpgid] = [Number(fields[2]), Number(fields[4]), Number(fields[5])];
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    return process.stdin.isTTY === true;
  }
}

/** register adds `wattprint run`. */
export function register(program: Command, { env, done }: CommandContext): void {
  addTrackingOptions(program.command('run').description('run a command and track it from start to exit; prints the report to stderr')
    .usage('[options] -- <command> [args...]').argument('<command...>', 'the command and its arguments').passThroughOptions()
    .option('--start-within <hours>', 'wait for the lowest-carbon start within this many hours (needs --expected-duration and an hourly --intensity-source or --intensity-file)', positiveNumber('--start-within')))
    .action(async (argv: string[], _opts, cmd: Command) => done(await runCommand(argv, trackingFlags(cmd), env)));
}
