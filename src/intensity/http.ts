import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { proxiedRequest, proxyFor, proxySecrets } from './proxy.js';
import type { ProxySettings } from './proxy-settings.js';

/** HttpErrorKind classifies a failed request so providers can back off, stop, or fall back. */
export type HttpErrorKind =
  | 'unauthorized' // 401: bad or missing token: stop and report once
  | 'forbidden' // 403: token lacks access to this zone or endpoint
  | 'rate-limited' // 429: back off, honouring Retry-After
  | 'server' // 5xx
  | 'client' // other 4xx
  | 'redirect' // 3xx: never followed, so a token is never sent to another host
  | 'network'
  | 'timeout'
  | 'bad-response'; // not JSON

/** HttpError is a failed JSON request; its message never contains a secret (see redact). */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly kind: HttpErrorKind,
    readonly status?: number,
    /** Seconds from a 429/503 Retry-After header, when given as seconds or an HTTP date. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/**
 * redact replaces every occurrence of each secret, raw or URL-encoded, with '***' so a token never reaches
 * a log, error, metric or report. Derived forms (a base64 'user:pass') must be listed as secrets too.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out;
}

/** JsonRequest says what to send; secrets lists every credential that must never appear in an error. */
export interface JsonRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Whole-request timeout in milliseconds (default 10 000). */
  timeoutMs?: number;
  secrets?: readonly (string | undefined)[];
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as the agent read them (see proxy.ts). */
  proxy?: ProxySettings;
}

function kindOf(status: number): HttpErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'server';
  if (status >= 300 && status < 400) return 'redirect';
  return 'client';
}

function retryAfterSeconds(header: string | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const dateMs = Date.parse(header);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, Math.ceil((dateMs - nowMs) / 1000));
}

/**
 * requestJson performs one HTTP(S) request, through req.proxy where one applies, and parses a JSON body. No
 * redirects are followed; non-2xx
 * statuses, timeouts, network failures and non-JSON bodies reject with an HttpError whose message names
 * the method, the URL without query, the status and the fix, with every secret redacted.
 */
export function requestJson(url: string, req: JsonRequest = {}): Promise<unknown> {
  const secrets = [...(req.secrets ?? []), ...proxySecrets(req.proxy)];
  const target = new URL(url);
  const shownUrl = redact(`${target.origin}${target.pathname}`, secrets);
  const method = req.method ?? 'GET';
  const what = `${method} ${shownUrl}`;
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (message: string, kind: HttpErrorKind, status?: number, retry?: number, cause?: unknown): void => {
      const causeText = cause instanceof Error ? redact(cause.message, secrets) : undefined;
      reject(new HttpError(redact(message, secrets), kind, status, retry, causeText ? { cause: new Error(causeText) } : undefined));
    };
    let proxy: URL | undefined;
    try {
      proxy = proxyFor(target, req.proxy);
    } catch (err) {
      fail(`${what}: ${(err as Error).message}`, 'network');
      return;
    }
    const options = { method, headers, timeout: req.timeoutMs ?? 10_000 };
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (err) => fail(`${what}: response failed: ${err.message}`, 'network', undefined, undefined, err));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        if (status < 200 || status >= 300) {
          const retryHeader = response.headers['retry-after'];
          const retry = retryAfterSeconds(Array.isArray(retryHeader) ? retryHeader[0] : retryHeader, Date.now());
          const snippet = text.trim().slice(0, 200).replace(/\s+/g, ' ');
          fail(`${what}: HTTP ${status}${snippet ? `: ${snippet}` : ''}`, kindOf(status), status, retry);
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (err) {
          fail(`${what}: response is not JSON`, 'bad-response', status, undefined, err);
        }
      });
    };
    const request = proxy ? proxiedRequest(target, proxy, options, onResponse) : send(target, options, onResponse);
    request.on('timeout', () => request.destroy(new HttpError(`${what}: timed out`, 'timeout')));
    request.on('error', (err) => {
      if (err instanceof HttpError) fail(err.message, err.kind);
      else fail(`${what}: ${err.message}`, 'network', undefined, undefined, err);
    });
    if (body !== undefined) request.write(body);
    request.end();
  });
}
