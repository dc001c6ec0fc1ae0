import { Option, type Command } from 'commander';
import { parseTimestampMs } from '../../src/intensity/csv-text.js';
import { sig } from '../../src/report/format.js';
import type { CarbonFlags } from '../carbon-setup.js';
import { planStart } from '../start-plan.js';
import { UsageError } from '../errors.js';
import { addDbOption, envName } from '../options.js';
import { positiveNumber } from '../parse.js';
import { addUkRegionOption, type CommandContext } from './shared.js';
import { MS_PER_HOUR } from '../../src/units.js';

/** ForecastFlags are the options of `wattprint forecast`. */
export interface ForecastFlags extends CarbonFlags {
  hours: number;
  db?: string;
  now?: string;
  json?: boolean;
  format?: 'table' | 'json' | 'slurm';
}

/**
 * forecastCommand finds the lowest-carbon start for a job of --hours within the source's forecast horizon
 * (bestStartWindow: every start where the window's start or end meets a period boundary, constant power)
 * and prints start and end in UTC and local time, the average intensity, the same job started now, and the
 * saving; --format slurm prints only a ready `--begin=` value for sbatch.
 */
export async function forecastCommand(flags: ForecastFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const nowMs = flags.now === undefined ? Date.now() : parseNow(flags.now);
  const plan = await planStart(flags, env, { nowMs, jobHours: flags.hours, ...(flags.db ? { db: flags.db } : {}) });
  const { window, fromMs, note } = plan;
  const vsNow = window.vsNowGramsPerKwh;
  const format = flags.json ? 'json' : (flags.format ?? 'table');
  if (format === 'slurm') {
    process.stdout.write(`${slurmBegin(window.startMs, fromMs)}\n`);
    return 0;
  }
  const result = {
    zone: plan.zone ?? null, source: plan.source, hours: flags.hours, nowAt: iso(fromMs), horizonEndAt: iso(plan.horizonEndMs),
    startAt: iso(window.startMs), endAt: iso(window.endMs), startLocal: local(window.startMs), endLocal: local(window.endMs),
    avgGramsPerKwh: window.avgGramsPerKwh, nowGramsPerKwh: vsNow ?? null, savingPercent: plan.savingPercent ?? null,
    waitHours: (window.startMs - fromMs) / MS_PER_HOUR, slurmBegin: slurmBegin(window.startMs, fromMs), ...(note ? { note } : {}),
  };
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Lowest-carbon ${flags.hours} h window, ${plan.source} (forecast to ${utc(plan.horizonEndMs)})`,
    `start    ${utc(window.startMs)}  (local ${local(window.startMs)})`,
    `end      ${utc(window.endMs)}  (local ${local(window.endMs)})`,
    `average  ${sig(window.avgGramsPerKwh, 3)} gCO2e/kWh`,
    `now      ${vsNow === undefined ? 'unknown: the forecast has a gap in the next ' + flags.hours + ' h' : `${sig(vsNow, 3)} gCO2e/kWh if started at ${utc(fromMs)}`}`,
    `saving   ${plan.savingPercent === undefined ? 'unknown' : `${plan.savingPercent.toFixed(1)}%`} by waiting ${sig(result.waitHours, 3)} h`,
    ...(note ? [`note     ${note}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * slurmBegin is sbatch's `--begin=` for a start (ms): 'now' when it is the planned-from instant, else the
 * local wall time rounded up to the second ('2023-05-04T15:00:00'), which is how sbatch reads --begin.
 */
export function slurmBegin(startMs: number, fromMs: number): string {
  if (startMs <= fromMs) return '--begin=now';
  const d = new Date(Math.ceil(startMs / 1000) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `--begin=${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
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
    .addOption(new Option('--format <format>', 'table|json|slurm (slurm: a ready --begin= value for sbatch)').choices(['table', 'json', 'slurm']).default('table'))
    .option('--json', 'JSON output (same as --format json)');
  addUkRegionOption(addDbOption(forecast))
    .action(async (opts) => done(await forecastCommand(opts, env)));
}
