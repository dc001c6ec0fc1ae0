import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

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

/**
 * originAllowed rejects cross-site browser requests: a web page on another origin may not open the feed or
 * post progress (browsers always send Origin on those). Tools like curl and Prometheus send no Origin.
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
