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
  /** Size of the largest message a client received, in bytes (the connect snapshot, or a tick). */
  maxMessageBytes: number;
  /** Size of the last tick message received, in bytes. */
  tickBytes: number;
  closeAll(): void;
}

/** openFeedClients connects n WebSocket clients, batch at a time, and counts every message each receives. */
export async function openFeedClients(wsUrl: string, n: number, batch = 50): Promise<FeedClients> {
  const sockets: WebSocket[] = [];
  const messages: number[] = [];
  const sizes = { maxMessageBytes: 0, tickBytes: 0 };
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise<void>((resolve, reject) => {
      const idx = sockets.length;
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
      sockets.push(ws);
      messages.push(0);
      ws.on('message', (data: Buffer) => {
        if (messages[idx]!++ > 0) sizes.tickBytes = data.length;
        sizes.maxMessageBytes = Math.max(sizes.maxMessageBytes, data.length);
      });
      ws.once('open', () => resolve());
      ws.once('error', reject);
    })));
  }
  return {
    sockets, messages, get maxMessageBytes() { return sizes.maxMessageBytes; }, get tickBytes() { return sizes.tickBytes; },
    closeAll: () => { for (const ws of sockets) ws.terminate(); },
  };
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
