/**
 * A small client for Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`), enough for building a
 * job-level report. Queries go as form-encoded POSTs so a long PromQL expression never hits a URL limit.
 */

/** PromInstantSample is one series of an instant query; timestampSeconds is Unix seconds. */
export interface PromInstantSample {
  metric: Record<string, string>;
  value: number;
  timestampSeconds: number;
}

/** PromRangeSeries is one series of a range query: [Unix seconds, value] pairs, oldest first. */
export interface PromRangeSeries {
  metric: Record<string, string>;
  values: [number, number][];
}

/** PrometheusQueryError is a failed query; its message is one line naming the server and the fix. */
export class PrometheusQueryError extends Error {
  override name = 'PrometheusQueryError';
}

/** PrometheusClient runs PromQL against one server. */
export interface PrometheusClient {
  /** instant evaluates expr at atSeconds (Unix seconds) and returns its vector (a scalar is one unlabelled sample). */
  instant(expr: string, atSeconds: number): Promise<PromInstantSample[]>;
  /** samples returns the raw samples of a range selector (`metric{…}[5m]`) evaluated at atSeconds. */
  samples(selector: string, atSeconds: number): Promise<PromRangeSeries[]>;
  /** range evaluates expr at startSeconds, startSeconds + stepSeconds, … up to endSeconds. */
  range(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<PromRangeSeries[]>;
}

/** promString quotes a label value for PromQL (double quotes; backslash, quote and newline escaped). */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

interface ApiBody {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown };
}

/** prometheusClient builds a client for the server at baseUrl; timeoutMs bounds each request (default 30 000). */
export function prometheusClient(baseUrl: string, timeoutMs = 30_000): PrometheusClient {
  const base = baseUrl.replace(/\/+$/, '');
  const post = async (path: string, params: Record<string, string>): Promise<ApiBody['data']> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST', body: new URLSearchParams(params),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const why = (cause as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(cause);
      throw new PrometheusQueryError(`cannot reach Prometheus at ${baseUrl} (${why}): check --prometheus URL and that it is up`, { cause });
    }
    const text = await res.text();
    let body: ApiBody | undefined;
    try {
      body = JSON.parse(text) as ApiBody;
    } catch {
      // not the Prometheus API (a proxy's HTML page, a wrong port): reported below with the status
    }
    if (!body || body.status !== 'success' || !body.data) {
      const detail = body?.error ?? (text.trim().split('\n')[0] ?? '').slice(0, 200);
      throw new PrometheusQueryError(
        `Prometheus at ${baseUrl} answered HTTP ${res.status} to ${path} (${detail || 'no body'}): check --prometheus points at the Prometheus server itself`);
    }
    return body.data;
  };
  return {
    async instant(expr, atSeconds) {
      const data = (await post('/api/v1/query', { query: expr, time: String(atSeconds) }))!;
      if (data.resultType === 'scalar') {
        const [ts, v] = data.result as [number, string];
        return [{ metric: {}, value: Number(v), timestampSeconds: ts }];
      }
      return (data.result as { metric: Record<string, string>; value: [number, string] }[])
        .map((r) => ({ metric: r.metric, value: Number(r.value[1]), timestampSeconds: r.value[0] }));
    },
    async samples(selector, atSeconds) {
      return matrix((await post('/api/v1/query', { query: selector, time: String(atSeconds) }))!);
    },
    async range(expr, startSeconds, endSeconds, stepSeconds) {
      return matrix((await post('/api/v1/query_range', {
        query: expr, start: String(startSeconds), end: String(endSeconds), step: String(stepSeconds),
      }))!);
    },
  };
}

function matrix(data: NonNullable<ApiBody['data']>): PromRangeSeries[] {
  if (data.resultType !== 'matrix') throw new PrometheusQueryError(`expected a range vector from Prometheus, got ${data.resultType}`);
  return (data.result as { metric: Record<string, string>; values: [number, string][] }[])
    .map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
