/** ProgressUpdate is what a job reports through POST /api/progress: a fraction 0..1, or steps done of a total. */
export interface ProgressUpdate {
  fraction?: number;
  step?: number;
  totalSteps?: number;
}

/** ProgressError is a bad /api/progress body; its message is one line telling the caller what to send. */
export class ProgressError extends Error {
  override name = 'ProgressError';
}

const USAGE = 'send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}';

/**
 * parseProgress validates a POST /api/progress body. Either `fraction` in [0, 1], or `step` ≥ 0 with
 * `totalSteps` > 0 and step ≤ totalSteps; anything else is a ProgressError.
 */
export function parseProgress(body: string): ProgressUpdate {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (cause) {
    throw new ProgressError(`progress body is not JSON: ${USAGE}`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProgressError(`progress body must be a JSON object: ${USAGE}`);
  }
  const v = value as Record<string, unknown>;
  if (v.fraction !== undefined) {
    const f = v.fraction;
    if (typeof f !== 'number' || !Number.isFinite(f) || f < 0 || f > 1) {
      throw new ProgressError(`"fraction" must be a number from 0 to 1: ${USAGE}`);
    }
    return { fraction: f };
  }
  if (v.step !== undefined || v.totalSteps !== undefined) {
    const { step, totalSteps } = v;
    if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) {
      throw new ProgressError(`"step" must be a number ≥ 0: ${USAGE}`);
    }
    if (typeof totalSteps !== 'number' || !Number.isFinite(totalSteps) || totalSteps <= 0) {
      throw new ProgressError(`"totalSteps" must be a number > 0: ${USAGE}`);
    }
    if (step > totalSteps) throw new ProgressError(`"step" (${step}) exceeds "totalSteps" (${totalSteps}): ${USAGE}`);
    return { fraction: step / totalSteps, step, totalSteps };
  }
  throw new ProgressError(`progress body has neither "fraction" nor "step"/"totalSteps": ${USAGE}`);
}
