import { COLLECTORS, COLLECTOR_NAMES } from '../collectors/index.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from '../collectors/types.js';
import type { DeviceKind } from '../src/types.js';
import { UsageError } from './errors.js';

/** ProbeOutcome is one collector's probe as shown by `doctor` and in the report notes. */
export interface ProbeOutcome {
  name: string;
  result: ProbeResult;
  /** Why it was not probed (a fallback not needed, a model whose kinds are measured, not selected). */
  skipped?: string;
}

/** Selection is the collectors a session uses and what every probe said. */
export interface Selection {
  collectors: Collector[];
  probes: ProbeOutcome[];
}

/** PROBE_TIMEOUT_MS bounds each collector's probe: a hung tool or driver call is a failed probe, not a wait. */
export const PROBE_TIMEOUT_MS = 2000;

/**
 * selectCollectors probes the collectors in list order. Default: every source that finds hardware, with the
 * models only for kinds nothing measures; `only` (--collectors) restricts, `drop` (--no-collector) removes.
 * A model standing in for a source that failed carries that source's reason and fix in its notes.
 */
export async function selectCollectors(ctx: CollectorContext, only: string[] | undefined, drop: string[], factories: readonly CollectorFactory[] = COLLECTORS,
  probeTimeoutMs = PROBE_TIMEOUT_MS): Promise<Selection> {
  checkCollectorNames(only, drop);
  const probes: ProbeOutcome[] = [];
  const collectors: Collector[] = [];
  const measuredKinds = new Set<DeviceKind>();
  const found = new Set<string>();
  const failures: { kinds: DeviceKind[]; text: string }[] = [];
  for (const f of factories) {
    const selected = only ? only.includes(f.name) : !f.explicitOnly;
    if (!selected || drop.includes(f.name)) continue;
    const fallback = f.fallbackOf?.find((n) => found.has(n));
    if (fallback && !only?.includes(f.name)) {
      probes.push({ name: f.name, result: { found: false, devices: [] }, skipped: `not needed: ${fallback} works` });
      continue;
    }
    if (f.role === 'model' && f.kinds.every((k) => measuredKinds.has(k))) {
      probes.push({ name: f.name, result: { found: false, devices: [] }, skipped: `not needed: ${f.kinds.join('/')} measured` });
      continue;
    }
    const result = await probeSafely(f, ctx, probeTimeoutMs);
    probes.push({ name: f.name, result });
    if (!result.found || !result.collector) {
      if (result.why && f.role === 'measure') failures.push({ kinds: f.kinds, text: `${f.name}: ${result.why}${result.fix ? `; fix: ${result.fix}` : ''}` });
      continue;
    }
    found.add(f.name);
    if (f.role === 'model') annotate(result.collector, failures);
    for (const d of result.collector.devices) measuredKinds.add(d.kind);
    collectors.push(result.collector);
  }
  return { collectors, probes };
}

/** checkCollectorNames refuses an unknown --collectors or --no-collector name (before anything starts). */
export function checkCollectorNames(only: readonly string[] | undefined, drop: readonly string[]): void {
  for (const name of [...(only ?? []), ...drop]) {
    if (!COLLECTOR_NAMES.includes(name)) {
      throw new UsageError(`unknown collector '${name}': choose from ${COLLECTOR_NAMES.join(', ')}`);
    }
  }
}

async function probeSafely(f: CollectorFactory, ctx: CollectorContext, timeoutMs: number): Promise<ProbeResult> {
  const probe = f.probe(ctx);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutMs); });
  try {
    const result = await Promise.race([probe, timedOut]);
    if (result) return result;
    // A probe that answers after all must not leave its collector (a stream child, open files) behind.
    probe.then((late) => late.collector?.close(), () => undefined);
    return { found: false, devices: [], why: `probe timed out after ${timeoutMs / 1000} s`, failed: true };
  } catch (err) {
    return { found: false, devices: [], why: `probe failed: ${(err as Error).message}`, failed: true };
  } finally {
    clearTimeout(timer);
  }
}

function annotate(collector: Collector, failures: { kinds: DeviceKind[]; text: string }[]): void {
  for (const device of collector.devices) {
    const reasons = failures.filter((f) => f.kinds.includes(device.kind)).map((f) => `not measured because ${f.text}`);
    if (reasons.length) device.notes = [...(device.notes ?? []), ...reasons];
  }
}

/** GPU_COLLECTORS are the collectors --gpus selects devices of. */
const GPU_COLLECTORS = ['nvml', 'nvidia-smi', 'amdgpu'];

/**
 * checkRequestedGpus refuses a --gpus that names a GPU this machine does not have: tracking on without it
 * would report the job's energy without that GPU's. Every GPU collector that found GPUs is asked; the error
 * names the GPUs they found. Returns a warning line when --gpus cannot matter (no GPU collector selected).
 */
export function checkRequestedGpus(requested: string[], probes: ProbeOutcome[]): string | undefined {
  const gpuProbes = probes.filter((p) => GPU_COLLECTORS.includes(p.name) && !p.skipped);
  if (gpuProbes.length === 0) return `--gpus ${requested.join(',')} has no effect: no GPU collector is selected (--collectors)`;
  const inventories = gpuProbes.filter((p) => p.result.gpus);
  const what = `--gpus ${requested.join(',')}`;
  if (inventories.length === 0) {
    const why = gpuProbes.map((p) => `${p.name}: ${p.result.why ?? 'no GPU'}`).join('; ');
    throw new UsageError(`${what}: no GPU found on this machine (${why}); leave --gpus out, or see \`wattprint doctor\``);
  }
  if (inventories.some((p) => p.result.gpus!.unmatched.length === 0)) return undefined;
  const unmatched = [...new Set(inventories.flatMap((p) => p.result.gpus!.unmatched))];
  const found = inventories.map((p) => `${p.result.gpus!.available.join(', ')} (${p.name})`).join('; ');
  throw new UsageError(`${what}: no GPU ${unmatched.map((e) => `'${e}'`).join(', ')} here; found ${found}: pass indices or UUIDs from that list`);
}
