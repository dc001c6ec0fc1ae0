import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hostAllowed, hostPolicy } from '../../src/exporters/auth.js';
import { startLiveServer, type LiveServer, type LiveServerOptions } from '../../src/exporters/http.js';
import { sampleSnapshot } from './snapshots.js';

// Raw requests, as curl sends them: the connection goes to 127.0.0.1 while the Host and Origin headers name
// whatever the test says, which is exactly what a browser does after a DNS rebinding.

const servers: LiveServer[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

async function start(extra: Partial<LiveServerOptions> = {}): Promise<LiveServer> {
  const snapshot = sampleSnapshot({ tick: 3 });
  const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => snapshot, onProgress: () => undefined, ...extra });
  servers.push(server);
  return server;
}

function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** upgrade sends a WebSocket handshake by hand and returns the status code of the answer. */
function upgrade(port: number, headers: Record<string, string>, path = '/ws'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${path} HTTP/1.1\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    socket.once('data', (chunk: Buffer) => {
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0));
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** Every route, as the request that would succeed with a good Host. */
function everyRoute(port: number, headers: Record<string, string>): Promise<number[]> {
  return Promise.all([
    raw(port, 'GET', '/api/snapshot', headers).then((r) => r.status),
    raw(port, 'POST', '/api/progress', { ...headers, 'content-type': 'application/json' }, '{"fraction":0.5}').then((r) => r.status),
    raw(port, 'GET', '/metrics', headers).then((r) => r.status),
    raw(port, 'GET', '/', headers).then((r) => r.status),
    raw(port, 'GET', '/dashboard/app.js', headers).then((r) => r.status),
    raw(port, 'GET', '/healthz', headers).then((r) => r.status),
    upgrade(port, headers),
  ]);
}

describe('Host check (DNS rebinding)', () => {
  it('answers 403 on every route, /ws included, to a Host that is not a name of the loopback listen address', async () => {
    const s = await start();
    const evil = `evil.example:${s.port}`;
    expect(await everyRoute(s.port, { host: evil, origin: `http://${evil}` })).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(await everyRoute(s.port, { host: evil })).toEqual([403, 403, 403, 403, 403, 403, 403]);
    const refused = await raw(s.port, 'GET', '/api/snapshot', { host: evil });
    expect(JSON.parse(refused.body)).toEqual({ error: `Host '${evil}' is not a name of this server (listening on 127.0.0.1): ` +
      'use its address, or start it with --allowed-host NAME' });
  });

  it('accepts 127.0.0.1, localhost and [::1], with the server\'s port or none, and refuses another port', async () => {
    const s = await start();
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `LocalHost:${s.port}`, `[::1]:${s.port}`, '127.0.0.1', 'localhost', '[::1]']) {
      expect([host, await everyRoute(s.port, { host })]).toEqual([host, [200, 200, 200, 200, 200, 200, 101]]);
    }
    for (const host of [`127.0.0.1:${s.port + 1}`, `localhost:80`, `[::1]:1`, '127.0.0.2', 'localhost.', `127.0.0.1.nip.io:${s.port}`, '', `a@localhost:${s.port}`]) {
      expect([host, await raw(s.port, 'GET', '/api/snapshot', { host }).then((r) => r.status)]).toEqual([host, 403]);
    }
  });

  it('still applies with a token, before the token is looked at', async () => {
    const s = await start({ token: 's3cret' });
    const auth = { authorization: 'Bearer s3cret' };
    expect(await everyRoute(s.port, { ...auth, host: `evil.example:${s.port}` })).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(await upgrade(s.port, { host: `evil.example:${s.port}` }, '/ws?token=s3cret')).toBe(403);
    expect(await everyRoute(s.port, { ...auth, host: `127.0.0.1:${s.port}` })).toEqual([200, 200, 200, 200, 200, 200, 101]);
  });

  it('accepts --allowed-host names, with the server\'s port or the one given', async () => {
    const s = await start({ allowedHosts: ['wattprint.lab', 'proxy.lab:8080'] });
    const status = (host: string) => raw(s.port, 'GET', '/metrics', { host }).then((r) => r.status);
    expect(await status(`wattprint.lab:${s.port}`)).toBe(200);
    expect(await status('wattprint.lab')).toBe(200);
    expect(await status('proxy.lab:8080')).toBe(200);
    expect(await status(`proxy.lab:${s.port}`)).toBe(403);
    expect(await status('wattprint.lab:1')).toBe(403);
    expect(await upgrade(s.port, { host: 'proxy.lab:8080', origin: 'http://proxy.lab:8080' })).toBe(101);
  });

  it('names a non-loopback listen address by itself, a wildcard bind by its interface addresses, plus --allowed-host', () => {
    const addresses = () => ['127.0.0.1', '10.1.2.3', 'fe80::1'];
    const direct = hostPolicy('10.1.2.3', ['node7.cluster']);
    expect(hostAllowed('10.1.2.3:9477', direct, 9477, addresses)).toBe(true);
    expect(hostAllowed('node7.cluster:9477', direct, 9477, addresses)).toBe(true);
    expect(hostAllowed('localhost:9477', direct, 9477, addresses)).toBe(false);
    expect(hostAllowed('10.1.2.4:9477', direct, 9477, addresses)).toBe(false);
    expect(hostAllowed('evil.example:9477', direct, 9477, addresses)).toBe(false);
    const wildcard = hostPolicy('0.0.0.0');
    expect(hostAllowed('10.1.2.3:9477', wildcard, 9477, addresses)).toBe(true);
    expect(hostAllowed('[fe80::1]:9477', wildcard, 9477, addresses)).toBe(true);
    expect(hostAllowed('10.9.9.9:9477', wildcard, 9477, addresses)).toBe(false);
    expect(hostAllowed('10.1.2.3:9478', wildcard, 9477, addresses)).toBe(false);
    expect(hostAllowed('evil.example:9477', wildcard, 9477, addresses)).toBe(false);
    expect(hostAllowed(undefined, wildcard, 9477, addresses)).toBe(false);
  });
});

describe('Origin check: scheme, host and port of the server\'s own origin', () => {
  it('refuses another port, another scheme, another host and Origin: null, for POST /api/progress and for /ws', async () => {
    const s = await start();
    const host = `127.0.0.1:${s.port}`;
    const post = (origin: string) => raw(s.port, 'POST', '/api/progress', { host, origin, 'content-type': 'application/json' }, '{"fraction":0.5}')
      .then((r) => r.status);
    const ws = (origin: string) => upgrade(s.port, { host, origin });
    const refused = [
      `http://127.0.0.1:${s.port + 1}`, // another port
      'http://127.0.0.1', // the default port, not ours
      `https://127.0.0.1:${s.port}`, // another scheme
      `ws://127.0.0.1:${s.port}`,
      `http://localhost:${s.port}`, // another host (an origin is its name, not its address)
      'null', // sandboxed frames, file: pages
      'not a url',
    ];
    for (const origin of refused) {
      expect([origin, await post(origin), await ws(origin)]).toEqual([origin, 403, 403]);
    }
    for (const origin of [`http://127.0.0.1:${s.port}`, `HTTP://127.0.0.1:${s.port}`]) {
      expect([origin, await post(origin), await ws(origin)]).toEqual([origin, 200, 101]);
    }
    // The same origin under another of the server's names.
    expect(await upgrade(s.port, { host: `localhost:${s.port}`, origin: `http://localhost:${s.port}` })).toBe(101);
  });
});
