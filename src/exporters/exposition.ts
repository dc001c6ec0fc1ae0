import type { Labels } from './metric-defs.js';

/**
 * Prometheus text exposition (format 0.0.4), written directly. The output is byte-for-byte what prom-client's
 * Registry writes for the same families (a test holds the two equal), at a fraction of the cost: prom-client
 * rebuilds every series through collect() callbacks and label hash maps on each render, which made up most of
 * an agent's per-tick CPU when scraped every tick; here a render is one pass of string building.
 */

/** headers holds each family's HELP and TYPE lines by name, the same at every render (help and type checked). */
const headers = new Map<string, { help: string; type: string; lines: readonly [string, string] }>();

/** FamilyText accumulates one metric family. */
export class FamilyText {
  private readonly header: readonly [string, string];
  private readonly index = new Map<string, number>();
  private readonly values: number[] = [];

  /**
   * counterMax, for counters, holds the highest value each of this family's series ever showed (keyed by its
   * rendered labels): a counter series never goes backwards (see MetricsRenderer).
   */
  constructor(readonly name: string, help: string, readonly type: 'counter' | 'gauge', private readonly unlabelled: boolean,
    private readonly counterMax?: Map<string, number>) {
    // Looked up by name (no key string built per render); the definitions pass the same help and type each time.
    let cached = headers.get(name);
    if (!cached || cached.help !== help || cached.type !== type) {
      cached = { help, type, lines: [`# HELP ${escapeText(name)} ${escapeText(help)}`, `# TYPE ${escapeText(name)} ${type}`] };
      headers.set(name, cached);
    }
    this.header = cached.lines;
  }

  /** add records a series value: counters add (as prom-client's inc), gauges replace (as set). */
  add(labels: Labels, value: number): void {
    const key = formatLabels(labels);
    if (this.counterMax) {
      if (!Number.isFinite(value) || value < 0) return;
      const highest = this.counterMax.get(key);
      if (highest !== undefined && highest > value) value = highest;
      else this.counterMax.set(key, value);
    }
    const at = this.index.get(key);
    if (at === undefined) {
      this.index.set(key, this.values.length);
      this.values.push(value);
    } else {
      this.values[at] = this.type === 'counter' ? this.values[at]! + value : value;
    }
  }

  /** forgetOthers drops from `held` every series this family did not show in this render. */
  forgetOthers(held: Map<string, number>): void {
    for (const seriesKey of held.keys()) {
      if (!this.index.has(seriesKey)) held.delete(seriesKey);
    }
  }

  /** text renders the family; an unlabelled family with no value shows 0, as prom-client does. */
  text(): string {
    const out: string[] = [this.header[0], this.header[1]];
    if (this.values.length === 0 && this.unlabelled) out.push(`${this.name} 0`);
    let i = 0;
    for (const key of this.index.keys()) out.push(`${this.name}${key} ${valueString(this.values[i++]!)}`);
    return out.join('\n');
  }
}

/** joinFamilies joins rendered families the way prom-client's Registry.metrics() does. */
export function joinFamilies(families: readonly string[]): string {
  return `${families.join('\n\n')}\n`;
}

/**
 * formatted keeps the text of label objects already formatted: the metric definitions hand out the same object
 * for a device or a run from render to render, so a live agent formats each label set once.
 */
const formatted = new WeakMap<Labels, string>();

function formatLabels(labels: Labels): string {
  let text = formatted.get(labels);
  if (text === undefined) formatted.set(labels, (text = formatLabelsNow(labels)));
  return text;
}

function formatLabelsNow(labels: Labels): string {
  const parts: string[] = [];
  for (const name in labels) parts.push(`${name}="${escapeLabelValue(labels[name]!)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : s;
}

function escapeLabelValue(s: string): string {
  return NEEDS_ESCAPE.test(s) ? escapeText(s).replace(/"/g, '\\"') : s;
}

function valueString(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}
