import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { fastRequest, installFastScrape } from '../../src/exporters/fast-scrape.js';
import { startLiveServer, type LiveServer, type LiveServerOptions } from '../../src/exporters/http.js';
import { sampleSnapshot } from './snapshots.js';

// The scrape fast path answers a plain `GET /metrics` straight from the socket; everything else goes to
// node:http with the bytes received. These tests talk raw HTTP/1.1 over real loopback sockets, so they see
// exactly what Prometheus sees, and check which path answered through the server's fast-scrape count.

const servers: LiveServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<LiveServerOptions> = {}): Promise<LiveServer> {
  const snapshot = sampleSnapshot({ tick: 10 });
  const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => snapshot, ...extra });
  servers.push(server);
  return server;
}

interface Reply { status: number; headers: Record<string, string>; body: string }

/** A raw HTTP/1.1 client: writes bytes, parses Content-Length or chunked responses in order. */
class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => {});
  }
  static async open(server: LiveServer): Promise<RawClient> {
    const socket = connect(server.port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new RawClient(socket);
  }
  private wake(): void { for (const w of this.waiters.splice(0)) w(); }
  private async more(): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  write(text: string): void { this.socket.write(text, 'latin1'); }
  async reply(): Promise<Reply> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more();
    const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(head[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    this.buf = this.buf.subarray(end + 4);
    let body: Buffer;
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      while (this.buf.length < n) await this.more();
      body = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        let eol: number;
        while ((eol = this.buf.indexOf('\r\n')) < 0) await this.more();
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1'), 16);
        while (this.buf.length < eol + 2 + size + 2) await this.more();
        parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
        this.buf = this.buf.subarray(eol + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else {
      body = Buffer.alloc(0);
    }
    return { status, headers, body: body.toString('utf8') };
  }
  async closedWithin(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
}

const scrape = (host: string, extra = ''): string =>
  `GET /metrics HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Prometheus/2.42.0\r\nAccept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n` +
  `Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n${extra}\r\n`;

describe('scrape fast path', () => {
  it('answers repeated scrapes on one keep-alive connection with the body node:http serves', async () => {
    const s = await start();
    const host = `127.0.0.1:${s.port}`;
    const c = await RawClient.open(s);
    c.write(scrape(host));
    const first = await c.reply();
    c.write(scrape(host));
    const second = await c.reply();
    expect(s.fastScrapes).toBe(2);
    // The same body through node:http: a query string is not the fast path's to answer.
    const slow = await fetch(`${s.url}/metrics?x=1`);
    expect(s.fastScrapes).toBe(2);
    const slowBody = await slow.text();
    expect(first.status).toBe(200);
    expect(first.body).toBe(slowBody);
    expect(second.body).toBe(slowBody);
    expect(first.body).toContain('wattprint_facility_energy_joules_total{run_id="run-42",team="ml"} 3150\n');
    expect(first.headers['content-type']).toBe(slow.headers.get('content-type'));
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.headers['content-length']).toBe(String(Buffer.byteLength(slowBody)));
    expect(first.headers['connection']).toBe('keep-alive');
    expect(first.headers['keep-alive']).toBe('timeout=5');
    expect(new Date(first.headers['date']!).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('hands a connection to node:http mid-stream: health check, dashboard and scrapes after it, in order', async () => {
    const s = await start();
    const host = `127.0.0.1:${s.port}`;
    const c = await RawClient.open(s);
    c.write(scrape(host));
    expect((await c.reply()).status).toBe(200);
    c.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    expect(await c.reply()).toMatchObject({ status: 200, body: 'ok\n' });
    c.write(scrape(host));
    const after = await c.reply();
    expect(after.status).toBe(200);
    expect(after.body).toContain('wattprint_facility_energy_joules_total');
    // Only the first scrape was the fast path's; the connection is node:http's for good after the hand-off.
    expect(s.fastScrapes).toBe(1);
  });

  it('leaves pipelined, split, HEAD and closing requests to node:http, which answers each', async () => {
    const s = await start();
    const host = `127.0.0.1:${s.port}`;
    const piped = await RawClient.open(s);
    piped.write(scrape(host) + `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    expect((await piped.reply()).body).toContain('wattprint_facility_energy_joules_total');
    expect((await piped.reply()).body).toBe('ok\n');
    const split = await RawClient.open(s);
    const req = scrape(host);
    split.write(req.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    split.write(req.slice(10));
    expect((await split.reply()).body).toContain('wattprint_facility_energy_joules_total');
    const head = await RawClient.open(s);
    head.write(`HEAD /metrics HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const headReply = await head.reply();
    expect([headReply.status, headReply.headers['allow'], headReply.body]).toEqual([405, 'GET', '']);
    const closing = await RawClient.open(s);
    closing.write(scrape(host, 'Connection: close\r\n'));
    expect((await closing.reply()).status).toBe(200);
    expect(await closing.closedWithin(2000)).toBe(true);
    expect(s.fastScrapes).toBe(0);
  });

  it('never answers a refused Host or a missing or wrong token: node:http refuses them as before', async () => {
    const s = await start({ token: 's3cret' });
    const host = `127.0.0.1:${s.port}`;
    const rebound = await RawClient.open(s);
    rebound.write(scrape('evil.example', 'Authorization: Bearer s3cret\r\n'));
    const refused = await rebound.reply();
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("Host 'evil.example' is not a name of this server");
    const anonymous = await RawClient.open(s);
    anonymous.write(scrape(host));
    expect((await anonymous.reply()).status).toBe(401);
    const wrong = await RawClient.open(s);
    wrong.write(scrape(host, 'Authorization: Bearer nope\r\n'));
    expect((await wrong.reply()).status).toBe(401);
    expect(s.fastScrapes).toBe(0);
    const right = await RawClient.open(s);
    right.write(scrape(host, 'Authorization: Bearer s3cret\r\n'));
    expect((await right.reply()).status).toBe(200);
    expect(s.fastScrapes).toBe(1);
  });

  it('a render that throws is answered 500 by node:http, and the server goes on serving', async () => {
    let fail = true;
    const good = sampleSnapshot({ tick: 10 });
    const s = await start({ getSnapshot: () => (fail ? ({} as typeof good) : good) });
    const host = `127.0.0.1:${s.port}`;
    const c = await RawClient.open(s);
    c.write(scrape(host));
    const failed = await c.reply();
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).error).toMatch(/^internal error: /);
    fail = false;
    const next = await RawClient.open(s);
    next.write(scrape(host));
    expect((await next.reply()).body).toContain('wattprint_facility_energy_joules_total');
    expect(s.fastScrapes).toBe(1);
  });

  it('close() ends the connections the fast path holds, used and not yet used', async () => {
    const s = await start();
    const c = await RawClient.open(s);
    c.write(scrape(`127.0.0.1:${s.port}`));
    await c.reply();
    const idle = await RawClient.open(s);
    const closedAt = Date.now();
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    expect(Date.now() - closedAt).toBeLessThan(2000);
    expect(await c.closedWithin(1000)).toBe(true);
    expect(await idle.closedWithin(1000)).toBe(true);
  });
});

describe('fast path timeouts', () => {
  it('closes a connection idle after a scrape after the keep-alive timeout, and a silent new one after the first-request timeout', async () => {
    const server = createServer((_req, res) => res.end('slow path\n'));
    const fast = installFastScrape(server, {
      hostAllowed: () => true, tokenAllowed: () => true, body: () => Buffer.from('x 1\n'),
      contentType: 'text/plain', keepAliveTimeoutMs: 200, firstRequestTimeoutMs: 600,
    })!;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const stub = { port } as LiveServer;
    try {
      const used = await RawClient.open(stub);
      const silent = await RawClient.open(stub);
      used.write('GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n');
      expect((await used.reply()).body).toBe('x 1\n');
      expect(fast.served).toBe(1);
      const t0 = Date.now();
      expect(await used.closedWithin(2000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(550);
      expect(silent.closed).toBe(false);
      expect(await silent.closedWithin(2000)).toBe(true);
    } finally {
      fast.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('fastRequest', () => {
  const allow = { hostAllowed: (h: string) => h === 'h:1', tokenAllowed: (t: string | undefined) => t === undefined };
  const ok = (req: string) => fastRequest(Buffer.from(req, 'latin1'), allow);
  it('takes one complete plain scrape and nothing else', () => {
    expect(ok('GET /metrics HTTP/1.1\r\nHost: h:1\r\n\r\n')).toBe(true);
    expect(ok('GET /metrics HTTP/1.1\r\nhost:h:1\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    for (const bad of [
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\n',                       // head not complete
      'GET /metrics HTTP/1.0\r\nHost: h:1\r\n\r\n',                   // HTTP/1.0: not keep-alive by default
      'GET /metrics?x HTTP/1.1\r\nHost: h:1\r\n\r\n',                 // query string
      'GET /metrics/ HTTP/1.1\r\nHost: h:1\r\n\r\n',
      'HEAD /metrics HTTP/1.1\r\nHost: h:1\r\n\r\n',
      'GET /metrics HTTP/1.1\r\n\r\n',                                // no Host
      'GET /metrics HTTP/1.1\r\nHost: other\r\n\r\n',                 // Host refused
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nHost: h:1\r\n\r\n',      // two Hosts
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nAuthorization: Bearer x\r\n\r\n', // token refused
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nabc',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nExpect: 100-continue\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\n folded\r\n\r\n',         // obsolete line folding
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nBad Name: x\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nX: a\x00b\r\n\r\n',      // control character
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\nX: a\nY: b\r\n\r\n',     // bare LF
      'GET /metrics HTTP/1.1\r\nHost: h:1\r\n\r\nGET /metrics HTTP/1.1\r\nHost: h:1\r\n\r\n', // pipelined
    ]) expect(ok(bad), JSON.stringify(bad)).toBe(false);
  });
});
