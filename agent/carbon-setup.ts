import { readFileSync } from 'node:fs';
import type { CloudInfo } from '../collectors/cloud.js';
import type { MarketInstruments } from '../src/carbon.js';
import { constantProvider } from '../src/intensity/constant.js';
import { parseIntensityCsv } from '../src/intensity/csv.js';
import { csvProvider } from '../src/intensity/csv-provider.js';
import { tableProvider, worldAverageProvider } from '../src/intensity/table.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { resolveZone } from '../src/zones.js';
import { UsageError } from './errors.js';

/** INDUSTRY_AVERAGE_PUE is the fallback PUE: Uptime Institute Global Data Center Survey 2023, 1.58. */
export const INDUSTRY_AVERAGE_PUE = { value: 1.58, source: 'assumed: industry average 1.58 (Uptime Institute Global Data Center Survey 2023)' };

/** CarbonFlags are the carbon options as parsed by the CLI. */
export interface CarbonFlags {
  pue?: number;
  intensity?: number;
  zone?: string;
  intensitySource?: string;
  intensityFile?: string;
  intensityUrl?: string;
  emissionFactor?: 'lifecycle' | 'direct';
  marketIntensity?: number;
  cfe?: number;
}

/** CarbonSetup is what accounting applies, with where each factor came from. */
export interface CarbonSetup {
  pue: { value: number; source: string };
  zone?: string;
  intensity: IntensityProvider;
  market: MarketInstruments;
}

/** resolvePue picks --pue, else the detected cloud's published figure, else the industry average (marked assumed). */
export function resolvePue(flags: CarbonFlags, cloud?: CloudInfo): { value: number; source: string } {
  if (flags.pue !== undefined) return { value: flags.pue, source: 'set with --pue' };
  if (cloud?.pue) return { value: cloud.pue.value, source: `${cloud.provider} default: ${cloud.pue.source}` };
  return INDUSTRY_AVERAGE_PUE;
}

/** checkedZone resolves a zone a user typed, or throws a usage error naming close matches. */
export function checkedZone(input: string): string {
  const resolved = resolveZone(input);
  if ('error' in resolved) throw new UsageError(resolved.error);
  return resolved.zone;
}

/**
 * setupCarbon chooses the intensity provider: --intensity-source, else inferred (--intensity → constant,
 * --intensity-file → csv, --zone or the cloud region's zone → annual table), else the world average, assumed.
 */
export function setupCarbon(flags: CarbonFlags, cloud?: CloudInfo): CarbonSetup {
  const zone = flags.zone !== undefined ? checkedZone(flags.zone) : cloud?.gridZone ? safeZone(cloud.gridZone) : undefined;
  const source = flags.intensitySource ?? (flags.intensity !== undefined ? 'constant' : flags.intensityFile ? 'csv' : zone ? 'table' : 'world');
  const fallback = zone ? tableProvider(zone) : worldAverageProvider();
  let intensity: IntensityProvider;
  switch (source) {
    case 'constant':
      if (flags.intensity === undefined) throw new UsageError('--intensity-source constant needs --intensity G (gCO2e/kWh)');
      intensity = constantProvider(flags.intensity);
      break;
    case 'table':
      if (!zone) throw new UsageError('--intensity-source table needs --zone Z (see `wattprint zones`)');
      intensity = fallback;
      break;
    case 'world':
      intensity = fallback;
      break;
    case 'csv':
      intensity = csvIntensity(flags, zone, fallback);
      break;
    default:
      throw new UsageError(`unknown --intensity-source '${source}': choose constant, table, csv, electricitymaps, uk or watttime`);
  }
  return { pue: resolvePue(flags, cloud), zone, intensity, market: marketOf(flags) };
}

function marketOf(flags: CarbonFlags): MarketInstruments {
  if (flags.marketIntensity !== undefined && flags.cfe !== undefined) {
    throw new UsageError('--market-intensity and --cfe both set the market-based figure: give one of them');
  }
  return {
    ...(flags.marketIntensity !== undefined ? { marketIntensityGramsPerKwh: flags.marketIntensity } : {}),
    ...(flags.cfe !== undefined ? { cfe: flags.cfe } : {}),
  };
}

function safeZone(zone: string): string | undefined {
  const resolved = resolveZone(zone);
  return 'error' in resolved ? undefined : resolved.zone;
}

function csvIntensity(flags: CarbonFlags, zone: string | undefined, fallback: IntensityProvider): IntensityProvider {
  const path = flags.intensityFile;
  if (!path) throw new UsageError('--intensity-source csv needs --intensity-file PATH');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --intensity-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return csvProvider(parseIntensityCsv(text, { fileName: path, emissionFactor: flags.emissionFactor }), { fallback, zone });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
