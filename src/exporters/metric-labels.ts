import type { Snapshot } from '../snapshot.js';

/**
 * RESERVED_LABEL_NAMES are the label names wattprint's own metrics use; a user label with one of these names
 * is exported as `label_<name>` so it can never overwrite a device or run label.
 */
export const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set([
  'device', 'kind', 'name', 'uuid', 'run_id', 'basis', 'collector', 'reason', 'hostname', 'zone', 'status', 'method',
  'pue_source', 'intensity_source', 'source', 'unit', 'phase', 'job', 'instance', 'le', 'quantile',
]);

/**
 * reservedLabelProblem says why a `--label` key cannot be a label of its own, or undefined when it can: one
 * of wattprint's own label names (which it would overwrite), or a `__` name, which Prometheus reserves.
 */
export function reservedLabelProblem(key: string): string | undefined {
  if (key.startsWith('__')) return `label names starting with __ are reserved by Prometheus`;
  if (RESERVED_LABEL_NAMES.has(key)) return `wattprint's metrics already use the label '${key}'`;
  return undefined;
}

/**
 * sanitizeLabelName turns a user's `--label` key into a valid Prometheus label name
 * ([a-zA-Z_][a-zA-Z0-9_]*, no leading `__`, which Prometheus reserves), renaming reserved names.
 */
export function sanitizeLabelName(key: string): string {
  let name = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (name === '' || /^[0-9]/.test(name)) name = `_${name}`;
  name = name.replace(/^_{2,}/, '_');
  if (RESERVED_LABEL_NAMES.has(name)) name = `label_${name}`;
  return name;
}

/** UserLabels is the sanitised form of Snapshot.labels: sorted names and their values by name. */
export interface UserLabels {
  names: string[];
  values: Record<string, string>;
  /** key is a stable string of the names, used to notice when the label set changes. */
  key: string;
}

/**
 * userLabels sanitises a snapshot's user labels. When two keys sanitise to the same name the
 * lexicographically first key wins, so the output is deterministic.
 */
export function userLabels(labels: Record<string, string>): UserLabels {
  // A run's labels object is the same every tick: sanitised once (the result is shared, never changed).
  const cached = userLabelsCache.get(labels);
  if (cached) return cached;
  const user = sanitiseUserLabels(labels);
  userLabelsCache.set(labels, user);
  return user;
}

const userLabelsCache = new WeakMap<Record<string, string>, UserLabels>();

function sanitiseUserLabels(labels: Record<string, string>): UserLabels {
  const values: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    const name = sanitizeLabelName(key);
    if (!(name in values)) values[name] = String(labels[key]);
  }
  const names = Object.keys(values).sort();
  return { names, values, key: names.join(',') };
}

/**
 * runLabelValues is the label set every run-scoped series carries: run_id plus the user's labels. The same
 * object is returned while the run and labels stay the same (every render of a live agent): callers must not
 * change it, and the exposition formats it once.
 */
export function runLabelValues(snapshot: Snapshot, user: UserLabels): Record<string, string> {
  if (lastRun && lastRun.runId === snapshot.runId && lastRun.user === user) return lastRun.labels;
  lastRun = { runId: snapshot.runId, user, labels: { run_id: snapshot.runId, ...user.values } };
  return lastRun.labels;
}

let lastRun: { runId: string; user: UserLabels; labels: Record<string, string> } | undefined;
