import { Option, type Command } from 'commander';
import { renderReport } from '../../src/report/render.js';
import { trackingFlags } from '../config.js';
import { addTrackingOptions, envName } from '../options.js';
import { list, nonNegativeNumber } from '../parse.js';
import type { CommandContext } from './shared.js';
import { claimNode, nodeLockPath } from '../node-lock.js';
import { DEFAULT_JOB_SERIES_GRACE_SECONDS, nodeJobsFor, type NodeJobFlags } from '../node-jobs-setup.js';
import { announce, startSession } from '../session.js';

/** AGENT_STORAGE_FAILED is the agent's exit code when its database refused the run's last writes (sysexits EX_IOERR). */
export const AGENT_STORAGE_FAILED = 74;

/** agentCommand tracks until SIGINT or SIGTERM, then closes the run and prints its report. */
export async function agentCommand(flags: NodeJobFlags, env: NodeJS.ProcessEnv): Promise<number> {
  // Listening from the start: a stop sent on seeing the 'tracking run' line, or during start-up, closes the run
  // once it has started instead of killing the agent by the default action (a second signal still does).
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const session = await startSession(flags, env, undefined, { participant: (collectors, ctx) => nodeJobsFor(flags, collectors, ctx) });
  if (!flags.quiet) announce({ runId: session.tracker.run.runId, resumed: session.tracker.resumed, server: session.server });
  const claim = claimNode(nodeLockPath(env), session.tracker.run.runId, (line) => process.stderr.write(`${line}\n`));
  const signal = await stopped;
  const report = await session.finish().finally(() => claim.release());
  if (!flags.quiet) process.stderr.write(`wattprint: ${signal}: run ${report.runId} closed\n${renderReport(report, 'table')}`);
  if (session.tracker.storageError) {
    process.stderr.write(`wattprint: the run could not be stored to its end (${session.tracker.storageError.message}); exit ${AGENT_STORAGE_FAILED}\n`);
    return AGENT_STORAGE_FAILED;
  }
  return 0;
}

/** addNodeJobOptions adds `agent`'s options for charging the jobs of a shared node. */
function addNodeJobOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--attribute-jobs [mode]', 'charge each job on this node its share (SLURM jobs, pods, --scope): auto (when the cgroup tree has SLURM or Kubernetes jobs, or --scope is given), on, off')
      .choices(['auto', 'on', 'off']).preset('on').default('auto').env(envName('--attribute-jobs')))
    .addOption(new Option('--scope <name>', 'a systemd scope to charge as a job (repeatable): train.scope, or a path under the cgroup root')
      .argParser(list).env(envName('--scope')))
    .addOption(new Option('--job-series-grace <seconds>', 'a finished job\'s series leave /metrics this long after it ends (its report stays in the database)')
      .argParser(nonNegativeNumber('--job-series-grace')).default(DEFAULT_JOB_SERIES_GRACE_SECONDS).env(envName('--job-series-grace')));
}

/** register adds `wattprint agent`. */
export function register(program: Command, { env, done }: CommandContext): void {
  addNodeJobOptions(addTrackingOptions(program.command('agent').description('track this node until SIGINT/SIGTERM (daemon per node), then print the report')))
    .action(async (_opts, cmd: Command) => done(await agentCommand(trackingFlags(cmd) as NodeJobFlags, env)));
}
