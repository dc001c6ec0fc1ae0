import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Snapshot } from '../snapshot.js';
import { FEED_SUBPROTOCOL } from './auth.js';
import { PowerHistoryRing, type HistoryTick } from './power-history.js';
import { runEventMessage, snapshotMessage, tickMessage } from './protocol.js';

/**
 * LiveTick is one tick as the tracker hands it over: its time, each device's power (arrays the tracker reuses:
 * copied here), and its snapshot, built only when asked — here, only when a client listens.
 */
export interface LiveTick extends HistoryTick {
  snapshot(): Snapshot;
}

/** LiveFeedOptions configure the /ws feed. */
export interface LiveFeedOptions {
  getSnapshot: () => Snapshot;
  /** Connection limit; further upgrades get HTTP 503. */
  maxClients: number;
  /** Per-client send buffer bound in bytes; a client above it at publish time is terminated. */
  maxBufferedBytes: number;
  /** Ticks of power history sent on connect. */
  historySize: number;
  /** Interval of protocol pings that find dead peers, in milliseconds; 0 disables. */
  pingIntervalMs: number;
}

/**
 * LiveFeed is the WebSocket feed (protocol in PROTOCOL.md). Each publish serialises its message once and
 * sends the same buffer to every client; a client whose unsent data passes the bound is dropped, so one
 * stalled reader cannot grow the agent's memory.
 */
export class LiveFeed {
  /**
   * The ws server is loaded with the first client: ws brings in https, tls and crypto (~9 MB resident), which an
   * agent only scraped by Prometheus never needs.
   */
  private wss?: Promise<WebSocketServer>;
  private closed = false;
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly history: PowerHistoryRing;
  private readonly pingTimer: NodeJS.Timeout | undefined;
  private connectCache: { snapshot: Snapshot; version: number; data: Buffer } | undefined;
  /** droppedTotal counts clients terminated for a full send buffer or a keep-alive ping left unanswered. */
  droppedTotal = 0;

  constructor(private readonly opts: LiveFeedOptions) {
    this.history = new PowerHistoryRing(opts.historySize);
    if (opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), opts.pingIntervalMs);
      this.pingTimer.unref();
    }
  }

  /** clientCount is the number of open connections. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** handleUpgrade takes over an authorised upgrade request, or answers 503 when the feed is full. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.clients.size >= this.opts.maxClients) {
      rejectUpgrade(socket, 503, 'Service Unavailable', 'too many WebSocket clients');
      return;
    }
    this.wss ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({
      noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: 1024,
      // Answer 'wattprint' when offered (browsers require an answer to an offer), never echo the token's entry.
      handleProtocols: (offered) => (offered.has(FEED_SUBPROTOCOL) ? FEED_SUBPROTOCOL : false),
    }));
    this.wss.then((wss) => {
      if (this.closed) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    }, () => rejectUpgrade(socket, 500, 'Internal Server Error', 'the WebSocket feed could not start'));
  }

  private accept(ws: WebSocket): void {
    this.clients.add(ws);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('close', () => this.clients.delete(ws));
    // A socket error (reset by peer) is followed by 'close'; without a listener ws would throw it.
    ws.on('error', () => this.clients.delete(ws));
    ws.send(this.connectMessage(), { binary: false });
  }

  /** The snapshot message is shared by every client that connects between two ticks. */
  private connectMessage(): Buffer {
    const snapshot = this.opts.getSnapshot();
    const c = this.connectCache;
    if (c && c.snapshot === snapshot && c.version === this.history.version) return c.data;
    const ids = snapshot.devices.map((d) => d.id);
    const data = Buffer.from(JSON.stringify(snapshotMessage(snapshot, this.history.toColumns(ids))));
    this.connectCache = { snapshot, version: this.history.version, data };
    return data;
  }

  /** publish records a snapshot in the history and sends its tick message to every client (built only when there is one). */
  publish(snapshot: Snapshot): void {
    this.history.push(snapshot);
    if (this.clients.size > 0) this.broadcast(Buffer.from(JSON.stringify(tickMessage(snapshot))));
  }

  /** publishTick is publish for a tick whose snapshot is built only if a client will receive it. */
  publishTick(tick: LiveTick): void {
    this.history.pushTick(tick);
    if (this.clients.size > 0) this.broadcast(Buffer.from(JSON.stringify(tickMessage(tick.snapshot()))));
  }

  /** publishEvent sends a run_start / run_end message to every client. */
  publishEvent(ev: { type: 'run_start' | 'run_end'; runId: string; at: string }): void {
    this.broadcast(Buffer.from(JSON.stringify(runEventMessage(ev))));
  }

  private broadcast(data: Buffer): void {
    for (const ws of this.clients) {
      if (ws.readyState !== OPEN) continue;
      if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.droppedTotal++;
        this.clients.delete(ws);
        ws.terminate();
        continue;
      }
      ws.send(data, { binary: false });
    }
  }

  private pingAll(): void {
    for (const ws of this.clients) {
      if (!this.alive.has(ws)) {
        // No pong since the last ping: a stalled or vanished peer, dropped like one with a full buffer.
        this.droppedTotal++;
        this.clients.delete(ws);
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  /** close ends every connection (1001 going away) and stops the ping timer. */
  close(): void {
    this.closed = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const ws of this.clients) ws.close(1001, 'server shutting down');
    // Give well-behaved peers a moment for the close handshake, then cut the rest.
    const stragglers = [...this.clients];
    setTimeout(() => { for (const ws of stragglers) ws.terminate(); }, 200).unref();
    this.clients.clear();
    void this.wss?.then((wss) => wss.close());
  }
}

/** OPEN is WebSocket.OPEN (readyState of an open connection), without loading ws for it. */
const OPEN = 1;

/** rejectUpgrade answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
