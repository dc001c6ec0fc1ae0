import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/exporters/auth.js';
import { ListenError, startLiveServer, type LiveServer, type LiveServerOptions } from '../../src/exporters/http.js';
import type { ProgressUpdate } from '../../src/exporters/progress.js';
import { sampleSnapshot } from './snapshots.js';

const servers: LiveServer[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

async function start(extra: Partial<LiveServerOptions> = {}): Promise<LiveServer> {
  const snapshot = sampleSnapshot({ tick: 10 });
  const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => snapshot, ...extra });
  servers.push(server);
  return server;
}

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

describe('live server routes', () => {
  it('serves /metrics, /api/snapshot and /healthz from the snapshot', async () => {
    const s = await start();
    const metrics = await fetch(`${s.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toContain('wattprint_facility_energy_joules_total{run_id="run-42",team="ml"} 3150\n');
    const snap = await fetch(`${s.url}/api/snapshot`);
    expect(await snap.json()).toEqual(sampleSnapshot({ tick: 10 }));
    const health = await fetch(`${s.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
  });

  it('serves the dashboard and the uPlot bundle from node_modules, no CDN', async () => {
    const s = await start();
    const page = await fetch(`${s.url}/`);
    const html = await page.text();
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(html).toContain('<script src="/dashboard/uPlot.iife.min.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${s.url}/dashboard/uPlot.iife.min.js`);
    const file = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js');
    expect(Buffer.from(await bundle.arrayBuffer()).equals(readFileSync(file))).toBe(true);
    expect((await fetch(`${s.url}/dashboard/app.js`)).status).toBe(200);
    expect((await fetch(`${s.url}/dashboard/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers unknown routes and wrong methods with one clear JSON error', async () => {
    const s = await start();
    const missing = await fetch(`${s.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route /nope: try /, /metrics, /ws, /api/snapshot, /api/progress, /healthz' });
    const wrong = await post(`${s.url}/metrics`, '{}');
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET']);
  });
});

describe('POST /api/progress', () => {
  it('accepts a fraction or steps and hands them to onProgress', async () => {
    const seen: ProgressUpdate[] = [];
    const s = await start({ onProgress: (p) => seen.push(p) });
    const a = await post(`${s.url}/api/progress`, '{"fraction":0.42}');
    expect([a.status, await a.json()]).toEqual([200, { ok: true, fraction: 0.42 }]);
    const b = await post(`${s.url}/api/progress`, '{"step":420,"totalSteps":1000}');
    expect(b.status).toBe(200);
    expect(seen).toEqual([{ fraction: 0.42 }, { fraction: 0.42, step: 420, totalSteps: 1000 }]);
  });

  it('rejects bad bodies with 400 and a message that shows what to send', async () => {
    const s = await start({ onProgress: () => undefined });
    const cases: [string, string][] = [
      ['not json', 'progress body is not JSON: send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}'],
      ['{"fraction":1.5}', '"fraction" must be a number from 0 to 1: send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}'],
      ['{"step":5}', '"totalSteps" must be a number > 0: send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}'],
      ['{"step":11,"totalSteps":10}', '"step" (11) exceeds "totalSteps" (10): send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}'],
      ['[1]', 'progress body must be a JSON object: send JSON {"fraction":0.42} (0..1) or {"step":420,"totalSteps":1000}'],
    ];
    for (const [body, error] of cases) {
      const res = await post(`${s.url}/api/progress`, body);
      expect([res.status, await res.json()]).toEqual([400, { error }]);
    }
    expect((await post(`${s.url}/api/progress`, 'x'.repeat(5000))).status).toBe(413);
  });

  it('refuses cross-origin posts and answers 503 when the agent takes no progress', async () => {
    const s = await start({ onProgress: () => undefined });
    const cross = await post(`${s.url}/api/progress`, '{"fraction":0.1}', { origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    const same = await post(`${s.url}/api/progress`, '{"fraction":0.1}', { origin: s.url });
    expect(same.status).toBe(200);
    const none = await start();
    expect((await post(`${none.url}/api/progress`, '{"fraction":0.1}')).status).toBe(503);
  });
});

describe('tokens and binding', () => {
  it('requires the token on data routes, by bearer header or ?token=, but not on the page', async () => {
    const s = await start({ token: 's3cret' });
    const denied = await fetch(`${s.url}/metrics`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="wattprint"');
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${s.url}/api/snapshot?token=s3cret`)).status).toBe(200);
    expect((await fetch(`${s.url}/`)).status).toBe(200);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('refuses a non-loopback bind without a token before listening', async () => {
    const err = await startLiveServer({ host: '0.0.0.0', port: 0, getSnapshot: () => sampleSnapshot({ tick: 1 }) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('INSECURE_BIND');
    expect((err as ListenError).message).toBe('refusing to serve energy data on 0.0.0.0:0 without a token: pass --token ' +
      'SECRET, or --insecure to let anyone who can reach 0.0.0.0 read it, or listen on 127.0.0.1');
  });

  it('listens on IPv6 loopback given in URL form, and builds a bracketed URL', async () => {
    let s: LiveServer;
    try {
      s = await start({ host: '[::1]' });
    } catch (e) {
      if (e instanceof ListenError && e.code === 'EADDRNOTAVAIL') return void console.warn('no IPv6 loopback here: skipped');
      throw e;
    }
    expect([s.host, s.url]).toEqual(['::1', `http://[::1]:${s.port}`]);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('classifies loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'example.org', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('reports a port in use as one line with the fix', async () => {
    const s = await start();
    const err = await startLiveServer({ host: '127.0.0.1', port: s.port, getSnapshot: () => sampleSnapshot({ tick: 1 }) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('EADDRINUSE');
    expect((err as ListenError).message)
      .toBe(`port ${s.port} on 127.0.0.1 is in use: pass --listen HOST:PORT with a free port, or --no-listen`);
  });
});
