import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, requestJson } from '../../src/intensity/http.js';
import { proxyFor } from '../../src/intensity/proxy.js';
import { proxySettingsFromEnv } from '../../src/intensity/proxy-settings.js';
import { startFakeProxy, type FakeProxy } from './fake-proxy.js';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { makeTestCert, OPENSSL, type TestCert } from './test-cert.js';

describe('proxy settings', () => {
  it('reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl does, lower case first', () => {
    expect(proxySettingsFromEnv({ HTTPS_PROXY: 'http://a:3128', https_proxy: 'http://b:3128', HTTP_PROXY: 'http://c:80', NO_PROXY: 'x' }))
      .toEqual({ httpsProxy: 'http://b:3128', httpProxy: 'http://c:80', noProxy: 'x' });
    expect(proxySettingsFromEnv({ HTTPS_PROXY: ' ', PATH: '/bin' })).toEqual({});
  });

  const settings = { httpsProxy: 'http://proxy.corp:3128', httpProxy: 'proxy.corp:8080', noProxy: 'localhost, .internal,api.co2signal.com:8443,10.1.2.3' };
  it.each([
    ['https://api.electricitymaps.com/v3/x', 'http://proxy.corp:3128/'],
    ['http://api.carbonintensity.org.uk/intensity', 'http://proxy.corp:8080/'], // scheme-less proxy: http:// assumed
    ['https://localhost:9000/', undefined],
    ['https://metrics.internal/', undefined], // '.internal' covers every host under it
    ['https://internal/', undefined],
    ['https://notinternal.com/', 'http://proxy.corp:3128/'], // a suffix of the name, not of a domain
    ['https://api.co2signal.com:8443/', undefined], // host:port entry
    ['https://api.co2signal.com/', 'http://proxy.corp:3128/'], // other port
    ['https://10.1.2.3/', undefined],
  ])('%s goes through %s', (target, proxy) => {
    expect(proxyFor(new URL(target), settings)?.href).toBe(proxy);
  });

  it('NO_PROXY=* turns the proxy off, and no settings mean direct', () => {
    expect(proxyFor(new URL('https://x.org/'), { httpsProxy: 'http://p:1', noProxy: '*' })).toBeUndefined();
    expect(proxyFor(new URL('https://x.org/'), undefined)).toBeUndefined();
    expect(() => proxyFor(new URL('https://x.org/'), { httpsProxy: 'https://p:1' })).toThrow('only http:// proxies are supported');
  });
});

describe('requestJson through a proxy (loopback proxy and API)', () => {
  let api: FakeServer;
  let proxy: FakeProxy;
  beforeAll(async () => {
    api = await startFakeServer(() => ({ json: { ok: true } }));
  });
  afterEach(async () => proxy?.close());
  afterAll(async () => api.close());

  it('sends an http:// request to the proxy with the absolute URI, not to the API', async () => {
    proxy = await startFakeProxy();
    expect(await requestJson(`${api.baseUrl}/intensity/x?y=1`, { proxy: { httpProxy: proxy.url } })).toEqual({ ok: true });
    expect(proxy.log.requests).toEqual([`GET ${api.baseUrl}/intensity/x?y=1`]);
    expect(api.seen.at(-1)!.url).toBe('/intensity/x?y=1');
  });

  it('connects directly where NO_PROXY says so', async () => {
    proxy = await startFakeProxy();
    expect(await requestJson(`${api.baseUrl}/direct`, { proxy: { httpProxy: proxy.url, noProxy: '127.0.0.1' } })).toEqual({ ok: true });
    expect(proxy.log.requests).toEqual([]);
  });

  it('sends the proxy\'s credentials, and never shows them in an error', async () => {
    proxy = await startFakeProxy({ requireAuth: `Basic ${Buffer.from('ana:s3cret/pw').toString('base64')}` });
    const withAuth = proxy.url.replace('http://', 'http://ana:s3cret%2Fpw@');
    expect(await requestJson(`${api.baseUrl}/a`, { proxy: { httpProxy: withAuth } })).toEqual({ ok: true });
    const wrong = proxy.url.replace('http://', 'http://ana:wrong-pw-77@');
    const err = await requestJson(`${api.baseUrl}/a`, { proxy: { httpProxy: wrong } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(407);
    expect(String((err as Error).message)).not.toContain('wrong-pw-77');
  });

  describe.skipIf(!OPENSSL)('https:// targets', () => {
    let cert: TestCert;
    let tlsApi: FakeServer;
    beforeAll(async () => {
      cert = makeTestCert();
      tlsApi = await startFakeServer(() => ({ json: { ok: true } }), cert);
    });
    afterAll(async () => {
      await tlsApi.close();
      rmSync(cert.dir, { recursive: true, force: true });
    });

    it('open a CONNECT tunnel and verify the API\'s certificate inside it (end to end: test/e2e/proxy.test.ts)', async () => {
      proxy = await startFakeProxy();
      const port = new URL(tlsApi.baseUrl).port;
      // This process does not trust the test certificate: the TLS check inside the tunnel refuses it.
      const err = await requestJson(`${tlsApi.baseUrl}/v3/x`, { proxy: { httpsProxy: proxy.url } }).catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/self[- ]signed certificate/);
      expect(proxy.log.requests).toEqual([`CONNECT 127.0.0.1:${port}`]);
    });

    it('say so when the proxy refuses the tunnel', async () => {
      proxy = await startFakeProxy({ requireAuth: 'Basic nope' });
      const err = await requestJson(`${tlsApi.baseUrl}/v3/x`, { proxy: { httpsProxy: proxy.url } }).catch((e: unknown) => e);
      expect((err as HttpError).kind).toBe('network');
      expect((err as Error).message).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/v3\/x: proxy 127\.0\.0\.1:\d+ refused the tunnel to 127\.0\.0\.1:\d+: HTTP 407 \(proxy credentials needed/);
    });
  });
});
