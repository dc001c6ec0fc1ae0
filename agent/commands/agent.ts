import type { Command } from 'commander';
import { renderReport } from '../../src/report/render.js';
import { trackingFlags } from '../config.js';
import { addTrackingOptions } from '../options.js';
import type { CommandContext } from './shared.js';
import { claimNode, nodeLockPath } from '../node-lock.js';
import { announce, startSession, type TrackingFlags } from '../session.js';

/** AGENT_STORAGE_FAILED is the agent's exit code when its database refused the run's last writes (sysexits EX_IOERR). */
export const AGENT_STORAGE_FAILED = 74;

/** agentCommand tracks until SIGINT or SIGTERM, then closes the run and prints its report. */
export async function agentCommand(flags: TrackingFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const session = await startSession(flags, env);
  if (!flags.quiet) announce({ runId: session.tracker.run.runId, resumed: session.tracker.resumed, server: session.server });
  const claim = claimNode(nodeLockPath(env), session.tracker.run.runId, (line) => process.stderr.write(`${line}\n`));
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const report = await session.finish().finally(() => claim.release());
  if (!flags.quiet) process.stderr.write(`wattprint: ${signal}: run ${report.runId} closed\n${renderReport(report, 'table')}`);
  if (session.tracker.storageError) {
    process.stderr.write(`wattprint: the run could not be stored to its end (${session.tracker.storageError.message}); exit ${AGENT_STORAGE_FAILED}\n`);
    return AGENT_STORAGE_FAILED;
  }
  return 0;
}

/** register adds `wattprint agent`. */
export function register(program: Command, { env, done }: CommandContext): void {
  addTrackingOptions(program.command('agent').description('track this node until SIGINT/SIGTERM (daemon per node), then print the report'))
    .action(async (_opts, cmd: Command) => done(await agentCommand(trackingFlags(cmd), env)));
}
