import type { Snapshot } from '../snapshot.js';
import { METRICS_CONTENT_TYPE, renderMetricsOnce } from './metrics.js';

/** PushOptions tune a Pushgateway push. */
export interface PushOptions {
  /** Job label of the grouping key (default 'wattprint'). */
  job?: string;
  /** Whole-request timeout in milliseconds (default 10 000). */
  timeoutMs?: number;
}

/** PushgatewayError is a failed push; its message is one line naming the gateway and the fix. */
export class PushgatewayError extends Error {
  override name = 'PushgatewayError';
  constructor(message: string, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * groupingSegment encodes one grouping-key label for the URL path; values outside the safe set (or empty)
 * use the Pushgateway's `@base64` form, so a run id with '/' cannot change the path.
 */
export function groupingSegment(name: string, value: string): string {
  if (/^[A-Za-z0-9._~-]+$/.test(value)) return `${name}/${value}`;
  return `${name}@base64/${Buffer.from(value, 'utf8').toString('base64url') || '='}`;
}

/**
 * pushUrl is the PUT target for one node of a run: <gateway>/metrics/job/<job>/run_id/<runId>/instance/<host>.
 * The node is part of the group because a PUT replaces its whole group: with one agent per node and one run
 * id, grouping by run alone would let each node's push erase the others'.
 */
export function pushUrl(gatewayUrl: string, job: string, runId: string, instance: string): string {
  const base = gatewayUrl.replace(/\/+$/, '');
  return `${base}/metrics/${groupingSegment('job', job)}/${groupingSegment('run_id', runId)}/${groupingSegment('instance', instance)}`;
}

/**
 * pushFinalTotals PUTs a run's record at its end to a Pushgateway, replacing that run's group: the counters
 * (energy per device, facility energy, CO2e), run info with its final status, device info and start time.
 * Readings of "now" stay out — the gateway serves a pushed group for ever, so a power gauge pushed at the end
 * would make every "Power now" panel add up runs long finished — and so do self-metrics, which describe one
 * agent process, not the run. For jobs shorter than a scrape interval, and for totals after the agent is gone.
 */
export async function pushFinalTotals(url: string, snapshot: Snapshot, opts: PushOptions = {}): Promise<void> {
  const target = pushUrl(url, opts.job ?? 'wattprint', snapshot.runId, snapshot.hostname);
  const body = await renderMetricsOnce(snapshot, { includeSelfMetrics: false, excludeLive: true });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'PUT', body, headers: { 'Content-Type': METRICS_CONTENT_TYPE },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    const why = (cause as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(cause);
    throw new PushgatewayError(`push to Pushgateway ${url} failed (${why}): check --pushgateway URL and that it is up`, undefined, { cause });
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new PushgatewayError(
      `Pushgateway ${url} refused the push with HTTP ${res.status}${text ? `: ${text}` : ''}: check --pushgateway URL`,
      res.status,
    );
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
