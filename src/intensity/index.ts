import { readFileSync } from 'node:fs';
import type { ApiIntensityProvider } from './api-provider.js';
import type { IntensityCache } from './cache.js';
import { constantProvider } from './constant.js';
import { parseIntensityCsv } from './csv.js';
import { csvProvider } from './csv-provider.js';
import type { ProxySettings } from './proxy-settings.js';
import { tableProvider } from './table.js';
import type { IntensityProvider } from './types.js';
import { resolveZone } from './zones.js';

/** IntensityConfigError is a source that cannot be set up as asked; its message is one line with the fix. */
export class IntensityConfigError extends Error {
  override readonly name = 'IntensityConfigError';
}

/** SourceRequest is everything a source needs to be set up: the user's options, credentials, the fallback. */
export interface SourceRequest {
  /** The resolved table zone, when the user's zone is one. */
  zone?: string;
  /** --zone as typed: WattTime names balancing areas ('CAISO_NORTH'), not table zones. */
  region?: string;
  /** The annual table of the zone, else the world average: what a period no source answers falls back to. */
  fallback: IntensityProvider;
  intensity?: number;
  intensityFile?: string;
  intensityUrl?: string;
  emissionFactor?: 'lifecycle' | 'direct';
  ukRegion?: number;
  /** Credentials and per-source URLs, from the environment the CLI was given (never read here). */
  credentials: Readonly<Record<string, string | undefined>>;
  /** Fetching sources: the SQLite cache, a fixed clock for tests, the proxy, where one-line reports go. */
  cache?: IntensityCache;
  nowMs?: number;
  proxy?: ProxySettings;
  report: (line: string) => void;
}

/** SourceResult is a provider with the phrase reports use for it ('uk GB', 'csv: DE.csv (…)', 'table DE'). */
export interface SourceResult {
  intensity: IntensityProvider;
  source: string;
  /** The zone the source serves, when it knows better than the request (a one-zone file, the UK's GB). */
  zone?: string;
  /** Set for sources that fetch from an API (they refresh in the background and prepare past spans). */
  fetching?: ApiIntensityProvider;
}

/** IntensitySource is one value of --intensity-source: a name and how to set it up. */
export interface IntensitySource {
  name: string;
  /** load brings in what create needs that the other sources do not (a fetching source's HTTP client): await it first. */
  load?(): Promise<void>;
  create(req: SourceRequest): SourceResult;
}

/** The fetching sources' modules (HTTP, TLS, the API clients), loaded by load() only when one of them is used. */
let fetchers: typeof import('./fetchers.js') | undefined;

async function loadFetchers(): Promise<void> {
  fetchers ??= await import('./fetchers.js');
}

function loadedFetchers(): typeof import('./fetchers.js') {
  if (!fetchers) throw new Error('a fetching intensity source was created before its load() was awaited');
  return fetchers;
}

const constant: IntensitySource = {
  name: 'constant',
  create(req) {
    if (req.intensity === undefined) throw new IntensityConfigError('--intensity-source constant needs --intensity G (gCO2e/kWh)');
    return { intensity: constantProvider(req.intensity), source: `constant ${req.intensity} gCO2e/kWh` };
  },
};

const table: IntensitySource = {
  name: 'table',
  create(req) {
    if (!req.zone) throw new IntensityConfigError('--intensity-source table needs --zone Z (see `wattprint zones`)');
    return { intensity: req.fallback, source: `table ${req.zone}` };
  },
};

const csv: IntensitySource = {
  name: 'csv',
  create(req) {
    const path = req.intensityFile;
    if (!path) throw new IntensityConfigError('--intensity-source csv needs --intensity-file PATH');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new IntensityConfigError(`cannot read --intensity-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    try {
      const parsed = parseIntensityCsv(text, { fileName: path, emissionFactor: req.emissionFactor });
      // A one-zone file without --zone: its missing hours fall back to that zone's annual value, not the world's.
      const fileZone = req.zone ?? (parsed.zones.length === 1 ? knownZone(parsed.zones[0]) : undefined);
      const nextBest = !req.zone && fileZone ? tableProvider(fileZone) : req.fallback;
      return { intensity: csvProvider(parsed, { fallback: nextBest, zone: req.zone }), source: parsed.source, ...(fileZone ? { zone: fileZone } : {}) };
    } catch (err) {
      throw new IntensityConfigError((err as Error).message);
    }
  },
};

const uk: IntensitySource = {
  name: 'uk',
  load: loadFetchers,
  create(req) {
    if (req.zone && req.zone !== 'GB') {
      throw new IntensityConfigError(`--intensity-source uk covers Great Britain only (zone GB), not ${req.zone}: use electricitymaps or --intensity-file for ${req.zone}`);
    }
    const region = req.ukRegion ?? (req.credentials.WATTPRINT_UK_REGION ? Number(req.credentials.WATTPRINT_UK_REGION) : undefined);
    if (region !== undefined && !(Number.isInteger(region) && region >= 1 && region <= 17)) {
      throw new IntensityConfigError(`--uk-region must be a carbonintensity.org.uk region id from 1 to 17 (13 is London), got '${region}'`);
    }
    const fetching = loadedFetchers().createUkProvider({ ...common(req, 'UK'), fallback: tableProvider('GB'), ...(region !== undefined ? { regionId: region } : {}) });
    return { intensity: fetching, source: `uk ${fetching.zone}`, zone: 'GB', fetching };
  },
};

const electricityMaps: IntensitySource = {
  name: 'electricitymaps',
  load: loadFetchers,
  create(req) {
    if (!req.zone) throw new IntensityConfigError('--intensity-source electricitymaps needs --zone Z (an Electricity Maps zone such as DE or US-CAL-CISO)');
    const token = req.credentials.WATTPRINT_ELECTRICITYMAPS_TOKEN;
    if (!token) throw new IntensityConfigError('--intensity-source electricitymaps needs an API token: set WATTPRINT_ELECTRICITYMAPS_TOKEN (free at https://portal.electricitymaps.com)');
    const fetching = loadedFetchers().createElectricityMapsProvider({
      ...common(req, 'ELECTRICITYMAPS'), token, zone: req.zone, fallback: req.fallback, onReport: req.report,
      ...(req.emissionFactor ? { emissionFactor: req.emissionFactor } : {}),
    });
    return { intensity: fetching, source: `electricitymaps ${fetching.zone}`, fetching };
  },
};

const wattTime: IntensitySource = {
  name: 'watttime',
  load: loadFetchers,
  create(req) {
    const region = req.region?.trim();
    if (!region) throw new IntensityConfigError('--intensity-source watttime needs --zone REGION (a WattTime region such as CAISO_NORTH)');
    const { WATTPRINT_WATTTIME_USERNAME: username, WATTPRINT_WATTTIME_PASSWORD: password } = req.credentials;
    if (!username || !password) throw new IntensityConfigError('--intensity-source watttime needs WATTPRINT_WATTTIME_USERNAME and WATTPRINT_WATTTIME_PASSWORD set (register at https://watttime.org)');
    const fetching = loadedFetchers().createWattTimeProvider({ ...common(req, 'WATTTIME'), username, password, zone: region, fallback: req.fallback, onReport: req.report });
    return { intensity: fetching, source: `watttime ${fetching.zone}`, fetching };
  },
};

/**
 * INTENSITY_SOURCES is the explicit list of --intensity-source values, like collectors/index.ts: a new
 * provider is one file plus one entry here.
 */
export const INTENSITY_SOURCES: readonly IntensitySource[] = [constant, table, csv, electricityMaps, uk, wattTime];

/** intensitySource finds a source by name. */
export function intensitySource(name: string): IntensitySource | undefined {
  return INTENSITY_SOURCES.find((s) => s.name === name);
}

/** common is what every fetching source shares: base URL override (flag, else WATTPRINT_<NAME>_URL), cache, clock, proxy. */
function common(req: SourceRequest, name: string) {
  const baseUrl = req.intensityUrl ?? req.credentials[`WATTPRINT_${name}_URL`];
  return {
    ...(baseUrl ? { baseUrl } : {}), ...(req.cache ? { cache: req.cache } : {}),
    ...(req.nowMs !== undefined ? { now: () => req.nowMs! } : {}), ...(req.proxy ? { proxy: req.proxy } : {}),
  };
}

function knownZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined;
  const resolved = resolveZone(zone);
  return 'error' in resolved ? undefined : resolved.zone;
}
