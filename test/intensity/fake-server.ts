import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** FakeReply is what a route answers: status, JSON body (or raw text), extra headers. */
export interface FakeReply {
  status?: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** SeenRequest is one request the fake received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** FakeServer is a loopback HTTP server (127.0.0.1, port 0) answering from a handler. */
export interface FakeServer {
  baseUrl: string;
  seen: SeenRequest[];
  handler: (req: SeenRequest) => FakeReply;
  close(): Promise<void>;
}

/**
 * startFakeServer listens on 127.0.0.1 only; tests never talk to any other host. With `tls` (a key and a
 * certificate for 127.0.0.1, see test-cert.ts) it speaks HTTPS, as the real APIs do.
 */
export async function startFakeServer(handler: (req: SeenRequest) => FakeReply, tls?: { key: string; cert: string }): Promise<FakeServer> {
  const fake = { seen: [] as SeenRequest[], handler } as FakeServer;
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const seen = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    fake.seen.push(seen);
    const reply = fake.handler(seen);
    const body = reply.text ?? JSON.stringify(reply.json ?? {});
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(body);
  };
  const server: Server = tls ? createTlsServer(tls, answer) : createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
