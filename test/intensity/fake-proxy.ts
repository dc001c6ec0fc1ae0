import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** ProxyLog is what a recording proxy saw: CONNECT tunnels, absolute-URI requests, and the bytes it relayed. */
export interface ProxyLog {
  /** 'CONNECT 127.0.0.1:443' or 'GET http://127.0.0.1:8080/path', in order. */
  requests: string[];
  /** Proxy-Authorization headers received, in order ('' when none). */
  authorizations: string[];
  /** Every byte the client sent through a tunnel (TLS: the proxy must not be able to read the token). */
  tunnelled: Buffer[];
}

/** FakeProxy is a running loopback HTTP proxy. */
export interface FakeProxy {
  url: string;
  log: ProxyLog;
  close(): Promise<void>;
}

/**
 * startFakeProxy is a forward proxy on 127.0.0.1, as squid or a corporate proxy would be, that records what it
 * is asked. It relays to loopback only (anything else gets 403: tests never reach another host); with
 * `requireAuth` it answers 407 unless the Proxy-Authorization header is that value.
 */
export async function startFakeProxy(opts: { requireAuth?: string } = {}): Promise<FakeProxy> {
  const log: ProxyLog = { requests: [], authorizations: [], tunnelled: [] };
  const sockets = new Set<Socket>();
  const allowed = (auth: string | undefined): boolean => !opts.requireAuth || auth === opts.requireAuth;
  const server: Server = createServer((req, res) => {
    log.requests.push(`${req.method} ${req.url}`);
    log.authorizations.push(req.headers['proxy-authorization'] ?? '');
    if (!allowed(req.headers['proxy-authorization'])) return void res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
    const target = new URL(req.url ?? '');
    if (target.hostname !== '127.0.0.1') return void res.writeHead(403).end('loopback only');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = request(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    log.requests.push(`CONNECT ${req.url}`);
    log.authorizations.push(req.headers['proxy-authorization'] ?? '');
    sockets.add(client);
    if (!allowed(req.headers['proxy-authorization'])) return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
    const [host, port] = (req.url ?? '').split(':');
    if (host !== '127.0.0.1') return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.on('data', (chunk: Buffer) => log.tunnelled.push(chunk));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
