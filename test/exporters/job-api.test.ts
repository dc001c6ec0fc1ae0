import { request } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLiveServer, type LiveServer } from '../../src/exporters/http.js';
import { JobInputError, parseJobProgress, parsePhaseEvent, type JobApi, type PhaseEvent, type JobProgress } from '../../src/exporters/job-api.js';
import { startJobSocket, type JobSocket } from '../../src/exporters/job-routes.js';
import { sampleSnapshot } from './snapshots.js';

const NOW = 1_765_000_000_000;

describe('job API bodies', () => {
  it('reads phase edges, with "at" in Unix seconds or the receipt time, and the work counters they carry', () => {
    expect(parsePhaseEvent('{"v":1,"event":"start","id":"a-1","name":"eval","at":1765000001.5}', NOW))
      .toEqual({ event: 'start', id: 'a-1', name: 'eval', atMs: 1_765_000_001_500 });
    expect(parsePhaseEvent('{"event":"end","id":"a-1","work":{"tokens":4096}}', NOW)).toEqual({ event: 'end', id: 'a-1', atMs: NOW, work: { tokens: 4096 } });
  });

  it('answers every bad body with one line saying what to send', () => {
    const bad: [string, RegExp][] = [
      ['nope', /not JSON/], ['[1]', /JSON object/], ['{"event":"start","id":"x"}', /"name"/], ['{"event":"start","id":"x y","name":"a"}', /"id"/],
      ['{"event":"pause","id":"x"}', /"event"/], ['{"event":"end","id":"x","at":"now"}', /Unix seconds/], ['{"v":2,"event":"end","id":"x"}', /v1/],
      ['{"event":"end","id":"x","work":{"tokens":-1}}', /work.tokens/],
    ];
    for (const [body, why] of bad) {
      expect(() => parsePhaseEvent(body, NOW), body).toThrow(why);
      try { parsePhaseEvent(body, NOW); } catch (err) { expect((err as Error).message).not.toContain('\n'); }
    }
    expect(() => parseJobProgress('{}', NOW)).toThrow(/none of/);
    expect(() => parseJobProgress('{"tokens":"many"}', NOW)).toThrow(/"tokens" must be a number/);
    expect(() => parseJobProgress('{"step":11,"totalSteps":10}', NOW)).toThrow(/exceeds/);
    expect(parseJobProgress('{"step":3,"totalSteps":10,"samples":96,"tokens":3072}', NOW)).toEqual({ step: 3, totalSteps: 10, samples: 96, tokens: 3072, atMs: NOW });
  });
});

describe('job API over HTTP and over the private socket', () => {
  let server: LiveServer | undefined;
  let socket: JobSocket | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    await socket?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    server = socket = dir = undefined;
  });

  const recorder = () => {
    const calls: (PhaseEvent | JobProgress)[] = [];
    const job: JobApi = {
      phase: (e) => {
        if (e.id === 'taken') throw new JobInputError('phase id \'taken\' is already used in this run', 409);
        calls.push(e);
      },
      progress: (p) => calls.push(p),
    };
    return { calls, job };
  };

  it('serves the job on a Unix socket only its user can open, without a token', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wattprint-sock-'));
    const { calls, job } = recorder();
    socket = await startJobSocket(join(dir, 'job.sock'), { getSnapshot: () => sampleSnapshot({ tick: 2 }), job, nowMs: () => NOW });
    expect(statSync(socket.path).mode & 0o777).toBe(0o600);
    const post = (path: string, body: string) => viaSocket(socket!.path, 'POST', path, body);
    expect(await post('/api/v1/phase', '{"event":"start","id":"p1","name":"train"}')).toEqual({ status: 200, body: { ok: true, id: 'p1', name: 'train' } });
    expect((await post('/api/v1/progress', '{"step":1,"totalSteps":4,"tokens":512}')).status).toBe(200);
    expect((await post('/api/progress', '{"fraction":0.5}')).status).toBe(200);
    const conflict = await post('/api/v1/phase', '{"event":"start","id":"taken","name":"train"}');
    expect(conflict).toEqual({ status: 409, body: { error: 'phase id \'taken\' is already used in this run' } });
    const bad = await post('/api/v1/progress', '{"tokens":-3}');
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/^"tokens" must be a number ≥ 0: send /);
    const snap = await viaSocket(socket.path, 'GET', '/api/v1/snapshot');
    expect((snap.body as { tick: number }).tick).toBe(2);
    expect(calls).toEqual([
      { event: 'start', id: 'p1', name: 'train', atMs: NOW },
      { step: 1, totalSteps: 4, tokens: 512, atMs: NOW },
      { fraction: 0.5, atMs: NOW },
    ]);
  });

  it('serves the same routes on the live server behind its token', async () => {
    const { calls, job } = recorder();
    server = await startLiveServer({ host: '127.0.0.1', port: 0, token: 't0k', getSnapshot: () => sampleSnapshot({ tick: 1 }), job });
    const post = (path: string, body: string, token?: string) => fetch(`${server!.url}${path}`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    expect((await post('/api/v1/phase', '{"event":"start","id":"p","name":"eval"}')).status).toBe(401);
    expect((await post('/api/v1/phase', '{"event":"start","id":"p","name":"eval"}', 't0k')).status).toBe(200);
    expect((await post('/api/v1/phase', '{"event":"start","id":"p"}', 't0k')).status).toBe(400);
    expect((await post('/api/progress', '{"step":2,"totalSteps":4}', 't0k')).status).toBe(200);
    expect(calls.map((c) => ('event' in c ? c.event : 'progress'))).toEqual(['start', 'progress']);
  });
});

function viaSocket(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
