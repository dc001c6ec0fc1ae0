/** MS_PER_HOUR is the length of one UTC hour in milliseconds. */
export const MS_PER_HOUR = 3_600_000;

/** periodStartMs returns the start (ms since epoch, UTC) of the period of periodSeconds that holds atMs. */
export function periodStartMs(atMs: number, periodSeconds: number): number {
  const periodMs = periodSeconds * 1000;
  return Math.floor(atMs / periodMs) * periodMs;
}
