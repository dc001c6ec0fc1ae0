import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** FakeMetadataReplies are what the fake serves: GCE instance JSON, Azure instance JSON, AWS token + values. */
export interface FakeMetadataReplies {
  gceInstance?: unknown;
  azureInstance?: unknown;
  aws?: { token: string; metaData: Record<string, string> };
  /** 'redirect': every reply is a 302 to /elsewhere; 'hang': never reply. */
  mode?: 'normal' | 'redirect' | 'hang';
}

/** FakeMetadata is a running loopback metadata server and what it saw. */
export interface FakeMetadata {
  url: string;
  connections: number;
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/**
 * startFakeMetadata serves the real metadata protocols on 127.0.0.1 (port 0): GCE needs
 * Metadata-Flavor: Google, Azure needs Metadata: true, AWS IMDSv2 needs a PUT token then the token header.
 */
export async function startFakeMetadata(replies: FakeMetadataReplies): Promise<FakeMetadata> {
  const state = { connections: 0, requests: [] as FakeMetadata['requests'] };
  const server: Server = createServer((req, res) => {
    state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const send = (status: number, body: string, type = 'text/plain', extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, ...extra });
      res.end(body);
    };
    if (replies.mode === 'hang') return;
    if (replies.mode === 'redirect') return send(302, '', 'text/plain', { location: '/elsewhere' });
    const url = req.url ?? '';
    if (url === '/computeMetadata/v1/instance/?recursive=true' && replies.gceInstance !== undefined) {
      if (req.headers['metadata-flavor'] !== 'Google') return send(403, 'Missing Metadata-Flavor:Google header.');
      return send(200, JSON.stringify(replies.gceInstance), 'application/json', { 'metadata-flavor': 'Google' });
    }
    if (url === '/metadata/instance?api-version=2021-02-01' && replies.azureInstance !== undefined) {
      if (req.headers.metadata !== 'true') return send(400, '{"error":"Bad request. Required metadata header not specified"}', 'application/json');
      return send(200, JSON.stringify(replies.azureInstance), 'application/json; charset=utf-8');
    }
    if (replies.aws && url === '/latest/api/token' && req.method === 'PUT') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, '');
      return send(200, replies.aws.token);
    }
    if (replies.aws && url.startsWith('/latest/meta-data/') && req.method === 'GET') {
      if (req.headers['x-aws-ec2-metadata-token'] !== replies.aws.token) return send(401, '');
      const value = replies.aws.metaData[url.slice('/latest/meta-data/'.length)];
      return value === undefined ? send(404, '') : send(200, value);
    }
    send(404, 'Not Found');
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
