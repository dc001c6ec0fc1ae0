import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';
import { startFakeProxy, type FakeProxy } from '../intensity/fake-proxy.js';
import { startFakeServer, type FakeServer, type SeenRequest } from '../intensity/fake-server.js';
import { makeTestCert, OPENSSL, type TestCert } from '../intensity/test-cert.js';

/*
 * A cluster node that reaches the internet only through a proxy: HTTPS_PROXY / NO_PROXY in the environment,
 * an HTTPS intensity API behind it. The CLI trusts the loopback API's test certificate via NODE_EXTRA_CA_CERTS,
 * as it would a corporate CA.
 */

const TOKEN = 'em-token-through-proxy-9';
let dir: string;
let cert: TestCert;
let api: FakeServer;
let proxy: FakeProxy | undefined;
const hour = () => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
const em = (req: SeenRequest) => {
  if (req.headers['auth-token'] !== TOKEN) return { status: 401, json: { message: 'bad token' } };
  if (req.url.startsWith('/v3/carbon-intensity/latest')) return { json: { zone: 'DE', carbonIntensity: 321, datetime: hour() } };
  if (req.url.startsWith('/v3/carbon-intensity/history')) return { json: { zone: 'DE', history: [] } };
  return { status: 403, json: { message: 'no forecast' } };
};

describe.skipIf(!OPENSSL)('intensity API calls through HTTPS_PROXY', () => {
  beforeAll(async () => {
    dir = tempDir('e2e-proxy');
    writeTree(dir, { 'sys/class/.keep': '' });
    cert = makeTestCert();
    api = await startFakeServer(em, cert);
  });
  afterEach(async () => { await proxy?.close(); proxy = undefined; });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cert.dir, { recursive: true, force: true });
  });

  const doctor = (extraEnv: Record<string, string>) => runCli(
    ['doctor', '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--json', '--intensity-source', 'electricitymaps', '--zone', 'DE', '--intensity-url', `${api.baseUrl}/v3`],
    baseEnv({ XDG_DATA_HOME: join(dir, 'data'), WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: cert.certPath, ...extraEnv }));

  it('tunnels through the proxy with CONNECT; the proxy never sees the token', async () => {
    proxy = await startFakeProxy();
    const seenBefore = api.seen.length;
    const r = await doctor({ HTTPS_PROXY: proxy.url });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).intensity).toEqual({ intensityGramsPerKwh: 321, source: 'electricitymaps DE (lifecycle)', zone: 'DE' });
    const port = new URL(api.baseUrl).port;
    expect(proxy.log.requests.length).toBeGreaterThanOrEqual(2);
    expect(new Set(proxy.log.requests)).toEqual(new Set([`CONNECT 127.0.0.1:${port}`]));
    expect(api.seen.length - seenBefore).toBe(proxy.log.requests.length); // every API call came through it
    expect(Buffer.concat(proxy.log.tunnelled).includes(TOKEN)).toBe(false); // TLS end to end
  });

  it('goes direct for a host in NO_PROXY', async () => {
    proxy = await startFakeProxy();
    const r = await doctor({ https_proxy: proxy.url, no_proxy: 'localhost,127.0.0.1' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).intensity.intensityGramsPerKwh).toBe(321);
    expect(proxy.log.requests).toEqual([]);
  });

  it('says in one line when the proxy refuses, and falls back to the table', async () => {
    proxy = await startFakeProxy({ requireAuth: 'Basic right' });
    const r = await doctor({ HTTPS_PROXY: proxy.url.replace('http://', 'http://ana:proxy-pw-41@') });
    expect(r.code, r.stderr).toBe(0);
    const intensity = JSON.parse(r.stdout).intensity as { source: string };
    expect(intensity.source).toMatch(/^table: .*\(fallback: electricitymaps: GET https:\/\/127\.0\.0\.1:\d+\/v3\/carbon-intensity\/latest: proxy 127\.0\.0\.1:\d+ refused the tunnel to 127\.0\.0\.1:\d+: HTTP 407/);
    expect(r.stdout + r.stderr).not.toContain('proxy-pw-41');
    expect(proxy.log.authorizations[0]).toBe(`Basic ${Buffer.from('ana:proxy-pw-41').toString('base64')}`);
  });
});
