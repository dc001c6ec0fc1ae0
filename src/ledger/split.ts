/** MINUTE_MS is the storage bucket: per-device energy is kept per UTC minute. */
export const MINUTE_MS = 60_000;

/** TimePiece is the part of an energy that falls inside one bucket. */
export interface TimePiece {
  /** Bucket start, ms since epoch (UTC), a multiple of the bucket length. */
  bucketStartMs: number;
  energyJoules: number;
}

/**
 * splitByTime spreads energy over [startMs, endMs] into buckets of bucketMs, proportionally to time.
 * The pieces sum exactly to energyJoules (the last piece takes the rounding remainder), so nothing is lost
 * or double counted at a boundary. A zero-length interval lands wholly in the bucket of endMs.
 */
export function splitByTime(startMs: number, endMs: number, energyJoules: number, bucketMs = MINUTE_MS): TimePiece[] {
  const firstBucketMs = Math.floor(startMs / bucketMs) * bucketMs;
  if (endMs <= startMs || endMs - firstBucketMs <= bucketMs) {
    const bucketStartMs = endMs > startMs ? firstBucketMs : Math.floor(endMs / bucketMs) * bucketMs;
    return [{ bucketStartMs, energyJoules }];
  }
  const spanMs = endMs - startMs;
  const pieces: TimePiece[] = [];
  let assignedJoules = 0;
  for (let bucketStartMs = firstBucketMs; bucketStartMs < endMs; bucketStartMs += bucketMs) {
    const overlapMs = Math.min(endMs, bucketStartMs + bucketMs) - Math.max(startMs, bucketStartMs);
    if (overlapMs <= 0) continue;
    const isLast = bucketStartMs + bucketMs >= endMs;
    const pieceJoules = isLast ? energyJoules - assignedJoules : (energyJoules * overlapMs) / spanMs;
    assignedJoules += pieceJoules;
    pieces.push({ bucketStartMs, energyJoules: pieceJoules });
  }
  return pieces;
}
