/** HistoryPage is one history request's span [fromMs, toMs) in ms since epoch, UTC, on period boundaries. */
export interface HistoryPage {
  fromMs: number;
  toMs: number;
}

/**
 * historyPages lists the requests that cover the periods of periodSeconds overlapping [fromMs, toMs), each
 * at most maxRangeMs long (the API's limit: 14 days for the UK, 10 for Electricity Maps hourly, 32 for
 * WattTime), skipping periods `settled` says are already held for good. Consecutive unsettled periods share
 * a page. Pure.
 */
export function historyPages(
  fromMs: number,
  toMs: number,
  periodSeconds: number,
  maxRangeMs: number,
  settled: (periodStartMs: number) => boolean,
): HistoryPage[] {
  const periodMs = periodSeconds * 1000;
  const pages: HistoryPage[] = [];
  if (!(toMs > fromMs) || !(periodMs > 0)) return pages;
  // A page holds whole periods: at least one, even if the API's limit were shorter than a period.
  const perPage = Math.max(1, Math.floor(maxRangeMs / periodMs));
  let open: HistoryPage | undefined;
  for (let startMs = Math.floor(fromMs / periodMs) * periodMs; startMs < toMs; startMs += periodMs) {
    if (settled(startMs)) {
      open = undefined;
      continue;
    }
    if (open && open.toMs - open.fromMs < perPage * periodMs) {
      open.toMs = startMs + periodMs;
    } else {
      open = { fromMs: startMs, toMs: startMs + periodMs };
      pages.push(open);
    }
  }
  return pages;
}
