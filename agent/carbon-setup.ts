import { readFileSync } from 'node:fs';
import type { CloudInfo } from './cloud.js';
import type { MarketInstruments } from '../src/carbon/carbon.js';
import type { ApiIntensityProvider } from '../src/intensity/api-provider.js';
import type { IntensityCache } from '../src/intensity/cache.js';
import { constantProvider } from '../src/intensity/constant.js';
import { tableProvider, worldAverageProvider } from '../src/intensity/table.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { resolveZone } from '../src/intensity/zones.js';
import { UsageError } from './errors.js';

/** INDUSTRY_AVERAGE_PUE is the fallback PUE: Uptime Institute Global Data Center Survey 2023, 1.58. */
export const INDUSTRY_AVERAGE_PUE = { value: 1.58, source: 'assumed: industry average 1.58 (Uptime Institute Global Data Center Survey 2023)' };

/** INTENSITY_SOURCES are the values --intensity-source takes. */
export const INTENSITY_SOURCES = ['constant', 'table', 'csv', 'electricitymaps', 'uk', 'watttime'] as const;

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
  /** carbonintensity.org.uk region 1..17 for --intensity-source uk (absent: national). */
  ukRegion?: number;
}

/** CarbonContext is what setupCarbon needs besides the flags; env is the only place credentials come from. */
export interface CarbonContext {
  cloud?: CloudInfo;
  /** WATTPRINT_ELECTRICITYMAPS_TOKEN, WATTPRINT_WATTTIME_USERNAME/PASSWORD, WATTPRINT_<SOURCE>_URL, WATTPRINT_UK_REGION. */
  env: NodeJS.ProcessEnv;
  /** The open store's intensity cache: fetched intensities are kept in it. */
  cache?: IntensityCache;
  /** Or its path: opened on a second connection, only when a fetching source is chosen. */
  dbPath?: string;
  /** Wait at most this long (ms) for a fetching source's first answer before going on (default 0: do not wait). */
  firstFetchMs?: number;
  /** Wall clock (ms) of the first fetch (default now). */
  nowMs?: number;
  /** Where one-line provider reports (a token refused) go (default stderr). */
  report?: (line: string) => void;
}

/** CarbonSetup is what accounting applies, with where each factor came from. */
export interface CarbonSetup {
  pue: { value: number; source: string };
  zone?: string;
  intensity: IntensityProvider;
  market: MarketInstruments;
  /** One phrase naming the intensity data: 'csv: DE.csv (Electricity Maps, lifecycle)', 'uk GB', 'table DE'. */
  source: string;
  /** The fetching provider, when one was chosen (status, forecast series). */
  fetching?: ApiIntensityProvider;
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
 * Fetching sources (electricitymaps, uk, watttime) cache into the database and fall back to the cache, then
 * the zone's table value, flagged per period; their first fetch is awaited for at most ctx.firstFetchMs.
 */
export async function setupCarbon(flags: CarbonFlags, ctx: CarbonContext): Promise<CarbonSetup> {
  const source = flags.intensitySource ?? (flags.intensity !== undefined ? 'constant' : flags.intensityFile ? 'csv' : flags.zone || ctx.cloud?.gridZone ? 'table' : 'world');
  if (source !== 'world' && !(INTENSITY_SOURCES as readonly string[]).includes(source)) {
    throw new UsageError(`unknown --intensity-source '${source}': choose ${INTENSITY_SOURCES.join(', ')}`);
  }
  // WattTime names balancing areas ('CAISO_NORTH'), not table zones: its --zone is passed through as typed.
  const zone = source === 'watttime' ? safeZone(flags.zone) : flags.zone !== undefined ? checkedZone(flags.zone) : safeZone(ctx.cloud?.gridZone);
  const fallback = zone ? tableProvider(zone) : worldAverageProvider();
  const base = { pue: resolvePue(flags, ctx.cloud), market: marketOf(flags) };
  switch (source) {
    case 'constant':
      if (flags.intensity === undefined) throw new UsageError('--intensity-source constant needs --intensity G (gCO2e/kWh)');
      return { ...base, zone, intensity: constantProvider(flags.intensity), source: `constant ${flags.intensity} gCO2e/kWh` };
    case 'table':
      if (!zone) throw new UsageError('--intensity-source table needs --zone Z (see `wattprint zones`)');
      return { ...base, zone, intensity: fallback, source: `table ${zone}` };
    case 'world':
      return { ...base, zone, intensity: fallback, source: 'world average' };
    case 'csv': {
      const intensity = await csvIntensity(flags, zone, fallback);
      return { ...base, zone: zone ?? intensity.zone, intensity, source: intensity.source };
    }
    default: {
      const fetching = await fetchingProvider(source, flags, zone, ctx, fallback);
      await firstFetch(fetching, ctx);
      return { ...base, zone: source === 'uk' ? 'GB' : zone, intensity: fetching, source: `${source} ${fetching.zone}`, fetching };
    }
  }
}

// Providers and the cache's SQLite are imported only when chosen: most commands never fetch.
async function fetchingProvider(source: string, flags: CarbonFlags, zone: string | undefined, ctx: CarbonContext, fallback: IntensityProvider): Promise<ApiIntensityProvider> {
  const { env } = ctx;
  const url = (name: string): { baseUrl?: string } => {
    const baseUrl = flags.intensityUrl ?? env[`WATTPRINT_${name}_URL`];
    return baseUrl ? { baseUrl } : {};
  };
  const common = { ...(await openCache(ctx) ?? {}), ...(ctx.nowMs !== undefined ? { now: () => ctx.nowMs! } : {}) };
  const onReport = ctx.report ?? ((line: string) => process.stderr.write(`wattprint: ${line}\n`));
  if (source === 'uk') {
    if (zone && zone !== 'GB') throw new UsageError(`--intensity-source uk covers Great Britain only (zone GB), not ${zone}: use electricitymaps or --intensity-file for ${zone}`);
    const region = flags.ukRegion ?? (env.WATTPRINT_UK_REGION ? Number(env.WATTPRINT_UK_REGION) : undefined);
    if (region !== undefined && !(Number.isInteger(region) && region >= 1 && region <= 17)) {
      throw new UsageError(`--uk-region must be a carbonintensity.org.uk region id from 1 to 17 (13 is London), got '${region}'`);
    }
    const { createUkProvider } = await import('../src/intensity/uk.js');
    return createUkProvider({ ...url('UK'), ...common, fallback: tableProvider('GB'), ...(region !== undefined ? { regionId: region } : {}) });
  }
  if (source === 'electricitymaps') {
    if (!zone) throw new UsageError('--intensity-source electricitymaps needs --zone Z (an Electricity Maps zone such as DE or US-CAL-CISO)');
    const token = env.WATTPRINT_ELECTRICITYMAPS_TOKEN;
    if (!token) throw new UsageError('--intensity-source electricitymaps needs an API token: set WATTPRINT_ELECTRICITYMAPS_TOKEN (free at https://portal.electricitymaps.com)');
    const { createElectricityMapsProvider } = await import('../src/intensity/electricitymaps.js');
    return createElectricityMapsProvider({ ...url('ELECTRICITYMAPS'), ...common, token, zone, fallback, onReport, ...(flags.emissionFactor ? { emissionFactor: flags.emissionFactor } : {}) });
  }
  const region = flags.zone?.trim();
  if (!region) throw new UsageError('--intensity-source watttime needs --zone REGION (a WattTime region such as CAISO_NORTH)');
  const username = env.WATTPRINT_WATTTIME_USERNAME;
  const password = env.WATTPRINT_WATTTIME_PASSWORD;
  if (!username || !password) throw new UsageError('--intensity-source watttime needs WATTPRINT_WATTTIME_USERNAME and WATTPRINT_WATTTIME_PASSWORD set (register at https://watttime.org)');
  const { createWattTimeProvider } = await import('../src/intensity/watttime.js');
  return createWattTimeProvider({ ...url('WATTTIME'), ...common, username, password, zone: region, fallback, onReport });
}

/** openCache uses the given database, or opens the store's file on a second connection (WAL allows both). */
async function openCache(ctx: CarbonContext): Promise<{ cache: IntensityCache } | undefined> {
  if (ctx.cache) return { cache: ctx.cache };
  if (!ctx.dbPath) return undefined;
  const { openIntensityCache } = await import('../src/store/intensity-cache.js');
  try {
    return { cache: openIntensityCache(ctx.dbPath) };
  } catch {
    // The store opens the same path next and reports the problem with its fix; fetch without a cache meanwhile.
    return undefined;
  }
}

async function firstFetch(provider: ApiIntensityProvider, ctx: CarbonContext): Promise<void> {
  const waitMs = ctx.firstFetchMs ?? 0;
  if (waitMs <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
    timer.unref();
  });
  // refresh never throws: failures become the provider's status and its lookups fall back, flagged.
  await Promise.race([provider.refresh(ctx.nowMs ?? Date.now()), timeout]);
  clearTimeout(timer);
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

function safeZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  const resolved = resolveZone(zone);
  return 'error' in resolved ? undefined : resolved.zone;
}

async function csvIntensity(flags: CarbonFlags, zone: string | undefined, fallback: IntensityProvider): Promise<IntensityProvider & { source: string }> {
  const path = flags.intensityFile;
  if (!path) throw new UsageError('--intensity-source csv needs --intensity-file PATH');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --intensity-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const [{ parseIntensityCsv }, { csvProvider }] = await Promise.all([import('../src/intensity/csv.js'), import('../src/intensity/csv-provider.js')]);
  try {
    const parsed = parseIntensityCsv(text, { fileName: path, emissionFactor: flags.emissionFactor });
    // A one-zone file without --zone: its missing hours fall back to that zone's annual value, not the world's.
    const fileZone = zone ?? (parsed.zones.length === 1 ? safeZone(parsed.zones[0]) : undefined);
    const nextBest = !zone && fileZone ? tableProvider(fileZone) : fallback;
    return Object.assign(csvProvider(parsed, { fallback: nextBest, zone }), { source: parsed.source });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
