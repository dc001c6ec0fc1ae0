import { existsSync } from 'node:fs';
import { bestStartWindow, type StartWindow } from '../src/carbon/forecast.js';
import type { IntensityValue } from '../src/intensity/types.js';
import { resolveZone } from '../src/intensity/zones.js';
import { setupCarbon, type CarbonFlags, type CarbonSetup } from './carbon-setup.js';
import { UsageError } from './errors.js';
import { defaultDbPath } from './options.js';

/** HORIZON_MS is how far ahead a plan looks at most (providers forecast 24–72 h). */
const HORIZON_MS = 72 * 3_600_000;

/** StartPlan is the lowest-carbon start of a job: the window, against starting at once, and where the data came from. */
export interface StartPlan {
  window: StartWindow;
  /** "Now" as planned from (ms): the wall clock, or a file's first period when the file does not cover now. */
  fromMs: number;
  /** End of the data planned on (ms). */
  horizonEndMs: number;
  /** The intensity source, e.g. 'uk GB'. */
  source: string;
  zone?: string;
  /** (now − best) / now × 100 when starting now is known. */
  savingPercent?: number;
  note?: string;
}

/** PlanOptions are what a plan needs besides the carbon flags. */
export interface PlanOptions {
  nowMs: number;
  jobHours: number;
  /** The latest start allowed (ms): run --start-within. */
  latestStartMs?: number;
  db?: string;
  /** What is planning, for messages: 'forecast', 'run --start-within'. */
  what?: string;
}

/**
 * planStart finds the lowest-carbon start for a job of jobHours with the source the flags name (a file, the
 * free UK API for GB, Electricity Maps with a token, WattTime), the same search for `forecast` and
 * `run --start-within`. Throws a UsageError with the fix when the source is flat or has no forecast.
 */
export async function planStart(flags: CarbonFlags, env: NodeJS.ProcessEnv, opts: PlanOptions): Promise<StartPlan> {
  const source = flags.intensitySource ?? chooseSource(flags, env, opts.what ?? 'forecast');
  if (source === 'constant' || source === 'table') {
    throw new UsageError(`--intensity-source ${source} is one flat figure, so every start is the same: use uk, electricitymaps, watttime or --intensity-file`);
  }
  const dbPath = opts.db ?? (existsSync(defaultDbPath(env)) ? defaultDbPath(env) : undefined);
  const carbon = await setupCarbon({ ...flags, intensitySource: source }, { env, nowMs: opts.nowMs, firstFetchMs: 20_000, report: () => undefined, ...(dbPath ? { dbPath } : {}) });
  const { values, fromMs, note } = forecastValues(carbon, opts.nowMs);
  let window: StartWindow;
  try {
    window = bestStartWindow(values, opts.jobHours, fromMs, opts.latestStartMs === undefined ? undefined : opts.latestStartMs - opts.nowMs + fromMs);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}${note ? ` (${note})` : ''}`);
  }
  const vsNow = window.vsNowGramsPerKwh;
  const zone = carbon.fetching?.zone ?? carbon.zone;
  return {
    window, fromMs, source: carbon.source, ...(zone ? { zone } : {}), ...(note ? { note } : {}),
    horizonEndMs: values.reduce((m, v) => Math.max(m, v.periodStartMs + v.periodSeconds * 1000), 0),
    ...(vsNow !== undefined && vsNow > 0 ? { savingPercent: ((vsNow - window.avgGramsPerKwh) / vsNow) * 100 } : {}),
  };
}

/** chooseSource: a file if given, a constant (refused by the caller), the free UK API for GB, Electricity Maps when its token is set. */
function chooseSource(flags: CarbonFlags, env: NodeJS.ProcessEnv, what: string): string {
  if (flags.intensityFile) return 'csv';
  if (flags.intensity !== undefined) return 'constant';
  const zone = flags.zone ? resolveZone(flags.zone) : undefined;
  if (zone && 'error' in zone) throw new UsageError(zone.error);
  if (!zone) throw new UsageError(`${what} needs --zone Z (GB uses the free UK API) or --intensity-file F`);
  if (zone.zone === 'GB') return 'uk';
  if (env.WATTPRINT_ELECTRICITYMAPS_TOKEN) return 'electricitymaps';
  throw new UsageError(`no forecast source for ${zone.zone}: set WATTPRINT_ELECTRICITYMAPS_TOKEN, or pass --intensity-source watttime or --intensity-file F`);
}

function forecastValues(carbon: CarbonSetup, nowMs: number): { values: IntensityValue[]; fromMs: number; note?: string } {
  if (carbon.fetching) {
    const values = carbon.fetching.series(nowMs - 3_600_000, nowMs + HORIZON_MS);
    if (values.length === 0) {
      const status = carbon.fetching.status();
      if (status.state === 'stopped') throw new UsageError(status.message);
      if (status.state === 'backing-off') throw new UsageError(`${status.message.split(';')[0]}: no cached forecast to plan on; try again later`, 1);
      throw new UsageError(`${carbon.source}: no forecast values for this zone`, 1);
    }
    return { values, fromMs: nowMs };
  }
  const held = 'values' in carbon.intensity ? (carbon.intensity as { values(): IntensityValue[] }).values() : [];
  if (held.length === 0) throw new UsageError(`${carbon.source}: no intensity rows to plan on`);
  const sorted = [...held].sort((a, b) => a.periodStartMs - b.periodStartMs);
  const first = sorted[0]!;
  const end = sorted.at(-1)!.periodStartMs + sorted.at(-1)!.periodSeconds * 1000;
  if (nowMs >= first.periodStartMs && nowMs < end) return { values: sorted, fromMs: nowMs };
  // A file of past (or future) data: plan over the whole file as if it started now.
  return { values: sorted, fromMs: first.periodStartMs, note: `the file covers ${iso(first.periodStartMs)} to ${iso(end)}, not now: planned from its first period (use --now to pick another start)` };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
