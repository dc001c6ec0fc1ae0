// Apart from auth.ts (node:crypto): the CLI parses --listen and --allowed-host for every command.

/** HostPort is a parsed `Host` header or `--allowed-host` value: a lower-case name (IPv6 without brackets). */
export interface HostPort {
  name: string;
  port?: number;
}

/** parseHostPort splits `name`, `name:port`, `[v6]` or `[v6]:port`; undefined when it is none of these. */
export function parseHostPort(value: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/@]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: (m[1] ?? m[2]!).toLowerCase(), port };
}
