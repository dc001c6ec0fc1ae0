import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { bestStartWindow, type StartWindow } from '../../src/carbon/forecast.js';
import type { IntensityValue } from '../../src/intensity/types.js';
import { parseTimestampMs } from '../../src/intensity/csv-text.js';
import { sig } from '../../src/report/format.js';
import { resolveZone } from '../../src/intensity/zones.js';
import { setupCarbon, type CarbonFlags, type CarbonSetup } from '../carbon-setup.js';
import { UsageError } from '../errors.js';
import { addDbOption, defaultDbPath, envName } from '../options.js';
import { positiveNumber } from '../parse.js';
import { addUkRegionOption, type CommandContext } from './shared.js';
import { MS_PER_HOUR } from '../../src/units.js';

/** ForecastFlags are the options of `wattprint forecast`. */
export interface ForecastFlags extends CarbonFlags {
  hours: number;
  db?: string;
  now?: string;
  json?: boolean;
}

const HORIZON_MS = 72 * MS_PER_HOUR;

/**
 * forecastCommand finds the lowest-carbon start for a job of --hours within the source's forecast horizon
 * (bestStartWindow: time-weighted averages, constant power) and prints start and end in UTC and local time,
 * the average intensity, the same job started now, and the saving.
 */
export async function forecastCommand(flags: ForecastFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const nowMs = flags.now === undefined ? Date.now() : parseNow(flags.now);
  const source = flags.intensitySource ?? chooseSource(flags, env);
  if (source === 'constant' || source === 'table') {
    throw new UsageError(`--intensity-source ${source} is one flat figure, so every start is the same: use uk, electricitymaps, watttime or --intensity-file`);
  }
  const dbPath = flags.db ?? (existsSync(defaultDbPath(env)) ? defaultDbPath(env) : undefined);
  const carbon = await setupCarbon({ ...flags, intensitySource: source }, { env, nowMs, firstFetchMs: 20_000, report: () => undefined, ...(dbPath ? { dbPath } : {}) });
  const { values, fromMs, note } = forecastValues(carbon, nowMs);
  let window: StartWindow;
  try {
    window = bestStartWindow(values, flags.hours, fromMs);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}${note ? ` (${note})` : ''}`);
  }
  const last = values.reduce((m, v) => Math.max(m, v.periodStartMs + v.periodSeconds * 1000), 0);
  const vsNow = window.vsNowGramsPerKwh;
  const savingPercent = vsNow !== undefined && vsNow > 0 ? ((vsNow - window.avgGramsPerKwh) / vsNow) * 100 : undefined;
  const result = {
    zone: carbon.fetching?.zone ?? carbon.zone ?? null, source: carbon.source, hours: flags.hours, nowAt: iso(fromMs), horizonEndAt: iso(last),
    startAt: iso(window.startMs), endAt: iso(window.endMs), startLocal: local(window.startMs), endLocal: local(window.endMs),
    avgGramsPerKwh: window.avgGramsPerKwh, nowGramsPerKwh: vsNow ?? null, savingPercent: savingPercent ?? null,
    waitHours: (window.startMs - fromMs) / MS_PER_HOUR, ...(note ? { note } : {}),
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Lowest-carbon ${flags.hours} h window, ${carbon.source} (forecast to ${utc(last)})`,
    `start    ${utc(window.startMs)}  (local ${local(window.startMs)})`,
    `end      ${utc(window.endMs)}  (local ${local(window.endMs)})`,
    `average  ${sig(window.avgGramsPerKwh, 3)} gCO2e/kWh`,
    `now      ${vsNow === undefined ? 'unknown: the forecast has a gap in the next ' + flags.hours + ' h' : `${sig(vsNow, 3)} gCO2e/kWh if started at ${utc(fromMs)}`}`,
    `saving   ${savingPercent === undefined ? 'unknown' : `${savingPercent.toFixed(1)}%`} by waiting ${sig(result.waitHours, 3)} h`,
    ...(note ? [`note     ${note}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** chooseSource: a file if given, the free UK API for GB, Electricity Maps when its token is set. */
function chooseSource(flags: ForecastFlags, env: NodeJS.ProcessEnv): string {
  if (flags.intensityFile) return 'csv';
  const zone = flags.zone ? resolveZone(flags.zone) : undefined;
  if (zone && 'error' in zone) throw new UsageError(zone.error);
  if (!zone) throw new UsageError('forecast needs --zone Z (GB uses the free UK API) or --intensity-file F');
  if (zone.zone === 'GB') return 'uk';
  if (env.WATTPRINT_ELECTRICITYMAPS_TOKEN) return 'electricitymaps';
  throw new UsageError(`no forecast source for ${zone.zone}: set WATTPRINT_ELECTRICITYMAPS_TOKEN, or pass --intensity-source watttime or --intensity-file F`);
}

function forecastValues(carbon: CarbonSetup, nowMs: number): { values: IntensityValue[]; fromMs: number; note?: string } {
  if (carbon.fetching) {
    const values = carbon.fetching.series(nowMs - MS_PER_HOUR, nowMs + HORIZON_MS);
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

function parseNow(text: string): number {
  const ms = parseTimestampMs(text);
  if (ms === undefined) throw new UsageError(`--now takes an ISO 8601 time or Unix seconds, got '${text}'`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function utc(ms: number): string {
  return `${iso(ms).slice(0, 16).replace('T', ' ')}Z`;
}

/** local shows ms in the process time zone (TZ) with its UTC offset: '2023-05-05 02:30 UTC+01:00'. */
function local(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  const offsetMinutes = -d.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())} UTC${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

/** register adds `wattprint forecast`. */
export function register(program: Command, { env, done }: CommandContext): void {
  const forecast = program.command('forecast')
    .description('the lowest-carbon start window for a job of H hours within the intensity forecast')
    .option('--zone <zone>', 'grid zone (GB uses the free UK API; others need --intensity-source electricitymaps or a file)')
    .option('--hours <h>', 'job length in hours', positiveNumber('--hours'), 1)
    .addOption(new Option('--intensity-source <name>', 'uk|electricitymaps|watttime|csv').env(envName('--intensity-source')))
    .addOption(new Option('--intensity-file <path>', 'hourly intensity CSV to plan on').env(envName('--intensity-file')))
    .addOption(new Option('--intensity-url <url>', 'override the provider\'s base URL').env(envName('--intensity-url')))
    .addOption(new Option('--emission-factor <kind>', 'lifecycle|direct').choices(['lifecycle', 'direct']).default('lifecycle'))
    .addOption(new Option('--now <time>', 'plan as if it were this ISO 8601 time (for files of past data)'))
    .option('--json', 'JSON output');
  addUkRegionOption(addDbOption(forecast))
    .action(async (opts) => done(await forecastCommand(opts, env)));
}
