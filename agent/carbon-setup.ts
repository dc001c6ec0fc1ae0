import type { CloudInfo } from './cloud.js';
import type { MarketInstruments } from '../src/carbon/carbon.js';
import type { ApiIntensityProvider } from '../src/intensity/api-provider.js';
import type { IntensityCache } from '../src/intensity/cache.js';
import { INTENSITY_SOURCES as SOURCES, IntensityConfigError, intensitySource } from '../src/intensity/index.js';
import { tableProvider, worldAverageProvider } from '../src/intensity/table.js';
import type { IntensityProvider } from '../src/intensity/types.js';
import { proxySettingsFromEnv } from '../src/intensity/proxy-settings.js';
import { resolveZone } from '../src/intensity/zones.js';
import { UsageError } from './errors.js';

/** INDUSTRY_AVERAGE_PUE is the fallback PUE: Uptime Institute Global Data Center Survey 2023, 1.58. */
export const INDUSTRY_AVERAGE_PUE = { value: 1.58, source: 'assumed: industry average 1.58 (Uptime Institute Global Data Center Survey 2023)' };

/** INTENSITY_SOURCES are the values --intensity-source takes (the registry in src/intensity/index.ts). */
export const INTENSITY_SOURCES: readonly string[] = SOURCES.map((s) => s.name);

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
  /** Residual mix gCO2e/kWh for the share no contract covers (market-based). */
  residualMix?: number;
  /** carbonintensity.org.uk region 1..17 for --intensity-source uk (absent: national). */
  ukRegion?: number;
}

/** CarbonContext is what setupCarbon needs besides the flags; env is the only place credentials come from. */
export interface CarbonContext {
  cloud?: CloudInfo;
  /** WATTPRINT_ELECTRICITYMAPS_TOKEN, WATTPRINT_WATTTIME_USERNAME/PASSWORD, WATTPRINT_<SOURCE>_URL, WATTPRINT_UK_REGION, HTTPS_PROXY/HTTP_PROXY/NO_PROXY. */
  env: NodeJS.ProcessEnv;
  /** The open store's intensity cache: fetched intensities are kept in it. */
  cache?: IntensityCache;
  /** Or its path: opened on a second connection, only when a fetching source is chosen. */
  dbPath?: string;
  /** Wait at most this long (ms) for a fetching source's first answer before going on (default 0: do not wait). */
  firstFetchMs?: number;
  /**
   * The span (ms, UTC) that will be looked up, when it is known and may be past (restatement, replay): a
   * fetching source prepares it from its history endpoint instead of fetching around now.
   */
  span?: { fromMs: number; toMs: number; refetch?: boolean };
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
  checkIntensityFlags(flags);
  const source = flags.intensitySource ?? (flags.intensity !== undefined ? 'constant' : flags.intensityFile ? 'csv' : flags.zone || ctx.cloud?.gridZone ? 'table' : 'world');
  if (source !== 'world' && !INTENSITY_SOURCES.includes(source)) {
    throw new UsageError(`unknown --intensity-source '${source}': choose ${INTENSITY_SOURCES.join(', ')}`);
  }
  // WattTime names balancing areas ('CAISO_NORTH'), not table zones: its --zone is passed through as typed.
  const zone = source === 'watttime' ? safeZone(flags.zone) : flags.zone !== undefined ? checkedZone(flags.zone) : safeZone(ctx.cloud?.gridZone);
  const fallback = zone ? tableProvider(zone) : worldAverageProvider();
  const base = { pue: resolvePue(flags, ctx.cloud), market: marketOf(flags) };
  if (source === 'world') return { ...base, zone, intensity: fallback, source: 'world average' };
  const cache = await openCache(ctx);
  await intensitySource(source)!.load?.();
  let made;
  try {
    made = intensitySource(source)!.create({
      zone, region: flags.zone, fallback, intensity: flags.intensity, intensityFile: flags.intensityFile, intensityUrl: flags.intensityUrl,
      emissionFactor: flags.emissionFactor, ukRegion: flags.ukRegion, credentials: ctx.env,
      ...(cache ?? {}), ...(ctx.nowMs !== undefined ? { nowMs: ctx.nowMs } : {}),
      // Cluster nodes often reach the internet only through a proxy: API calls honour HTTPS_PROXY / NO_PROXY.
      proxy: proxySettingsFromEnv(ctx.env),
      report: ctx.report ?? ((line: string) => process.stderr.write(`wattprint: ${line}\n`)),
    });
  } catch (err) {
    if (err instanceof IntensityConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (made.fetching) {
    // prepare never throws: a span the API does not answer falls back per period, flagged.
    if (ctx.span) await made.fetching.prepare(ctx.span.fromMs, ctx.span.toMs, { refetch: ctx.span.refetch ?? false });
    else await firstFetch(made.fetching, ctx);
  }
  return { ...base, zone: made.zone ?? zone, intensity: made.intensity, source: made.source, ...(made.fetching ? { fetching: made.fetching } : {}) };
}

/**
 * checkIntensityFlags refuses a constant --intensity next to another intensity source: the constant would win
 * while the report named the other (`--intensity 100 --zone FR` said "zone FR" over 100 g/kWh).
 */
export function checkIntensityFlags(flags: CarbonFlags): void {
  if (flags.intensity === undefined) return;
  const other = flags.intensityFile !== undefined ? `--intensity-file ${flags.intensityFile}`
    : flags.zone !== undefined ? `--zone ${flags.zone}`
      : flags.intensitySource !== undefined && flags.intensitySource !== 'constant' ? `--intensity-source ${flags.intensitySource}` : undefined;
  if (other) {
    throw new UsageError(`--intensity ${flags.intensity} and ${other} both set the grid intensity: give one (a constant with --intensity, or the zone's or file's hourly figures)`);
  }
}

/**
 * openCache uses the given database, or opens the store's file on a second connection (WAL allows both). The
 * store (and SQLite's native module) is loaded only then: `estimate` and the usage checks never need it.
 */
async function openCache(ctx: CarbonContext): Promise<{ cache: IntensityCache } | undefined> {
  if (ctx.cache) return { cache: ctx.cache };
  if (!ctx.dbPath) return undefined;
  try {
    const { openIntensityCache } = await import('../src/store/intensity-cache.js');
    return { cache: openIntensityCache(ctx.dbPath) };
  } catch {
    // The store opens the same path next and reports the problem with its fix; fetch without a cache meanwhile.
    return undefined;
  }
}

async function firstFetch(provider: ApiIntensityProvider, ctx: CarbonContext): Promise<void> {
  await awaitFirstFetch(provider, ctx.firstFetchMs ?? 0, ctx.nowMs);
}

/** awaitFirstFetch waits at most waitMs for a fetching provider's first answer (run does this beside the job). */
export async function awaitFirstFetch(provider: ApiIntensityProvider, waitMs: number, nowMs?: number): Promise<void> {
  if (waitMs <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
    timer.unref();
  });
  // refresh never throws: failures become the provider's status and its lookups fall back, flagged.
  await Promise.race([provider.refresh(nowMs ?? Date.now()), timeout]);
  clearTimeout(timer);
}

function marketOf(flags: CarbonFlags): MarketInstruments {
  if (flags.marketIntensity !== undefined && flags.cfe !== undefined) {
    throw new UsageError('--market-intensity and --cfe both set the market-based figure: give one of them');
  }
  if (flags.marketIntensity !== undefined && flags.residualMix !== undefined) {
    throw new UsageError('--market-intensity is the intensity of all consumption, so --residual-mix (for the share --cfe leaves uncovered) does not apply: give one of them');
  }
  return {
    ...(flags.marketIntensity !== undefined ? { marketIntensityGramsPerKwh: flags.marketIntensity } : {}),
    ...(flags.cfe !== undefined ? { cfe: flags.cfe } : {}),
    ...(flags.residualMix !== undefined ? { residualMixGramsPerKwh: flags.residualMix } : {}),
  };
}

function safeZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  const resolved = resolveZone(zone);
  return 'error' in resolved ? undefined : resolved.zone;
}
