import type { Collector, CollectorName } from '../collectors/types.js';
import type { CollectorStatus } from '../src/snapshot.js';
import { downCollector } from './down-collector.js';
import type { Selection } from './select-collectors.js';

/** ProbeFault is a collector that will not measure this session although it was asked for or is present. */
export interface ProbeFault {
  name: CollectorName;
  why: string;
}

/**
 * probeFaults lists the collectors to show down: every one named in --collectors that found nothing, and
 * every one whose probe failed (hung, exited with an error, printed nonsense) — absent hardware stays quiet.
 */
export function probeFaults(selection: Selection, requested: readonly string[] | undefined): ProbeFault[] {
  const found = new Set<string>(selection.collectors.map((c) => c.name));
  const faults: ProbeFault[] = [];
  for (const { name, result, skipped } of selection.probes) {
    if (found.has(name) || skipped) continue;
    if (!result.failed && !requested?.includes(name)) continue;
    const why = `${result.failed ? '' : 'not found: '}${result.why ?? 'nothing to measure'}${result.fix ? `; fix: ${result.fix}` : ''}`;
    faults.push({ name: name as CollectorName, why });
  }
  return faults;
}

/** faultCollectors stands a down collector in for each fault, so its `wattprint_collector_up` series is 0. */
export function faultCollectors(faults: readonly ProbeFault[]): Collector[] {
  return faults.map((f) => downCollector(f.name, f.why));
}

/** faultLines are the one-line stderr reports of the faults, said once at start. */
export function faultLines(faults: readonly ProbeFault[]): string[] {
  return faults.map((f) => `wattprint: ${f.name} is not measuring: ${f.why}`);
}

/**
 * faultNotes are the report's notes about collectors that never measured. Reads that timed out are counted
 * with the run's dropped readings ('… dropped by nvidia-smi: timeout 3'), which the stored report notes.
 */
export function faultNotes(faults: readonly ProbeFault[]): string[] {
  return faults.map((f) => `${f.name} not measured: ${f.why}`);
}

/** pendingStatuses is what `wattprint_collector_up` shows before probing ends: every requested collector, down, probing. */
export function pendingStatuses(requested: readonly string[] | undefined): CollectorStatus[] {
  return (requested ?? []).map((name) => ({ name, up: false, lastDurationSeconds: 0, errorsTotal: {}, lastError: 'probing' }));
}
