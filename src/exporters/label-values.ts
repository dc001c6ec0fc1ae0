/**
 * Label values the exporter writes where the snapshot holds prose. A label value is part of a series' identity:
 * prose ("assumed: industry average 1.58 (Uptime …)") makes a new series whenever its wording changes, so
 * labels get short, stable enums and the prose stays in the report and the snapshot.
 */

/** PUE_SOURCE_VALUES are the values of the `pue_source` label. */
export const PUE_SOURCE_VALUES = ['flag', 'cloud', 'assumed'] as const;
export type PueSourceLabel = (typeof PUE_SOURCE_VALUES)[number] | 'unknown';

/** INTENSITY_SOURCE_VALUES are the values of the `intensity_source` label (the --intensity-source names). */
export const INTENSITY_SOURCE_VALUES = ['constant', 'table', 'csv', 'electricitymaps', 'uk', 'watttime'] as const;
export type IntensitySourceLabel = (typeof INTENSITY_SOURCE_VALUES)[number] | 'unknown';

/** PROGRESS_SOURCE_VALUES are the values of `wattprint_progress_ratio`'s `source` label. */
export const PROGRESS_SOURCE_VALUES = ['api', 'expected_duration'] as const;

/**
 * pueSourceLabel classifies a PUE source as agent/carbon-setup.ts words it: 'set with --pue' (flag),
 * '<provider> default: …' (cloud), 'assumed: …' (assumed).
 */
export function pueSourceLabel(source: string): PueSourceLabel {
  if (/--pue\b/.test(source)) return 'flag';
  if (/^assumed\b/i.test(source)) return 'assumed';
  if (/^\S+ default: /.test(source)) return 'cloud';
  return 'unknown';
}

/**
 * intensitySourceLabel classifies the source of the intensity value in force by its first word, as the
 * providers write it ('table: Ember …', 'csv: DE.csv (…)', 'electricitymaps DE (lifecycle)', 'uk: …',
 * 'watttime CAISO_NORTH MOER …', 'constant (--intensity)'); the world average is a table value. A fetching
 * source that fell back to the table reads 'table' while it does: the label names what the figure came from.
 */
export function intensitySourceLabel(source: string): IntensitySourceLabel {
  if (/^world average\b/i.test(source)) return 'table';
  const first = /^([a-z]+)/i.exec(source)?.[1]?.toLowerCase();
  return (INTENSITY_SOURCE_VALUES as readonly string[]).includes(first ?? '') ? (first as IntensitySourceLabel) : 'unknown';
}

/** progressSourceLabel: 'expected_duration' for --expected-duration, else 'api' (the job reported it). */
export function progressSourceLabel(source: string): (typeof PROGRESS_SOURCE_VALUES)[number] {
  return /expected/i.test(source) ? 'expected_duration' : 'api';
}

/** describePueSourceLabel is the prose a report built from Prometheus shows for a `pue_source` value. */
export function describePueSourceLabel(label: string): string {
  switch (label) {
    case 'flag': return 'set with --pue';
    case 'cloud': return 'the cloud provider\'s published figure';
    case 'assumed': return 'assumed: industry average (Uptime Institute 2023)';
    default: return label;
  }
}
