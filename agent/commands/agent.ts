import { renderReport } from '../../src/report/render.js';
import { startSession, type TrackingFlags } from '../session.js';

/** agentCommand tracks until SIGINT or SIGTERM, then closes the run and prints its report. */
export async function agentCommand(flags: TrackingFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const session = await startSession(flags, env);
  if (!flags.quiet) {
    const where = session.server ? `; live at ${session.server.url}/ (metrics ${session.server.url}/metrics)` : '';
    process.stderr.write(`wattprint: tracking run ${session.tracker.run.runId}${session.tracker.resumed ? ' (resumed)' : ''}${where}\n`);
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const report = await session.finish();
  if (!flags.quiet) process.stderr.write(`wattprint: ${signal}: run ${report.runId} closed\n${renderReport(report, 'table')}`);
  return 0;
}
