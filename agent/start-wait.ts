import { constants } from 'node:os';
import type { Deferral } from '../src/store/deferral.js';
import { sig } from '../src/report/format.js';
import type { CarbonFlags } from './carbon-setup.js';
import { UsageError } from './errors.js';
import { planStart } from './start-plan.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** WaitOutcome is a deferral that ended with the job to start, or the signal that cancelled the wait. */
export type WaitOutcome = { deferral: Deferral } | { exitCode: number; signal: NodeJS.Signals };

/**
 * waitForBestStart plans the lowest-carbon start of a job of jobSeconds within withinHours (the search of
 * `forecast`), shows the wait and the expected saving on stderr (a countdown on a terminal), and resolves
 * at the start. SIGINT, SIGTERM or SIGHUP while waiting cancel it: the job never starts and the exit code is
 * 128 + the signal's number, as if the job had been killed by it.
 */
export async function waitForBestStart(
  flags: CarbonFlags & { db?: string; quiet?: boolean },
  env: NodeJS.ProcessEnv,
  opts: { withinHours: number; jobSeconds?: number },
): Promise<WaitOutcome> {
  if (opts.jobSeconds === undefined) {
    throw new UsageError('--start-within needs the job\'s length to choose a window: add --expected-duration SECONDS');
  }
  const decidedMs = Date.now();
  const jobHours = opts.jobSeconds / 3600;
  const plan = await planStart(flags, env, { nowMs: decidedMs, jobHours, latestStartMs: decidedMs + opts.withinHours * 3_600_000, what: 'run --start-within', ...(flags.db ? { db: flags.db } : {}) });
  if (plan.fromMs !== decidedMs) throw new UsageError(`run --start-within needs intensity data that covers now: ${plan.note ?? plan.source}`);
  const startMs = plan.window.startMs;
  const saving = plan.savingPercent === undefined ? 'saving unknown (the forecast has a gap now)'
    : `expected ${sig(plan.window.avgGramsPerKwh, 3)} gCO2e/kWh against ${sig(plan.window.vsNowGramsPerKwh!, 3)} at once: −${plan.savingPercent.toFixed(1)}%`;
  const say = (line: string): void => {
    if (!flags.quiet) process.stderr.write(line);
  };
  const tty = process.stderr.isTTY === true && !flags.quiet;
  const signal = await new Promise<NodeJS.Signals | undefined>((resolve) => {
    const handlers = SIGNALS.map((s) => [s, () => finish(s)] as const);
    // The handlers go in before the line is written: the line says the wait has begun, so a signal sent the moment
    // it appears must cancel the wait, not kill the process by the default action (CI: killed by SIGTERM, not 143).
    for (const [name, handler] of handlers) process.on(name, handler);
    say(`wattprint: starting at ${iso(startMs)} (in ${duration(startMs - Date.now())}), the lowest-carbon ${sig(jobHours, 3)} h window within ${opts.withinHours} h of ${plan.source}; ${saving}\n`);
    const countdown = tty ? setInterval(() => process.stderr.write(`\r\x1b[Kwattprint: ${duration(startMs - Date.now())} to the start`), 1000) : undefined;
    const timer = setTimeout(() => finish(undefined), Math.max(0, startMs - Date.now()));
    function finish(s: NodeJS.Signals | undefined): void {
      clearTimeout(timer);
      clearInterval(countdown);
      if (tty) process.stderr.write('\r\x1b[K');
      for (const [name, handler] of handlers) process.off(name, handler);
      resolve(s);
    }
  });
  if (signal) {
    say(`wattprint: ${signal} while waiting for the start: the job was not started\n`);
    return { exitCode: 128 + constants.signals[signal], signal };
  }
  const deferral: Deferral = {
    decidedAt: iso(decidedMs), plannedStartAt: iso(startMs), waitedSeconds: (Date.now() - decidedMs) / 1000, withinHours: opts.withinHours, jobHours,
    avgGramsPerKwh: plan.window.avgGramsPerKwh, source: plan.source,
    ...(plan.window.vsNowGramsPerKwh !== undefined ? { nowGramsPerKwh: plan.window.vsNowGramsPerKwh } : {}),
    ...(plan.savingPercent !== undefined ? { savingPercent: plan.savingPercent } : {}),
  };
  return { deferral };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** duration shows a wait as '2 h 05 min', '4 min 10 s' or '3 s'. */
function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}
