import { renderReport } from '../../src/report/render.js';
import { claimNode, nodeLockPath } from '../node-lock.js';
import { announce, startSession, type TrackingFlags } from '../session.js';

/** agentCommand tracks until SIGINT or SIGTERM, then closes the run and prints its report. */
export async function agentCommand(flags: TrackingFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const session = await startSession(flags, env);
  if (!flags.quiet) announce(session);
  const claim = claimNode(nodeLockPath(env), session.tracker.run.runId, (line) => process.stderr.write(`${line}\n`));
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const report = await session.finish().finally(() => claim.release());
  if (!flags.quiet) process.stderr.write(`wattprint: ${signal}: run ${report.runId} closed\n${renderReport(report, 'table')}`);
  return 0;
}
