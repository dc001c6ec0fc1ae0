import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseHostPort, type HostPort } from './host-port.js';

/** isLoopbackHost says whether a listen host only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return false;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** FEED_SUBPROTOCOL is the WebSocket subprotocol the feed answers with when a client offers it. */
export const FEED_SUBPROTOCOL = 'wattprint';

/** TOKEN_SUBPROTOCOL_PREFIX marks a token offered as a WebSocket subprotocol: `bearer.<base64url of the token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * requestToken extracts a bearer token from the Authorization header, from a `bearer.<base64url>` WebSocket
 * subprotocol (how the dashboard sends it: a browser cannot set headers on a WebSocket, and a token in the
 * URL would land in proxies' access logs), or from the `token` query parameter.
 */
export function requestToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  const offered = req.headers['sec-websocket-protocol'];
  if (offered) {
    const entry = offered.split(',').map((p) => p.trim()).find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
    if (entry) return Buffer.from(entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  }
  return url.searchParams.get('token') ?? undefined;
}

/** tokenMatches compares in constant time (hashing first so lengths never leak). */
export function tokenMatches(expected: string | undefined, given: string | undefined): boolean {
  if (expected === undefined) return true;
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];

/** HostPolicy says which `Host` headers name this server (DNS rebinding: a page's own name never does). */
export interface HostPolicy {
  /** Names accepted with the server's own port or without a port. */
  names: Set<string>;
  /** Names accepted with one other port (an `--allowed-host NAME:PORT` behind a port mapping). */
  mapped: HostPort[];
  /** True for a wildcard bind: any address of this machine's interfaces is a name of the server. */
  anyLocalAddress: boolean;
}

/**
 * hostPolicy lists the names of a listen address: the loopback names for a loopback bind, else the bound
 * address itself (every interface address for 0.0.0.0 / ::), plus the operator's `--allowed-host` names.
 */
export function hostPolicy(listenHost: string, allowedHosts: readonly string[] = []): HostPolicy {
  const bound = listenHost.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const names = new Set<string>([bound]);
  if (isLoopbackHost(bound)) for (const n of LOOPBACK_NAMES) names.add(n);
  const mapped: HostPort[] = [];
  for (const raw of allowedHosts) {
    const hp = parseHostPort(raw);
    if (!hp) continue;
    if (hp.port === undefined) names.add(hp.name);
    else mapped.push(hp);
  }
  return { names, mapped, anyLocalAddress: bound === '0.0.0.0' || bound === '::' };
}

/**
 * hostAllowed checks a request's `Host` header against the policy and the server's own port (which must
 * match when the header gives one). A missing header is refused: every browser sends one.
 */
export function hostAllowed(header: string | undefined, policy: HostPolicy, serverPort: number,
  localAddresses: () => Iterable<string> = interfaceAddresses): boolean {
  if (header === undefined) return false;
  const hp = parseHostPort(header);
  if (!hp) return false;
  if (policy.mapped.some((m) => m.name === hp.name && m.port === hp.port)) return true;
  if (hp.port !== undefined && hp.port !== serverPort) return false;
  if (policy.names.has(hp.name)) return true;
  // An IP literal cannot be rebound: it names this server when one of its interfaces holds it.
  if (policy.anyLocalAddress && isIP(hp.name) !== 0) {
    for (const a of localAddresses()) if (a.toLowerCase() === hp.name) return true;
  }
  return false;
}

function* interfaceAddresses(): Iterable<string> {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) yield a.address;
}

/**
 * originAllowed rejects cross-site browser requests: a web page on another origin may not open the feed or
 * post progress (browsers always send Origin on those). Tools like curl and Prometheus send no Origin.
 * The origin must be the server's own as the request addressed it: scheme http (the server speaks nothing
 * else), the `Host` header's name and its port (80 when the header has none).
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = parseHostPort(req.headers.host ?? '');
  if (origin === 'null' || !host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '')) return false;
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port === '' ? 80 : Number(url.port);
  return name === host.name && port === (host.port ?? 80);
}
