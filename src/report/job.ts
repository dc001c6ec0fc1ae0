import { WORK_UNITS, type PhaseRecord, type Work } from '../ledger/phases.js';
import { joulesToKwh } from '../units.js';

/** Efficiency is energy and CO2e per unit of the job's work: IT joules per step, sample and token, grams per million tokens. */
export interface Efficiency {
  itJoulesPerStep?: number;
  itJoulesPerSample?: number;
  itJoulesPerToken?: number;
  facilityJoulesPerToken?: number;
  co2eGramsPerMillionTokens?: number;
  co2eGramsPerThousandSamples?: number;
}

/** ReportPhase is one measurement window of the job: when, how long, its energy, CO2e, work and efficiency. */
export interface ReportPhase {
  id: string;
  name: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  itKwh: number;
  facilityKwh: number;
  co2eLocationKg: number;
  co2eMarketKg: number;
  work?: Work;
  efficiency?: Efficiency;
}

/** ReportPhaseTotal sums the windows of one phase name. */
export interface ReportPhaseTotal {
  name: string;
  windows: number;
  seconds: number;
  itKwh: number;
  facilityKwh: number;
  co2eLocationKg: number;
  co2eMarketKg: number;
  work?: Work;
  efficiency?: Efficiency;
}

/** JobSection is what the report says of the job itself: phases, work done, efficiency. */
export interface JobSection {
  phases?: ReportPhase[];
  phasesByName?: ReportPhaseTotal[];
  work?: Work;
  efficiency?: Efficiency;
}

interface Cost {
  itJoules: number;
  facilityJoules: number;
  co2eLocationGrams: number;
}

/**
 * efficiencyOf divides a cost by the work it bought, for each unit of work known and > 0:
 * J/step, J/sample, J/token (IT energy, before PUE), facility J/token, location gCO2e per million tokens.
 */
export function efficiencyOf(cost: Cost, work: Work | undefined): Efficiency | undefined {
  if (!work) return undefined;
  const e: Efficiency = {};
  const per = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  const steps = per(work.steps), samples = per(work.samples), tokens = per(work.tokens);
  if (steps) e.itJoulesPerStep = cost.itJoules / steps;
  if (samples) {
    e.itJoulesPerSample = cost.itJoules / samples;
    e.co2eGramsPerThousandSamples = (cost.co2eLocationGrams / samples) * 1e3;
  }
  if (tokens) {
    e.itJoulesPerToken = cost.itJoules / tokens;
    e.facilityJoulesPerToken = cost.facilityJoules / tokens;
    e.co2eGramsPerMillionTokens = (cost.co2eLocationGrams / tokens) * 1e6;
  }
  return Object.keys(e).length ? e : undefined;
}

/** workBetween is the work done between two readings of the cumulative counters (units known at both ends). */
export function workBetween(start: Work, end: Work | undefined): Work | undefined {
  if (!end) return undefined;
  const w: Work = {};
  for (const unit of WORK_UNITS) {
    const a = start[unit] ?? 0, b = end[unit];
    if (b !== undefined) w[unit] = Math.max(0, b - a);
  }
  return Object.keys(w).length ? w : undefined;
}

/** jobSection builds the report's phases (each window, and per name), work and efficiency; endMs closes open windows. */
export function jobSection(phases: readonly PhaseRecord[], work: Work | undefined, runCost: Cost, endMs: number): JobSection {
  const out: JobSection = {};
  const knownWork = work && Object.keys(work).length ? work : undefined;
  if (knownWork) {
    out.work = { ...knownWork };
    const e = efficiencyOf(runCost, knownWork);
    if (e) out.efficiency = e;
  }
  if (!phases.length) return out;
  out.phases = phases.map((p) => {
    const end = p.endMs ?? endMs;
    const w = workBetween(p.workAtStart, p.workAtEnd ?? knownWork);
    const e = efficiencyOf(p, w);
    return {
      id: p.id, name: p.name, startedAt: new Date(p.startMs).toISOString(), endedAt: new Date(end).toISOString(),
      seconds: Math.max(0, (end - p.startMs) / 1000), itKwh: joulesToKwh(p.itJoules), facilityKwh: joulesToKwh(p.facilityJoules),
      co2eLocationKg: p.co2eLocationGrams / 1000, co2eMarketKg: p.co2eMarketGrams / 1000, ...(w ? { work: w } : {}), ...(e ? { efficiency: e } : {}),
    };
  });
  const byName = new Map<string, ReportPhaseTotal & { cost: Cost; workSum: Work }>();
  for (const [i, p] of phases.entries()) {
    const rp = out.phases[i]!;
    const t = byName.get(p.name) ?? {
      name: p.name, windows: 0, seconds: 0, itKwh: 0, facilityKwh: 0, co2eLocationKg: 0, co2eMarketKg: 0,
      cost: { itJoules: 0, facilityJoules: 0, co2eLocationGrams: 0 }, workSum: {},
    };
    t.windows++;
    t.seconds += rp.seconds;
    t.itKwh += rp.itKwh;
    t.facilityKwh += rp.facilityKwh;
    t.co2eLocationKg += rp.co2eLocationKg;
    t.co2eMarketKg += rp.co2eMarketKg;
    t.cost.itJoules += p.itJoules;
    t.cost.facilityJoules += p.facilityJoules;
    t.cost.co2eLocationGrams += p.co2eLocationGrams;
    for (const unit of WORK_UNITS) if (rp.work?.[unit] !== undefined) t.workSum[unit] = (t.workSum[unit] ?? 0) + rp.work[unit]!;
    byName.set(p.name, t);
  }
  out.phasesByName = [...byName.values()].map(({ cost, workSum, ...t }) => {
    const w = Object.keys(workSum).length ? workSum : undefined;
    const e = efficiencyOf(cost, w);
    return { ...t, ...(w ? { work: w } : {}), ...(e ? { efficiency: e } : {}) };
  });
  return out;
}
