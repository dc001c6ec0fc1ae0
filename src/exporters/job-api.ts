/**
 * The job API, version 1: what a training job tells its tracker (phases, progress, work) and asks it
 * (the live snapshot). JSON over HTTP, on the live server and on the private Unix socket `run` gives the job.
 * Documented in PROTOCOL.md ("Job API"); clients/python speaks it.
 */

/** JOB_API_VERSION is the version a body may name in "v"; other versions are refused. */
export const JOB_API_VERSION = 1;

/** PhaseEvent opens or closes one measurement window; atMs is wall time (ms), from the body's "at" (s) or receipt. */
export type PhaseEvent = ({ event: 'start'; id: string; name: string; atMs: number } | { event: 'end'; id: string; atMs: number }) & {
  /** The job's cumulative work counters at the edge, so the window's share of work is exact. */
  work?: { steps?: number; samples?: number; tokens?: number };
};

/** JobProgress is a progress report: any of fraction, steps of a total, cumulative samples and tokens. */
export interface JobProgress {
  fraction?: number;
  step?: number;
  totalSteps?: number;
  samples?: number;
  tokens?: number;
  atMs: number;
}

/** JobApi is what the tracker does with the job's calls; a refused call throws JobInputError. */
export interface JobApi {
  phase(event: PhaseEvent): void;
  progress(update: JobProgress): void;
}

/** JobInputError is a call that cannot be applied; status is the HTTP status, the message one line saying what to send. */
export class JobInputError extends Error {
  override readonly name = 'JobInputError';
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

const PHASE_USAGE = 'send {"event":"start","id":"p1","name":"eval"} or {"event":"end","id":"p1"} (optional "at": Unix seconds)';
const PROGRESS_USAGE = 'send any of {"step":420,"totalSteps":1000,"samples":13440,"tokens":6881280,"fraction":0.42} (cumulative totals)';
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const NAME = /^[A-Za-z0-9_.:/ -]{1,64}$/;

/** parsePhaseEvent validates a POST /api/v1/phase body. */
export function parsePhaseEvent(body: string, nowMs: number): PhaseEvent {
  const v = objectOf(body, PHASE_USAGE);
  const atMs = timeOf(v.at, nowMs, PHASE_USAGE);
  if (typeof v.id !== 'string' || !ID.test(v.id)) throw new JobInputError(`"id" must be 1–64 characters of letters, digits, _ . : -: ${PHASE_USAGE}`);
  const work = workOf(v.work);
  if (v.event === 'start') {
    if (typeof v.name !== 'string' || !NAME.test(v.name)) {
      throw new JobInputError(`"name" must be 1–64 characters of letters, digits, space, _ . : / -: ${PHASE_USAGE}`);
    }
    return { event: 'start', id: v.id, name: v.name, atMs, ...work };
  }
  if (v.event === 'end') return { event: 'end', id: v.id, atMs, ...work };
  throw new JobInputError(`"event" must be "start" or "end": ${PHASE_USAGE}`);
}

/** parseJobProgress validates a POST /api/v1/progress body (and the older POST /api/progress). */
export function parseJobProgress(body: string, nowMs: number): JobProgress {
  const v = objectOf(body, PROGRESS_USAGE);
  const out: JobProgress = { atMs: timeOf(v.at, nowMs, PROGRESS_USAGE) };
  if (v.fraction !== undefined) {
    if (typeof v.fraction !== 'number' || !Number.isFinite(v.fraction) || v.fraction < 0 || v.fraction > 1) {
      throw new JobInputError(`"fraction" must be a number from 0 to 1: ${PROGRESS_USAGE}`);
    }
    out.fraction = v.fraction;
  }
  for (const key of ['step', 'samples', 'tokens'] as const) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new JobInputError(`"${key}" must be a number ≥ 0: ${PROGRESS_USAGE}`);
    out[key] = x;
  }
  if (v.totalSteps !== undefined) {
    if (typeof v.totalSteps !== 'number' || !Number.isFinite(v.totalSteps) || v.totalSteps <= 0) {
      throw new JobInputError(`"totalSteps" must be a number > 0: ${PROGRESS_USAGE}`);
    }
    if (out.step === undefined) throw new JobInputError(`"totalSteps" needs "step": ${PROGRESS_USAGE}`);
    if (out.step > v.totalSteps) throw new JobInputError(`"step" (${out.step}) exceeds "totalSteps" (${v.totalSteps}): ${PROGRESS_USAGE}`);
    out.totalSteps = v.totalSteps;
  }
  if (out.fraction === undefined && out.step === undefined && out.samples === undefined && out.tokens === undefined) {
    throw new JobInputError(`progress body has none of "fraction", "step", "samples", "tokens": ${PROGRESS_USAGE}`);
  }
  return out;
}

function workOf(raw: unknown): { work?: PhaseEvent['work'] } {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new JobInputError(`"work" must be an object like {"steps":10,"tokens":40960}: ${PHASE_USAGE}`);
  const work: NonNullable<PhaseEvent['work']> = {};
  for (const unit of ['steps', 'samples', 'tokens'] as const) {
    const x = (raw as Record<string, unknown>)[unit];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new JobInputError(`"work.${unit}" must be a number ≥ 0: ${PHASE_USAGE}`);
    work[unit] = x;
  }
  return { work };
}

function objectOf(body: string, usage: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new JobInputError(`body is not JSON: ${usage}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JobInputError(`body must be a JSON object: ${usage}`);
  const v = value as Record<string, unknown>;
  if (v.v !== undefined && v.v !== JOB_API_VERSION) throw new JobInputError(`this tracker speaks job API v${JOB_API_VERSION}, not v${String(v.v)}: upgrade wattprint or the client`);
  return v;
}

function timeOf(at: unknown, nowMs: number, usage: string): number {
  if (at === undefined) return nowMs;
  if (typeof at !== 'number' || !Number.isFinite(at) || at <= 0) throw new JobInputError(`"at" must be Unix seconds (e.g. Python time.time()): ${usage}`);
  return at * 1000;
}
