import { chmodSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Snapshot } from '../snapshot.js';
import { JobInputError, parseJobProgress, parsePhaseEvent, type JobApi } from './job-api.js';

/** JOB_ROUTES are the job API's routes and their methods. */
export const JOB_ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  '/api/v1/phase': 'POST',
  '/api/v1/progress': 'POST',
  '/api/v1/snapshot': 'GET',
};

/** MAX_BODY_BYTES bounds a request body: the job API's bodies are a few hundred bytes. */
export const MAX_BODY_BYTES = 4096;

/** JobRouteDeps is what the job routes need: the live snapshot, the job API, and the clock (wall ms). */
export interface JobRouteDeps {
  getSnapshot: () => Snapshot;
  job?: JobApi;
  nowMs?: () => number;
}

/**
 * serveJobRoute answers one job API request (path and method already checked against JOB_ROUTES): 200 with
 * a JSON echo, 4xx with {"error": one line saying what to send}, 503 when no job is tracked here.
 */
export async function serveJobRoute(req: IncomingMessage, res: ServerResponse, path: string, deps: JobRouteDeps): Promise<void> {
  if (path === '/api/v1/snapshot') return sendJson(res, 200, deps.getSnapshot());
  if (!deps.job) return sendJson(res, 503, { error: 'this agent tracks no job: phases and progress come from a job under `wattprint run`' });
  const body = await readBody(req);
  if (body === undefined) return sendJson(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
  const nowMs = deps.nowMs?.() ?? Date.now();
  try {
    if (path === '/api/v1/phase') {
      const event = parsePhaseEvent(body, nowMs);
      deps.job.phase(event);
      return sendJson(res, 200, { ok: true, id: event.id, ...(event.event === 'start' ? { name: event.name } : {}) });
    }
    const update = parseJobProgress(body, nowMs);
    deps.job.progress(update);
    const { atMs: _at, ...echo } = update;
    return sendJson(res, 200, { ok: true, ...echo });
  } catch (err) {
    if (err instanceof JobInputError) return sendJson(res, err.status, { error: err.message });
    throw err;
  }
}

/** JobSocket is the private job API endpoint `run` gives its child. */
export interface JobSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * startJobSocket serves the job API (and the older /api/progress, /api/snapshot) on a Unix socket, mode 0600:
 * the job reaches its tracker without a port or a token, also with --no-listen; only its user can connect.
 */
export async function startJobSocket(path: string, deps: JobRouteDeps): Promise<JobSocket> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://wattprint.invalid');
    const route = url.pathname === '/api/progress' ? '/api/v1/progress' : url.pathname === '/api/snapshot' ? '/api/v1/snapshot' : url.pathname;
    const method = JOB_ROUTES[route];
    if (url.pathname === '/healthz') return void sendJson(res, 200, { ok: true });
    if (!method) return void sendJson(res, 404, { error: `no route ${url.pathname}: the job API is ${Object.keys(JOB_ROUTES).join(', ')}` });
    if (req.method !== method) return void sendJson(res, 405, { error: `method not allowed: use ${method}` });
    serveJobRoute(req, res, route, deps).catch((err: unknown) => sendJson(res, 500, { error: `internal error: ${String(err)}` }));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** readBody reads a request body up to MAX_BODY_BYTES; undefined when it is larger (the caller answers 413). */
export function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}
