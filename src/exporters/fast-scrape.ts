import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The scrape fast path: Prometheus asks `GET /metrics` on a keep-alive connection every scrape interval, the same
 * few hundred bytes each time. Through node:http each answer costs ~0.85 ms of CPU at 1 request/s on the bench
 * machine (parser, IncomingMessage, ServerResponse, header objects) before any metric is rendered; answering the
 * plain request straight from the socket costs ~0.35 ms (npm run bench, README "Benchmarks").
 *
 * Only a request this module fully understands is answered here: one complete `GET /metrics HTTP/1.1` head in the
 * bytes received so far, well-formed header lines, no body, no upgrade, no `Expect`, a Host the server's policy
 * accepts and, when the server has a token, a matching bearer token. Anything else — a partial head, a second
 * request behind the first, a query string, HEAD, a refused Host or token, the dashboard, the WebSocket upgrade —
 * hands the connection, with every byte received, to node:http for good, which answers (or refuses) exactly as it
 * always has. So the fast path can only answer what the slow path would have answered with the same body.
 */
export interface FastScrapeOptions {
  /** True when the Host header names this server (the same check node:http's routes apply). */
  hostAllowed(host: string): boolean;
  /** True when the bearer token (undefined: no Authorization header) is accepted. */
  tokenAllowed(token: string | undefined): boolean;
  /** The /metrics body for this scrape. */
  body(): Buffer;
  contentType: string;
  /** Idle keep-alive connections are closed after this long, as node:http's keepAliveTimeout does (5000 ms). */
  keepAliveTimeoutMs: number;
  /** A new connection that sends nothing is closed after this long (node:http's headersTimeout, 60 000 ms). */
  firstRequestTimeoutMs: number;
}

/** FastScrape is installed on an http.Server before it listens. */
export interface FastScrape {
  /** Scrapes answered on the fast path (tests and diagnostics). */
  readonly served: number;
  /** Destroys the connections the fast path still holds (node:http's closeAllConnections closes its own). */
  closeAll(): void;
}

const MAX_HEAD_BYTES = 8192;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible ASCII, space and tab, and obs-text; no other control characters.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * installFastScrape puts the fast path in front of the server's own connection handling. It returns undefined
 * (and changes nothing) when the server does not handle connections through exactly one 'connection' listener,
 * the shape node:http has; the server then works as before, only slower.
 */
export function installFastScrape(server: Server, opts: FastScrapeOptions): FastScrape | undefined {
  const listeners = server.listeners('connection');
  if (listeners.length !== 1) return undefined;
  const httpConnection = listeners[0] as (socket: Socket) => void;
  server.removeListener('connection', httpConnection);
  const held = new Set<Socket>();
  let served = 0;
  let dateSecond = -1;
  let dateText = '';
  const httpDate = (): string => {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== dateSecond) {
      dateSecond = second;
      dateText = new Date(now).toUTCString();
    }
    return dateText;
  };

  server.on('connection', (socket: Socket) => {
    held.add(socket);
    const handOff = (received: Buffer | undefined): void => {
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('timeout', onTimeout);
      socket.setTimeout(0);
      socket.pause();
      httpConnection.call(server, socket);
      if (received) socket.unshift(received);
      socket.resume();
    };
    const onError = (): void => void socket.destroy();
    const onTimeout = (): void => void socket.destroy();
    const onData = (chunk: Buffer): void => {
      const head = chunk.length <= MAX_HEAD_BYTES ? fastRequest(chunk, opts) : false;
      if (!head) return handOff(chunk);
      let body: Buffer;
      try {
        body = opts.body();
      } catch {
        // node:http renders again and answers 500 with the error, as for any failing route.
        return handOff(chunk);
      }
      // One writev for head and body.
      socket.cork();
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: ${opts.contentType}\r\nCache-Control: no-store\r\nDate: ${httpDate()}\r\n` +
        `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`, 'latin1');
      socket.write(body);
      socket.uncork();
      served++;
      socket.setTimeout(opts.keepAliveTimeoutMs);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('timeout', onTimeout);
    socket.once('close', () => held.delete(socket));
    // A connection that sends nothing is closed after node:http's header timeout, as node:http would (a browser's
    // preconnected socket may wait seconds for its request); between scrapes, the keep-alive timeout applies.
    socket.setTimeout(opts.firstRequestTimeoutMs);
  });

  return {
    get served() { return served; },
    closeAll() {
      for (const socket of held) socket.destroy();
      held.clear();
    },
  };
}

/**
 * fastRequest is true when `chunk` is exactly one complete, well-formed `GET /metrics HTTP/1.1` request without a
 * body that the server accepts as it stands (Host, token); false sends it to node:http.
 */
export function fastRequest(chunk: Buffer, opts: Pick<FastScrapeOptions, 'hostAllowed' | 'tokenAllowed'>): boolean {
  const text = chunk.toString('latin1');
  if (!text.startsWith('GET /metrics HTTP/1.1\r\n')) return false;
  const end = text.indexOf('\r\n\r\n');
  // Exactly one request: anything after the head (a body, a pipelined request) goes to node:http.
  if (end < 0 || end + 4 !== text.length) return false;
  let host: string | undefined;
  let token: string | undefined;
  const lines = text.slice(23, end).split('\r\n');
  for (const line of lines) {
    if (line === '') return false;
    const colon = line.indexOf(':');
    if (colon <= 0) return false;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return false;
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) return false;
    switch (name.toLowerCase()) {
      case 'host':
        if (host !== undefined) return false;
        host = value;
        break;
      case 'authorization': {
        // One bearer token; anything else (another scheme, a second header) is node:http's to judge.
        const m = /^Bearer\s+(.+)$/i.exec(value);
        if (!m || token !== undefined) return false;
        token = m[1]!.trim();
        break;
      }
      case 'connection':
        if (value.toLowerCase() !== 'keep-alive') return false;
        break;
      case 'content-length':
        if (value !== '0') return false;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return false;
      default:
        break;
    }
  }
  if (host === undefined) return false;
  return opts.hostAllowed(host) && opts.tokenAllowed(token);
}
