import { Counter, Gauge, Registry } from 'prom-client';
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
  /** Live server stats; read at render time, never doing I/O. */
  serverStats?: () => ServerStats;
}

/** METRICS_CONTENT_TYPE is the Prometheus text exposition format content type. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/**
 * MetricsRenderer renders a Snapshot as Prometheus text through a prom-client registry whose metrics fill
 * themselves in `collect()` from the snapshot being rendered: no I/O, nothing that can reject.
 *
 * Snapshots are replaced, never mutated, so the text of one snapshot is rendered once and served to every
 * scrape until the next tick: 100 scrapes/s of 64 devices cost one render per tick.
 */
export class MetricsRenderer {
  private registry: Registry | undefined;
  private labelKey = '';
  private current: Snapshot | undefined;
  private cachedFor: Snapshot | undefined;
  private cachedStatsKey = '';
  private cachedText = '';
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Highest value each counter series has reported. A Prometheus counter must never decrease, or rate() and
   * increase() read it as a reset and count the whole total again. Snapshots are cumulative run totals (the
   * agent restores them on resume), so a lower value can only come from a transient (a device's total
   * re-derived after a collector restart, float reordering); holding the max keeps the series monotonic.
   */
  private readonly counterMax = new Map<string, number>();

  constructor(private readonly opts: MetricsRendererOptions = {}) {}

  /** render returns the Prometheus text for a snapshot; concurrent calls are serialised. */
  render(snapshot: Snapshot): Promise<string> {
    const statsKey = this.statsKey();
    if (this.cachedFor === snapshot && this.cachedStatsKey === statsKey) return Promise.resolve(this.cachedText);
    const next = this.queue.then(() => this.renderNow(snapshot, statsKey));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private statsKey(): string {
    const stats = this.opts.serverStats?.();
    return stats ? `${stats.wsClients}/${stats.wsDroppedClientsTotal}` : '';
  }

  private async renderNow(snapshot: Snapshot, statsKey: string): Promise<string> {
    if (this.cachedFor === snapshot && this.cachedStatsKey === statsKey) return this.cachedText;
    const user = userLabels(snapshot.labels);
    const registry = this.registryFor(user);
    this.current = snapshot;
    const text = await registry.metrics();
    this.current = undefined;
    this.cachedFor = snapshot;
    this.cachedStatsKey = statsKey;
    this.cachedText = text;
    return text;
  }

  /** The label names of a family are fixed at construction, so a changed user label set rebuilds it. */
  private registryFor(user: UserLabels): Registry {
    if (this.registry && this.labelKey === user.key) return this.registry;
    const registry = new Registry();
    const includeSelf = this.opts.includeSelfMetrics ?? true;
    for (const def of METRIC_DEFS) {
      if (def.self && !includeSelf) continue;
      this.register(registry, def, user);
    }
    if (this.opts.serverStats && includeSelf) this.registerServerStats(registry, this.opts.serverStats);
    this.registry = registry;
    this.labelKey = user.key;
    return registry;
  }

  private register(registry: Registry, def: MetricDef, user: UserLabels): void {
    const self = this;
    const labelNames = def.labelNames(user);
    if (def.type === 'counter') {
      new Counter({
        name: def.name, help: def.help, labelNames, registers: [registry],
        collect() {
          this.reset();
          const snapshot = self.current;
          if (!snapshot) return;
          safeFill(def, snapshot, user, (labels, value) => {
            const v = self.monotonic(def.name, labels, value);
            if (v !== undefined) this.inc(labels, v);
          });
        },
      });
      return;
    }
    new Gauge({
      name: def.name, help: def.help, labelNames, registers: [registry],
      collect() {
        this.reset();
        const snapshot = self.current;
        if (!snapshot) return;
        safeFill(def, snapshot, user, (labels, value) => {
          if (Number.isFinite(value)) this.set(labels, value);
        });
      },
    });
  }

  private registerServerStats(registry: Registry, stats: () => ServerStats): void {
    new Gauge({
      name: 'wattprint_ws_clients', help: 'Connected WebSocket feed clients.', registers: [registry],
      collect() { this.set(stats().wsClients); },
    });
    new Counter({
      name: 'wattprint_ws_dropped_clients_total', registers: [registry],
      help: 'WebSocket clients dropped because their send buffer passed the bound.',
      collect() { this.reset(); this.inc(stats().wsDroppedClientsTotal); },
    });
  }

  /** monotonic returns the value to export for a counter series, or undefined for a value unfit to export. */
  private monotonic(name: string, labels: Labels, value: number): number | undefined {
    if (!Number.isFinite(value) || value < 0) return undefined;
    const key = seriesKey(name, labels);
    const prev = this.counterMax.get(key);
    if (prev !== undefined && prev > value) return prev;
    this.counterMax.set(key, value);
    return value;
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

function seriesKey(name: string, labels: Labels): string {
  let key = name;
  for (const k of Object.keys(labels).sort()) key += `\u0000${k}\u0001${labels[k]}`;
  return key;
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
