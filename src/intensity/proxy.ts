import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import type { ProxySettings } from './proxy-settings.js';

/** proxyFor is the proxy URL a request to target goes through, or undefined to connect directly. */
export function proxyFor(target: URL, settings: ProxySettings | undefined): URL | undefined {
  if (!settings) return undefined;
  const raw = target.protocol === 'https:' ? settings.httpsProxy : target.protocol === 'http:' ? settings.httpProxy : undefined;
  if (!raw || bypassed(target, settings.noProxy)) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`proxy '${raw}' is not a URL: set ${target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'} to http://HOST:PORT`);
  }
  if (proxy.protocol !== 'http:') {
    throw new Error(`proxy ${proxy.origin}: only http:// proxies are supported (the tunnel to ${target.host} is TLS end to end anyway)`);
  }
  return proxy;
}

function bypassed(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (raw === '*') return true;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw);
    if (!m) continue;
    const entryHost = m[1]!.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === entryHost) return true;
    if (!isIP(host) && host.endsWith(`.${entryHost}`)) return true;
  }
  return false;
}

/** proxyAuthorization is the Proxy-Authorization header of a proxy URL with credentials. */
function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** proxySecrets are the proxy credentials, which errors must never show. */
export function proxySecrets(settings: ProxySettings | undefined): string[] {
  const out: string[] = [];
  for (const raw of [settings?.httpsProxy, settings?.httpProxy]) {
    try {
      const url = raw ? new URL(raw.includes('://') ? raw : `http://${raw}`) : undefined;
      if (url?.password) out.push(url.password, decodeURIComponent(url.password));
    } catch {
      // not a URL: proxyFor reports it
    }
  }
  return out;
}

/**
 * proxiedRequest sends one request through an HTTP proxy: an https:// target through a CONNECT tunnel (TLS
 * runs from here to the target, so the proxy sees neither the token nor the data), an http:// target as an
 * absolute-URI request to the proxy. The returned request behaves like http.request's.
 */
export function proxiedRequest(
  target: URL, proxy: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  const auth = proxyAuthorization(proxy);
  const via = { host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80) };
  if (target.protocol === 'http:') {
    return httpRequest({ ...options, ...via, path: target.href, headers: { ...options.headers, host: target.host, ...auth } }, onResponse);
  }
  const authority = `${target.hostname}:${target.port || 443}`;
  return httpRequest({
    ...options, host: target.hostname, port: Number(target.port || 443), path: `${target.pathname}${target.search}`,
    headers: { ...options.headers, host: target.host },
    // The request itself runs over a TLS socket inside the tunnel the proxy opens.
    createConnection: (_opts, done) => {
      const connect = httpRequest({ ...via, method: 'CONNECT', path: authority, headers: { host: authority, ...auth }, timeout: options.timeout });
      connect.once('connect', (res: IncomingMessage, socket: Socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          done(new Error(`proxy ${proxy.host} refused the tunnel to ${authority}: HTTP ${res.statusCode}${res.statusCode === 407 ? ' (proxy credentials needed: http://USER:PASSWORD@HOST:PORT)' : ''}`), undefined as never);
          return;
        }
        const tls = tlsConnect({ socket, host: target.hostname, ...(isIP(target.hostname) ? {} : { servername: target.hostname }) });
        tls.once('secureConnect', () => done(null, tls));
        tls.once('error', (err) => done(err, undefined as never));
      });
      connect.once('timeout', () => connect.destroy(new Error(`proxy ${proxy.host}: no answer to CONNECT`)));
      connect.once('error', (err) => done(new Error(`proxy ${proxy.host}: ${err.message}`), undefined as never));
      connect.end();
      return undefined as never;
    },
  }, onResponse);
}
