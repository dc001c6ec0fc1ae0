import { connect, type Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startLiveServer, type LiveServer, type LiveServerOptions } from '../../src/exporters/http.js';
import type { FeedMessage, SnapshotMessage, TickMessage } from '../../src/exporters/protocol.js';
import type { Snapshot } from '../../src/snapshot.js';
import { sampleSnapshot } from './snapshots.js';

const servers: LiveServer[] = [];
const sockets: (WebSocket | Socket)[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s instanceof WebSocket ? s.terminate() : s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<LiveServerOptions> = {}): Promise<{ server: LiveServer; set(s: Snapshot): void }> {
  let current = sampleSnapshot({ tick: 1 });
  const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => current, ...extra });
  servers.push(server);
  return { server, set: (s) => { current = s; server.publish(s); } };
}

/** Client collects messages; next(n) resolves once n messages have arrived. */
async function client(url: string): Promise<{ ws: WebSocket; messages: FeedMessage[]; next(n: number): Promise<FeedMessage[]> }> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const messages: FeedMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => { messages.push(JSON.parse(String(data)) as FeedMessage); waiters.splice(0).forEach((w) => w()); });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const next = async (n: number): Promise<FeedMessage[]> => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages.slice(0, n);
  };
  return { ws, messages, next };
}

function wsUrl(server: LiveServer, query = ''): string {
  return `${server.url.replace('http', 'ws')}/ws${query}`;
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { resolve(101); ws.terminate(); });
    ws.on('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });
}

describe('/ws feed', () => {
  it('sends the snapshot on connect, then one tick per publish', async () => {
    const { server, set } = await start();
    const c = await client(wsUrl(server));
    const [first] = await c.next(1);
    expect(first).toEqual({
      type: 'snapshot', v: 1, rev: 4, snapshot: sampleSnapshot({ tick: 1 }),
      history: { deviceIds: ['gpu0', 'cpu'], t: [], powerWatts: [[], []], itEnergyJoules: [], facilityEnergyJoules: [], co2eGrams: [], intensityGramsPerKwh: [] },
    });
    set(sampleSnapshot({ tick: 2 }));
    set(sampleSnapshot({ tick: 3, projected: { fraction: 0.5, energyJoules: 1260, co2eGrams: 0.21, source: 'api' } }));
    server.publishEvent({ type: 'run_end', runId: 'run-42', at: '2026-03-01T12:00:03.000Z' });
    const [, t2, t3, end] = await c.next(4);
    expect(t2).toEqual({
      type: 'tick', v: 1, runId: 'run-42', at: '2026-03-01T12:00:02.000Z', tick: 2, elapsedSeconds: 2, status: 'running',
      totalPowerWatts: 210, devices: [{ id: 'gpu0', powerWatts: 100, energyJoules: 200 }, { id: 'cpu', powerWatts: 110, energyJoules: 220 }],
      itEnergyJoules: 420, facilityEnergyJoules: 630, co2eGrams: sampleSnapshot({ tick: 2 }).co2eGrams,
      intensityGramsPerKwh: 400, pue: 1.5,
    } satisfies TickMessage);
    expect((t3 as TickMessage).projected).toEqual({ fraction: 0.5, energyJoules: 1260, co2eGrams: 0.21, source: 'api' });
    expect(end).toEqual({ type: 'run_end', v: 1, runId: 'run-42', at: '2026-03-01T12:00:03.000Z' });
  });

  it('gives a late client the recent power history, column-wise, bounded by historySize', async () => {
    const { server, set } = await start({ historySize: 2 });
    for (let t = 2; t <= 4; t++) set(sampleSnapshot({ tick: t }));
    const c = await client(wsUrl(server));
    const [first] = await c.next(1);
    expect((first as SnapshotMessage).history).toEqual({
      deviceIds: ['gpu0', 'cpu'], t: [1772366403, 1772366404], powerWatts: [[100, 100], [110, 110]],
      // Revision 2: the run's totals at each tick, for the energy, CO2e and intensity charts.
      itEnergyJoules: [630, 840], facilityEnergyJoules: [945, 1260],
      co2eGrams: [sampleSnapshot({ tick: 3 }).co2eGrams.location, sampleSnapshot({ tick: 4 }).co2eGrams.location],
      intensityGramsPerKwh: [400, 400],
    });
    expect((first as SnapshotMessage).snapshot.tick).toBe(4);
  });

  it('checks the token on upgrade and refuses cross-origin pages', async () => {
    const { server } = await start({ token: 's3cret' });
    expect(await upgradeStatus(wsUrl(server))).toBe(401);
    expect(await upgradeStatus(wsUrl(server, '?token=nope'))).toBe(401);
    expect(await upgradeStatus(wsUrl(server, '?token=s3cret'))).toBe(101);
    const cross = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl(server, '?token=s3cret'), { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_q, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('error', () => undefined);
    });
    expect(cross).toBe(403);
  });

  it('takes the token as a bearer.<base64url> subprotocol (the dashboard\'s way), answering with "wattprint" only', async () => {
    const { server } = await start({ token: 's3cret/+=' });
    const offer = (token: string): string[] => ['wattprint', `bearer.${Buffer.from(token).toString('base64url')}`];
    const open = (protocols: string[]): Promise<{ status: number; protocol?: string }> => new Promise((resolve) => {
      const ws = new WebSocket(wsUrl(server), protocols);
      ws.on('unexpected-response', (_q, res) => { resolve({ status: res.statusCode ?? 0 }); ws.terminate(); });
      ws.on('open', () => { resolve({ status: 101, protocol: ws.protocol }); ws.terminate(); });
      ws.on('error', () => undefined);
    });
    expect(await open(offer('s3cret/+='))).toEqual({ status: 101, protocol: 'wattprint' });
    expect(await open(offer('wrong'))).toEqual({ status: 401 });
    expect(await open(['wattprint'])).toEqual({ status: 401 });
    expect(server.dashboardUrl).toBe(`${server.url}/#token=s3cret%2F%2B%3D`);
  });

  it('answers 503 once the connection limit is reached', async () => {
    const { server } = await start({ maxClients: 2 });
    await client(wsUrl(server));
    await client(wsUrl(server));
    expect(await upgradeStatus(wsUrl(server))).toBe(503);
  });

  it('drops a stalled client whose send buffer passes the bound and keeps serving the others', async () => {
    const { server, set } = await start({ maxBufferedBytes: 256 * 1024 });
    const healthy = await client(wsUrl(server));
    const stalled = await rawStalledClient(server.port);
    await healthy.next(1);
    // Each tick message of 2,000 devices is ~110 kB; the stalled peer never reads, so once the kernel's
    // socket buffers are full its unsent bytes pass the bound and it is terminated at the next publish.
    let published = 0;
    for (; published < 1000; published++) {
      set(sampleSnapshot({ tick: 5 + published, deviceCount: 2000 }));
      await tick();
      if (published % 10 === 9 && (await droppedClients(server)) === 1) break;
      await healthy.next(published + 2);
    }
    expect(await droppedClients(server)).toBe(1);
    expect(published).toBeLessThan(1000);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('\nwattprint_ws_clients 1\n');
    set(sampleSnapshot({ tick: 9999 }));
    const all = await healthy.next(published + 3);
    expect((all[all.length - 1] as TickMessage).tick).toBe(9999);
    stalled.destroy();
  });
});

describe('/ws keep-alive', () => {
  it('drops a client that answers no ping and counts it in wattprint_ws_dropped_clients_total', async () => {
    const { server } = await start({ pingIntervalMs: 100 });
    const healthy = await client(wsUrl(server));
    await healthy.next(1);
    // The raw client never reads, so it never answers a ping; ws's own client answers them by itself.
    await rawStalledClient(server.port);
    // Terminated by the server after two ping rounds (~200 ms) without a pong; allow a loaded machine 10 s.
    const deadline = Date.now() + 10_000;
    while ((await droppedClients(server)) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await droppedClients(server)).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('\nwattprint_ws_clients 1\n');
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
  });
});

async function droppedClients(server: LiveServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/\nwattprint_ws_dropped_clients_total (\d+)\n/.exec(text)?.[1]);
}

/** rawStalledClient completes the WebSocket handshake by hand and then never reads again. */
function rawStalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    sockets.push(socket);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (chunk.toString('latin1').startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(`handshake failed: ${chunk.toString('latin1').split('\r\n')[0]}`));
    });
    socket.on('error', () => undefined);
  });
}
