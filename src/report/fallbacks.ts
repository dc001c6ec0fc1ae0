import type { IntensityQuality } from '../intensity/types.js';

/** FALLBACK_MARK is how a period's source says it came from the next best source (see fallbackValue). */
const FALLBACK_MARK = ' (fallback: ';

/** PeriodSource is what the fallback summary needs of an accounting period. */
export interface PeriodSource {
  periodSeconds: number;
  source: string;
  quality: IntensityQuality;
}

/** FallbackSummary counts the periods an intensity source did not answer and names what answered instead. */
export interface FallbackSummary {
  fallbackPeriods: number;
  totalPeriods: number;
  /** 'half hours', 'hours', '5-minute periods', or 'hours' of time when period lengths are mixed. */
  unit: string;
  /** Fallback periods and all periods in `unit` (equal to the counts unless lengths are mixed). */
  fallbackAmount: number;
  totalAmount: number;
  /** The fallbacks' own sources without the reason: 'table: Electricity Maps 2024 yearly (ODbL)'. */
  fallbackSources: string[];
  /** Why the primary source did not answer: 'uk has no value for this period'. */
  reasons: string[];
  /** The primary source's distinct sources (periods it did answer). */
  primarySources: string[];
  /** 'annual table', 'world average' or 'fallback', by the fallbacks' quality. */
  kind: string;
}

const UNIT_NAMES: Readonly<Record<number, string>> = { 1800: 'half hours', 3600: 'hours', 300: '5-minute periods', 900: 'quarter hours' };

/** isFallback tells whether a period's intensity came from a fallback source. */
export function isFallback(source: string): boolean {
  return source.includes(FALLBACK_MARK);
}

/** summariseFallbacks counts fallback periods; undefined when no period fell back. Pure. */
export function summariseFallbacks(periods: readonly PeriodSource[]): FallbackSummary | undefined {
  const fallbacks = periods.filter((p) => isFallback(p.source));
  if (fallbacks.length === 0) return undefined;
  const lengths = new Set(periods.map((p) => p.periodSeconds));
  const sameLength = lengths.size === 1;
  const seconds = (list: readonly PeriodSource[]) => list.reduce((s, p) => s + p.periodSeconds, 0);
  const split = (source: string): [string, string] => {
    const at = source.indexOf(FALLBACK_MARK);
    return [source.slice(0, at), source.slice(at + FALLBACK_MARK.length).replace(/\)$/, '')];
  };
  const qualities = new Set(fallbacks.map((p) => p.quality));
  const kind = qualities.size === 1 && qualities.has('annual') ? 'annual table' : qualities.size === 1 && qualities.has('assumed') ? 'world average' : 'fallback';
  return {
    fallbackPeriods: fallbacks.length,
    totalPeriods: periods.length,
    unit: sameLength ? (UNIT_NAMES[[...lengths][0]!] ?? `${[...lengths][0]} s periods`) : 'hours',
    fallbackAmount: sameLength ? fallbacks.length : seconds(fallbacks) / 3600,
    totalAmount: sameLength ? periods.length : seconds(periods) / 3600,
    fallbackSources: [...new Set(fallbacks.map((p) => split(p.source)[0]))],
    reasons: [...new Set(fallbacks.map((p) => split(p.source)[1]))],
    primarySources: [...new Set(periods.filter((p) => !isFallback(p.source)).map((p) => p.source))],
    kind,
  };
}

/** fallbackNote is the report's sentence: '12 of 48 half hours from the annual table (table: …): uk has no value for this period'. */
export function fallbackNote(summary: FallbackSummary): string {
  const amount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  return `intensity: ${amount(summary.fallbackAmount)} of ${amount(summary.totalAmount)} ${summary.unit} from the ${summary.kind} ` +
    `(${summary.fallbackSources.join('; ')}), not the intensity source: ${summary.reasons.join('; ')}`;
}

/**
 * restatementSource labels a restatement: the source asked when it answered every period; with the count
 * when some fell back; and, when every period fell back, the fallback alone (never the API's name).
 */
export function restatementSource(asked: string, periods: readonly PeriodSource[]): string {
  const summary = summariseFallbacks(periods);
  if (!summary) return asked;
  if (summary.fallbackPeriods === summary.totalPeriods) return `fallback only: ${summary.fallbackSources.join('; ')} (the source asked answered no period)`;
  const amount = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  return `${asked} (${amount(summary.fallbackAmount)} of ${amount(summary.totalAmount)} ${summary.unit} from the ${summary.kind})`;
}
