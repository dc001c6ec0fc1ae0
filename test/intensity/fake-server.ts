import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
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

/** startFakeServer listens on 127.0.0.1 only; tests never talk to any other host. */
export async function startFakeServer(handler: (req: SeenRequest) => FakeReply): Promise<FakeServer> {
  const fake = { seen: [] as SeenRequest[], handler } as FakeServer;
  const server: Server = createServer((req, res) => {
    const seen = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    fake.seen.push(seen);
    const reply = fake.handler(seen);
    const body = reply.text ?? JSON.stringify(reply.json ?? {});
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
