import { FamilyText, joinFamilies } from './exposition.js';
import type { Snapshot } from '../snapshot.js';
import { METRIC_DEFS, type Labels, type MetricDef } from './metric-defs.js';
import { userLabels, type UserLabels } from './metric-labels.js';

/** ServerStats are the live server's own numbers, exported next to the snapshot's. */
export interface ServerStats {
  wsClients: number;
  /** WebSocket clients terminated because their send buffer passed the bound. */
  wsDroppedClientsTotal: number;
}

/** MetricsRendererOptions select what a renderer exports. */
export interface MetricsRendererOptions {
  /** Include the agent's self-metrics (collector health, tick lag, dropped readings). Default true. */
  includeSelfMetrics?: boolean;
  /** Leave out readings of "now" (power, factors, projection): the run's record as a final push keeps it. */
  excludeLive?: boolean;
  /** Live server stats; read at render time, never doing I/O. */
  serverStats?: () => ServerStats;
}

/** METRICS_CONTENT_TYPE is the Prometheus text exposition format content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * MetricsRenderer renders a Snapshot as Prometheus text, straight from the family definitions (no I/O,
 * nothing that can reject). The text is what a prom-client Registry would print for the same families —
 * test/exporters/exposition-parity.test.ts holds the two equal — written directly because prom-client's
 * per-render collect() machinery was most of an agent's per-tick CPU when Prometheus scraped every second.
 *
 * Snapshots are replaced, never mutated, so the text of one snapshot is rendered once and served to every
 * scrape until the next tick: 100 scrapes/s of 64 devices cost one render per tick.
 */
export class MetricsRenderer {
  private cachedFor: Snapshot | undefined;
  private cachedStatsKey = '';
  private cachedText = '';
  private cachedBody: Buffer | undefined;
  /**
   * Highest value each counter series has reported. A Prometheus counter must never decrease, or rate() and
   * increase() read it as a reset and count the whole total again. Snapshots are cumulative run totals (the
   * agent restores them on resume), so a lower value can only come from a transient (a device's total
   * re-derived after a collector restart, float reordering); holding the max keeps the series monotonic.
   */
  /** Per counter family, each series' highest value, keyed by its rendered labels; transient families keep only the last render's series (finished jobs are forgotten). */
  private readonly counterMax = new Map<string, Map<string, number>>();

  constructor(private readonly opts: MetricsRendererOptions = {}) {}

  /** render returns the Prometheus text for a snapshot. */
  render(snapshot: Snapshot): Promise<string> {
    return Promise.resolve(this.renderSync(snapshot));
  }

  /** renderSync is render without the promise (bench, Pushgateway). */
  renderSync(snapshot: Snapshot): string {
    const stats = this.opts.serverStats?.();
    const statsKey = stats ? `${stats.wsClients}/${stats.wsDroppedClientsTotal}` : '';
    if (this.cachedFor === snapshot && this.cachedStatsKey === statsKey) return this.cachedText;
    const user = userLabels(snapshot.labels);
    const includeSelf = this.opts.includeSelfMetrics ?? true;
    const families: string[] = [];
    for (const def of METRIC_DEFS) {
      if (def.self && !includeSelf) continue;
      if (def.live && this.opts.excludeLive) continue;
      families.push(this.family(def, snapshot, user));
    }
    if (stats && includeSelf) {
      const clients = new FamilyText('wattprint_ws_clients', 'Connected WebSocket feed clients.', 'gauge', true);
      clients.add({}, stats.wsClients);
      const dropped = new FamilyText('wattprint_ws_dropped_clients_total', 'WebSocket clients dropped: their send buffer passed the bound, or they left a keep-alive ping unanswered.', 'counter', true);
      dropped.add({}, stats.wsDroppedClientsTotal);
      families.push(clients.text(), dropped.text());
    }
    this.cachedFor = snapshot;
    this.cachedStatsKey = statsKey;
    this.cachedText = joinFamilies(families);
    this.cachedBody = undefined;
    return this.cachedText;
  }

  /** renderBody is renderSync as bytes, encoded once per snapshot for every scrape that follows. */
  renderBody(snapshot: Snapshot): Buffer {
    const text = this.renderSync(snapshot);
    return (this.cachedBody ??= Buffer.from(text, 'utf8'));
  }

  private family(def: MetricDef, snapshot: Snapshot, user: UserLabels): string {
    const counter = def.type === 'counter';
    let held = counter ? this.counterMax.get(def.name) : undefined;
    if (counter && !held) this.counterMax.set(def.name, (held = new Map()));
    const family = new FamilyText(def.name, def.help, def.type, def.labelNames(user).length === 0, held);
    safeFill(def, snapshot, user, (labels, value) => {
      if (counter || Number.isFinite(value)) family.add(labels, value);
    });
    if (held && def.transient) family.forgetOthers(held);
    return family.text();
  }

  /** heldCounterSeries is how many counter series the renderer holds a maximum for (bounded: tests, bench). */
  heldCounterSeries(): number {
    let n = 0;
    for (const m of this.counterMax.values()) n += m.size;
    return n;
  }

}

/**
 * safeFill runs a family's fill so that a malformed snapshot empties that one family instead of failing the
 * whole scrape (prom-client turns a throw in collect() into a rejected metrics() promise).
 */
function safeFill(def: MetricDef, snapshot: Snapshot, user: UserLabels, emit: (l: Labels, v: number) => void): void {
  try {
    def.fill(snapshot, user, emit);
  } catch {
    // Partial output beats none: the other families still describe the run.
  }
}


/** renderMetricsOnce renders one snapshot with a fresh renderer (tests, bench, Pushgateway). */
export function renderMetricsOnce(snapshot: Snapshot, opts: MetricsRendererOptions = {}): Promise<string> {
  return new MetricsRenderer(opts).render(snapshot);
}

/** metricFamilyNames lists the family names in a Prometheus text exposition (from its `# TYPE` lines). */
export function metricFamilyNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/^# TYPE (\S+) \S+$/gm)) names.push(m[1]!);
  return names;
}
