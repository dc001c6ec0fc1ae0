// Kept apart from proxy.ts (node:http, node:tls): every command that sets up carbon reads the settings, and
// only one that fetches needs the tunnel (loading TLS costs ~15 ms of start-up).

/**
 * ProxySettings are the HTTP proxies intensity API calls go through, as curl reads them from HTTPS_PROXY,
 * HTTP_PROXY and NO_PROXY (cluster nodes often reach the internet only through one). Node's own http/https
 * modules, and fetch, ignore those variables: wattprint tunnels itself.
 */
export interface ProxySettings {
  /** Proxy for https:// targets (HTTPS_PROXY), an http:// URL, optionally with user:password@. */
  httpsProxy?: string;
  /** Proxy for http:// targets (HTTP_PROXY). */
  httpProxy?: string;
  /** Comma-separated hosts, domains (`.corp` or `corp`: every host under it), `host:port`, or `*`. */
  noProxy?: string;
}

/** proxySettingsFromEnv reads the variables as curl does: lower case first, then upper case. */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const pick = (name: string): string | undefined => (env[name.toLowerCase()] || env[name] || undefined)?.trim() || undefined;
  const httpsProxy = pick('HTTPS_PROXY');
  const httpProxy = pick('HTTP_PROXY');
  const noProxy = pick('NO_PROXY');
  return { ...(httpsProxy ? { httpsProxy } : {}), ...(httpProxy ? { httpProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}
