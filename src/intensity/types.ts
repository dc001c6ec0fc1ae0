/** IntensityQuality says what kind of figure an intensity value is. */
export type IntensityQuality = 'actual' | 'forecast' | 'annual' | 'assumed' | 'mixed';

/** IntensityValue is the grid carbon intensity for one period of one zone. */
export interface IntensityValue {
  /** Location-based intensity in gCO2e per kWh. */
  gramsPerKwh: number;
  /**
   * The user's contracted carbon-free energy fraction (0..1) for this period, a market-based instrument: only
   * from the user's own data (the plain CSV's `cfe` column), never a grid's own carbon-free share.
   */
  cfe?: number;
  /** Where it came from: 'constant', 'table:ember-2024', 'electricitymaps', 'uk', 'watttime', 'csv:FILE', 'world-average'. */
  source: string;
  /** Start of the period the value holds for (ms since epoch, UTC). */
  periodStartMs: number;
  /** Length of the period in seconds (3600; 1800 for the UK API; 31536000 for annual figures). */
  periodSeconds: number;
  quality: IntensityQuality;
  /** True for marginal (MOER) figures such as WattTime's. */
  marginal?: boolean;
}

/**
 * IntensityProvider answers intensity for an instant synchronously from memory or cache — sampling never
 * waits on the network. Providers that fetch do it in refresh(), in the background.
 */
export interface IntensityProvider {
  readonly name: string;
  readonly zone?: string;
  lookup(atMs: number): IntensityValue;
  refresh?(nowMs: number): Promise<void>;
  /**
   * prepare fetches the periods of [fromMs, toMs) (ms, UTC) from the source's history endpoints, paged as
   * the API limits, into memory and the cache, so lookups of a past span (replay, restatement) answer the
   * API's own figures. Periods already held for good (actuals) are not asked again unless opts.refetch.
   * Never throws: a span that stays unknown falls back, flagged, as lookup always does.
   */
  prepare?(fromMs: number, toMs: number, opts?: { refetch?: boolean }): Promise<void>;
  close?(): void;
}
