import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get, type Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

/** Load-generator pieces of bench-live: loopback HTTP GETs, WebSocket clients, raw stalled sockets. */

/** vmRssMb reads a process's resident set from /proc/<pid>/status, in MiB. */
export function vmRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** httpGet fetches url through a keep-alive agent and returns the body and the latency in milliseconds. */
export function httpGet(url: string, agent?: Agent, timeoutMs = 5000): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, body }) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** metricValue reads the first sample of a metric family (optionally with a label matcher) from /metrics text. */
export function metricValue(text: string, name: string, labelPart = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (labelPart && !line.includes(labelPart)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** FeedClients are connected /ws clients that count the messages they receive. */
export interface FeedClients {
  sockets: WebSocket[];
  messages: number[];
  closeAll(): void;
}

/** openFeedClients connects n WebSocket clients, batch at a time, and counts every message each receives. */
export async function openFeedClients(wsUrl: string, n: number, batch = 50): Promise<FeedClients> {
  const sockets: WebSocket[] = [];
  const messages: number[] = [];
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise<void>((resolve, reject) => {
      const idx = sockets.length;
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
      sockets.push(ws);
      messages.push(0);
      ws.on('message', () => { messages[idx]!++; });
      ws.once('open', () => resolve());
      ws.once('error', reject);
    })));
  }
  return { sockets, messages, closeAll: () => { for (const ws of sockets) ws.terminate(); } };
}

/** RawFeedSocket is a TCP socket that completed the /ws upgrade and reads nothing more. */
export interface RawFeedSocket {
  socket: Socket;
  /** Resolves when the agent ends the connection (seen once the socket is read again). */
  closed: Promise<void>;
}

/**
 * stalledFeedSocket opens /ws by hand, waits for `101 Switching Protocols`, then pauses the socket and never
 * reads again: a client stuck in a debugger or behind a dead NAT. Its kernel buffers fill; it answers no ping.
 */
export function stalledFeedSocket(host: string, port: number, timeoutMs = 5000): Promise<RawFeedSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined); // a reset after the agent drops it is the expected ending
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no 101 from ${host}:${port} within ${timeoutMs} ms`)); }, timeoutMs);
    socket.once('connect', () => socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${chunk.toString('latin1').split('\r\n')[0]}`));
        return;
      }
      resolve({ socket, closed });
    });
  });
}

/**
 * floodPings writes `count` masked 125-byte ping frames on a stalled socket. The agent's WebSocket library
 * answers each with a pong it cannot deliver, so the unread backlog passes the kernel's buffers (~4 MB on
 * loopback) and the agent's per-client bound in about a second instead of the tens of minutes 1 Hz ticks take.
 */
export async function floodPings(socket: Socket, count: number): Promise<void> {
  const frame = Buffer.alloc(2 + 4 + 125); // FIN|ping, MASK|125, zero mask key, zero payload
  frame[0] = 0x89;
  frame[1] = 0x80 | 125;
  const burst = Buffer.concat(Array.from({ length: 1000 }, () => frame));
  for (let sent = 0; sent < count; sent += 1000) {
    if (socket.destroyed) return;
    if (socket.write(burst)) continue;
    // Wait for room, or for the agent to cut the connection (then 'drain' never comes).
    await new Promise<void>((resolve) => {
      const done = (): void => { socket.off('drain', done); socket.off('close', done); resolve(); };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }
}
