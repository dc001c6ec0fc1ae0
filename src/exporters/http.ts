import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Snapshot } from '../snapshot.js';
import { hostAllowed, hostPolicy, isLoopbackHost, originAllowed, requestToken, tokenMatches } from './auth.js';
import { METRICS_CONTENT_TYPE, MetricsRenderer } from './metrics.js';
import type { JobApi } from './job-api.js';
import { JOB_ROUTES, MAX_BODY_BYTES, readBody, serveJobRoute } from './job-routes.js';
import { parseProgress, ProgressError, type ProgressUpdate } from './progress.js';
import { installFastScrape, type FastScrape } from './fast-scrape.js';
import { DASHBOARD_CSP, loadDashboardAssets, type StaticAsset } from './static.js';
import { LiveFeed, rejectUpgrade, type LiveTick } from './ws.js';

/** LiveServerOptions configure the agent's HTTP server (/metrics, /ws, dashboard, /api). */
export interface LiveServerOptions {
  /** Listen host; 127.0.0.1 by default in the CLI. */
  host: string;
  /** Listen port; 0 picks a free one (tests). */
  port: number;
  /** Required for a non-loopback host unless `insecure`; checked as bearer header or `?token=`. */
  token?: string;
  insecure?: boolean;
  /**
   * Extra names (NAME or NAME:PORT) a request's `Host` may carry besides those of the listen address; any
   * other Host gets 403 on every route, so a page whose DNS name was rebound to this address reads nothing.
   */
  allowedHosts?: readonly string[];
  /** WebSocket connection limit (default 1024). */
  maxClients?: number;
  /** Per-client WebSocket send buffer bound in bytes (default 1 MiB); a client above it is dropped. */
  maxBufferedBytes?: number;
  /** Ticks of power history a new dashboard receives (default 300). */
  historySize?: number;
  /** WebSocket keep-alive ping interval in milliseconds (default 30 000; 0 disables). */
  pingIntervalMs?: number;
  getSnapshot: () => Snapshot;
  /** Called on a valid POST /api/progress; without it the route answers 503. */
  onProgress?: (p: ProgressUpdate) => void;
  /** The job API (phases, progress, work: /api/v1/*); given, it also answers POST /api/progress. */
  job?: JobApi;
}

/** LiveServer is a started server. */
export interface LiveServer {
  host: string;
  port: number;
  /** Base URL, e.g. http://127.0.0.1:9477 (IPv6 hosts in brackets). */
  url: string;
  /** The dashboard's URL to print: with the token in the fragment (`/#token=…`), which browsers never send. */
  dashboardUrl: string;
  publish(snapshot: Snapshot): void;
  /** publishTick records a tick's power for the dashboard's history and sends it to the feed's clients, if any. */
  publishTick(tick: LiveTick): void;
  publishEvent(ev: { type: 'run_start' | 'run_end'; runId: string; at: string }): void;
  /** Scrapes of GET /metrics answered on the fast path (fast-scrape.ts) rather than through node:http. */
  readonly fastScrapes: number;
  close(): Promise<void>;
}

/** ListenError is a server that could not start; its message is one line with the fix. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(readonly code: 'EADDRINUSE' | 'EACCES' | 'INSECURE_BIND' | string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}


/** startLiveServer validates the bind, loads the dashboard, and listens. */
export async function startLiveServer(options: LiveServerOptions): Promise<LiveServer> {
  // Accept '[::1]' as well as '::1': the URL form is what users type after --listen.
  const opts = { ...options, host: options.host.replace(/^\[(.*)\]$/, '$1') };
  const where = `${opts.host}:${opts.port}`;
  if (!isLoopbackHost(opts.host) && !opts.token && !opts.insecure) {
    throw new ListenError('INSECURE_BIND',
      `refusing to serve energy data on ${where} without a token: pass --token SECRET, ` +
      `or --insecure to let anyone who can reach ${opts.host} read it, or listen on 127.0.0.1`);
  }
  const assets = loadDashboardAssets();
  const feed = new LiveFeed({
    getSnapshot: opts.getSnapshot, maxClients: opts.maxClients ?? 1024,
    maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024, historySize: opts.historySize ?? 300,
    pingIntervalMs: opts.pingIntervalMs ?? 30_000,
  });
  const renderer = new MetricsRenderer({
    serverStats: () => ({ wsClients: feed.clientCount, wsDroppedClientsTotal: feed.droppedTotal }),
  });
  const policy = hostPolicy(opts.host, opts.allowedHosts);
  let boundPort = opts.port;
  const guard: HostGuard = (req) => hostAllowed(req.headers.host, policy, boundPort);
  const server = createServer((req, res) => {
    if (!guard(req)) return sendError(res, 403, hostRefusal(req, opts.host));
    handle(req, res, opts, assets, renderer).catch((err: unknown) => sendError(res, 500, `internal error: ${String(err)}`));
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!guard(req)) return rejectUpgrade(socket, 403, 'Forbidden', hostRefusal(req, opts.host));
    const url = new URL(req.url ?? '/', 'http://wattprint.invalid');
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'Not Found', 'WebSocket feed is at /ws');
    if (!tokenMatches(opts.token, requestToken(req, url))) {
      return rejectUpgrade(socket, 401, 'Unauthorized', 'missing or wrong token: add ?token=TOKEN');
    }
    if (!originAllowed(req)) return rejectUpgrade(socket, 403, 'Forbidden', 'cross-origin WebSocket refused');
    feed.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const fast = installFastScrape(server, {
    hostAllowed: (host) => hostAllowed(host, policy, boundPort),
    tokenAllowed: (token) => tokenMatches(opts.token, token),
    body: () => renderer.renderBody(opts.getSnapshot()),
    contentType: METRICS_CONTENT_TYPE,
    keepAliveTimeoutMs: server.keepAliveTimeout,
    firstRequestTimeoutMs: server.headersTimeout,
  });
  await listen(server, opts.host, opts.port, where);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  boundPort = port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    host: opts.host, port, url: `http://${urlHost}:${port}`, dashboardUrl: dashboardUrl(`http://${urlHost}:${port}`, opts.token),
    publish: (snapshot) => feed.publish(snapshot),
    publishTick: (tick) => feed.publishTick(tick),
    publishEvent: (ev) => feed.publishEvent(ev),
    get fastScrapes() { return fast?.served ?? 0; },
    close: () => new Promise<void>((resolve) => {
      feed.close();
      server.close(() => resolve());
      server.closeAllConnections();
      fast?.closeAll();
    }),
  };
}

/**
 * dashboardUrl is the address that opens the dashboard already authorised: the token rides in the fragment,
 * which the browser keeps to itself (never in a request line, so never in server or proxy logs).
 */
export function dashboardUrl(baseUrl: string, token?: string): string {
  return `${baseUrl}/${token ? `#token=${encodeURIComponent(token)}` : ''}`;
}

type HostGuard = (req: IncomingMessage) => boolean;

function hostRefusal(req: IncomingMessage, listenHost: string): string {
  const given = req.headers.host === undefined ? 'no Host header' : `Host '${req.headers.host.slice(0, 100)}'`;
  return `${given} is not a name of this server (listening on ${listenHost}): use its address, or start it with --allowed-host NAME`;
}

function listen(server: Server, host: string, port: number, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'LISTEN';
      const fix = 'pass --listen HOST:PORT with a free port, or --no-listen';
      if (code === 'EADDRINUSE') reject(new ListenError(code, `port ${port} on ${host} is in use: ${fix}`, { cause: err }));
      else if (code === 'EACCES') {
        reject(new ListenError(code, `no permission to listen on ${where} (ports below 1024 need root): ${fix}`, { cause: err }));
      } else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        reject(new ListenError(code, `${host} is not an address of this machine: ${fix}`, { cause: err }));
      } else reject(new ListenError(code, `cannot listen on ${where} (${err.message}): ${fix}`, { cause: err }));
    });
    server.listen(port, host, () => resolve());
  });
}

async function handle(
  req: IncomingMessage, res: ServerResponse, opts: LiveServerOptions,
  assets: Map<string, StaticAsset>, renderer: MetricsRenderer,
): Promise<void> {
  // A plain path ('/metrics', what Prometheus asks every scrape) is taken as it is; anything else is parsed.
  const raw = req.url ?? '/';
  const url = /^\/[a-z/]*$/.test(raw) ? undefined : new URL(raw, 'http://wattprint.invalid');
  const path = url ? url.pathname : raw;
  const method = req.method ?? 'GET';
  if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  const asset = assets.get(path);
  if (asset) {
    // The page and its scripts carry no data, so they are served without the token; the page reads the
    // token from its URL fragment (or asks for it) and offers it on /ws as a subprotocol.
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    return send(res, 200, asset.contentType, asset.body);
  }
  const route = ROUTES[path];
  if (!route) return sendError(res, 404, `no route ${path}: try /, /metrics, /ws, /api/snapshot, /api/progress, /healthz`);
  if (opts.token !== undefined && !tokenMatches(opts.token, requestToken(req, url ?? new URL(raw, 'http://wattprint.invalid')))) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="wattprint"');
    return sendError(res, 401, 'missing or wrong token: send "Authorization: Bearer TOKEN" or add ?token=TOKEN');
  }
  if (method !== route) return methodNotAllowed(res, route);
  if (path === '/metrics') {
    return send(res, 200, METRICS_CONTENT_TYPE, renderer.renderBody(opts.getSnapshot()));
  }
  if (path === '/api/snapshot') return send(res, 200, 'application/json', JSON.stringify(opts.getSnapshot()));
  if (method === 'POST' && !originAllowed(req)) return sendError(res, 403, 'cross-origin job updates are refused');
  if (JOB_ROUTES[path]) return serveJobRoute(req, res, path, opts);
  if (opts.job) return serveJobRoute(req, res, '/api/v1/progress', opts);
  return postProgress(req, res, opts);
}

const ROUTES: Record<string, 'GET' | 'POST'> = { '/metrics': 'GET', '/api/snapshot': 'GET', '/api/progress': 'POST', ...JOB_ROUTES };

async function postProgress(req: IncomingMessage, res: ServerResponse, opts: LiveServerOptions): Promise<void> {
  if (!originAllowed(req)) return sendError(res, 403, 'cross-origin progress updates are refused');
  if (!opts.onProgress) return sendError(res, 503, 'this agent has no job to report progress for');
  const body = await readBody(req);
  if (body === undefined) return sendError(res, 413, `progress body over ${MAX_BODY_BYTES} bytes`);
  let update: ProgressUpdate;
  try {
    update = parseProgress(body);
  } catch (err) {
    if (err instanceof ProgressError) return sendError(res, 400, err.message);
    throw err;
  }
  opts.onProgress(update);
  return send(res, 200, 'application/json', JSON.stringify({ ok: true, ...update }));
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  send(res, status, 'application/json', JSON.stringify({ error: message }));
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendError(res, 405, `method not allowed: use ${allow}`);
}
