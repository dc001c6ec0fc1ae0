import type { DeviceKind } from '../types.js';

/**
 * Embodied (Scope 3) emissions of the hardware a run used: each component's manufacturing emissions,
 * amortised linearly over its service life, times the run's hours. Kept apart from the operational
 * (Scope 2) figures: never added to them, never in Table 4.
 *
 * Defaults, per component:
 * - GPU: 150 kgCO2e per GPU over 6 years — Luccioni, Viguier and Ligozat, "Estimating the Carbon Footprint of
 *   BLOOM, a 176B Parameter Language Model", JMLR 24(253), 2023 (arXiv:2211.02001), for an NVIDIA A100, with
 *   the paper's 6-year replacement rate. (Cloud Carbon Footprint also adds 150 kgCO2e per GPU.)
 * - TPU: no published per-chip life-cycle figure; the A100's 150 kg over 6 years is used, marked assumed.
 * - Host of a GPU/TPU node (CPUs, memory, board, chassis, storage): 2,500 kgCO2e per node over 6 years —
 *   the same paper's figure for an HPE Apollo 6500 Gen10 Plus node without its GPUs.
 * - Host of a CPU-only run: 1,000 kgCO2e per server over 4 years — Cloud Carbon Footprint's baseline server
 *   (from Dell's PowerEdge R740 life-cycle assessment) and CCF's default 4-year life.
 * Memory and CPUs are inside the host figure; they get no line of their own.
 */

/** EmbodiedComponent is what a line of the embodied section counts. */
export type EmbodiedComponent = 'gpu' | 'tpu' | 'host';

/** EmbodiedDefault is one component's manufacturing emissions (kg CO2e per unit), life (years) and source. */
export interface EmbodiedDefault {
  kgPerUnit: number;
  lifetimeYears: number;
  source: string;
}

const BLOOM = 'Luccioni et al. 2023, "Estimating the Carbon Footprint of BLOOM" (JMLR 24(253), arXiv:2211.02001)';

/** EMBODIED_DEFAULTS are the published figures used when nothing is given (see the file comment). */
export const EMBODIED_DEFAULTS: Readonly<Record<'gpu' | 'tpu' | 'gpuHost' | 'cpuHost', EmbodiedDefault>> = {
  gpu: { kgPerUnit: 150, lifetimeYears: 6, source: `${BLOOM}: NVIDIA A100, 6-year replacement` },
  tpu: { kgPerUnit: 150, lifetimeYears: 6, source: `assumed: no published TPU life-cycle figure; the A100's from ${BLOOM}` },
  gpuHost: { kgPerUnit: 2500, lifetimeYears: 6, source: `${BLOOM}: HPE Apollo 6500 Gen10 Plus node without GPUs` },
  cpuHost: { kgPerUnit: 1000, lifetimeYears: 4, source: 'Cloud Carbon Footprint embodied-emissions baseline server (Dell PowerEdge R740 LCA), 4-year life' },
};

/** EmbodiedSettings are the user's overrides: kg per unit and life in years, per component or for all. */
export interface EmbodiedSettings {
  /** kg CO2e per unit by component; `all` replaces every component by one figure for the whole node. */
  kg?: Partial<Record<EmbodiedComponent | 'all', number>>;
  lifetimeYears?: Partial<Record<EmbodiedComponent | 'all', number>>;
}

/** EmbodiedLine is one component's share: units × kg/unit × run hours ÷ (life × 8,760 h). */
export interface EmbodiedLine {
  component: EmbodiedComponent | 'node';
  units: number;
  kgPerUnit: number;
  lifetimeYears: number;
  kg: number;
  source: string;
}

/** Embodied is the report's `embodied` section (Scope 3, apart from the operational figures). */
export interface Embodied {
  kgCo2e: number;
  hours: number;
  lines: EmbodiedLine[];
  method: string;
}

const HOURS_PER_YEAR = 8760;

/**
 * embodiedEmissions amortises the manufacturing emissions of a run's hardware over its life: per line,
 * units × kgPerUnit × hours ÷ (lifetimeYears × 8,760). Units: GPUs and TPUs counted from the devices, one
 * host per node (nodes: the distinct 'node/' prefixes of device ids, else one). Pure.
 */
export function embodiedEmissions(devices: readonly { id: string; kind: DeviceKind }[], hours: number, settings: EmbodiedSettings = {}): Embodied {
  const nodes = Math.max(1, new Set(devices.map((d) => (d.id.includes('/') ? d.id.slice(0, d.id.lastIndexOf('/')) : ''))).size);
  const gpus = devices.filter((d) => d.kind === 'gpu').length;
  const tpus = devices.filter((d) => d.kind === 'tpu').length;
  const line = (component: EmbodiedLine['component'], units: number, d: EmbodiedDefault, kgOverride?: number, lifeOverride?: number): EmbodiedLine => {
    const kgPerUnit = kgOverride ?? d.kgPerUnit;
    const lifetimeYears = lifeOverride ?? d.lifetimeYears;
    const given = [kgOverride !== undefined ? '--embodied-kg' : '', lifeOverride !== undefined ? '--lifetime-years' : ''].filter(Boolean);
    const source = !given.length ? d.source
      : `${given.join(' and ')}${kgOverride === undefined ? `; kg from ${d.source}` : ''}${lifeOverride === undefined ? `; life from ${d.source}` : ''}`;
    return { component, units, kgPerUnit, lifetimeYears, kg: (units * kgPerUnit * hours) / (lifetimeYears * HOURS_PER_YEAR), source };
  };
  const lines: EmbodiedLine[] = [];
  if (settings.kg?.all !== undefined) {
    // One figure for the whole node: its life defaults to the node kind's (6 years with accelerators, else 4).
    const nodeLife = gpus + tpus > 0 ? EMBODIED_DEFAULTS.gpuHost.lifetimeYears : EMBODIED_DEFAULTS.cpuHost.lifetimeYears;
    lines.push(line('node', nodes, { kgPerUnit: settings.kg.all, lifetimeYears: nodeLife, source: `the ${nodeLife}-year default of a ${gpus + tpus > 0 ? 'GPU/TPU' : 'CPU'} node` }, settings.kg.all, settings.lifetimeYears?.all));
  } else {
    if (gpus) lines.push(line('gpu', gpus, EMBODIED_DEFAULTS.gpu, settings.kg?.gpu, settings.lifetimeYears?.gpu ?? settings.lifetimeYears?.all));
    if (tpus) lines.push(line('tpu', tpus, EMBODIED_DEFAULTS.tpu, settings.kg?.tpu, settings.lifetimeYears?.tpu ?? settings.lifetimeYears?.all));
    const host = gpus + tpus > 0 ? EMBODIED_DEFAULTS.gpuHost : EMBODIED_DEFAULTS.cpuHost;
    if (devices.length) lines.push(line('host', nodes, host, settings.kg?.host, settings.lifetimeYears?.host ?? settings.lifetimeYears?.all));
  }
  return {
    kgCo2e: lines.reduce((s, l) => s + l.kg, 0),
    hours,
    lines,
    method: 'Scope 3, apart from the operational figures: manufacturing emissions amortised linearly over the service life × the run\'s hours (no utilisation factor)',
  };
}

/**
 * parseEmbodiedList reads --embodied-kg / --lifetime-years: a number (the whole node's kg, or every life in
 * years) or COMPONENT=VALUE pairs (gpu, tpu, host), comma-separated or repeated. Throws a one-line Error.
 */
export function parseEmbodiedList(text: string, flag: string, previous: Partial<Record<EmbodiedComponent | 'all', number>> = {}): Partial<Record<EmbodiedComponent | 'all', number>> {
  const out = { ...previous };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? 'all' : part.slice(0, eq).trim().toLowerCase();
    const value = Number(eq < 0 ? part : part.slice(eq + 1));
    if (!['all', 'gpu', 'tpu', 'host'].includes(key)) throw new Error(`${flag} takes a number or gpu=N,tpu=N,host=N, got '${part}'`);
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`${flag} needs positive numbers, got '${part}'`);
    out[key as EmbodiedComponent | 'all'] = value;
  }
  return out;
}
