import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeNvidiaSmi } from '../../collectors/nvidia-smi.js';
import type { Collector, CollectorContext, CollectorFactory, ProbeResult } from '../../collectors/types.js';
import { CollectorRunner, MAX_READ_TIMEOUT_MS } from '../../agent/collector-runner.js';
import { downCollector } from '../../agent/down-collector.js';
import { probeFaults } from '../../agent/probe-faults.js';
import { selectCollectors } from '../../agent/select-collectors.js';

// A hung, failing or babbling nvidia-smi (or any collector) is bounded in time, and never silent.

const FAKE = fileURLToPath(new URL('../fixtures/nvidia-smi/fake-nvidia-smi.mjs', import.meta.url));
let dir: string;
beforeAll(() => {
  chmodSync(FAKE, 0o755);
  dir = mkdtempSync(join(tmpdir(), 'wattprint-hung-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ctx(env: Record<string, string>, over: Partial<CollectorContext> = {}): CollectorContext {
  return {
    sysfsRoot: '/nonexistent/sys', procfsRoot: '/nonexistent/proc', nvmlLibraryPath: '/nonexistent/libnvidia-ml.so.1',
    nvidiaSmiPath: FAKE, intervalSeconds: 1, env: { PATH: process.env.PATH, ...env }, ...over,
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('nvidia-smi probe faults', () => {
  it('a --help-query-gpu that never answers is killed after 1.5 s: a failed probe, not a 15 s wait', async () => {
    const pidFile = join(dir, 'hang.pid');
    const t0 = performance.now();
    const p = await probeNvidiaSmi(ctx({ FAKE_SMI_PROBE: 'hang', FAKE_SMI_PIDFILE: pidFile }));
    const seconds = (performance.now() - t0) / 1000;
    expect(p).toMatchObject({ found: false, failed: true, why: `${FAKE} --help-query-gpu failed: no answer within 1.5 s (killed)` });
    expect(seconds).toBeGreaterThanOrEqual(1.4);
    expect(seconds).toBeLessThan(10); // 15 s and more before
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false); // SIGKILLed, not left behind
  });

  it('garbage instead of the field list, and an error exit, are failed probes with the reason', async () => {
    expect(await probeNvidiaSmi(ctx({ FAKE_SMI_PROBE: 'garbage' }))).toMatchObject({
      found: false, failed: true, why: 'this nvidia-smi does not accept --query-gpu=index,power.draw (its --help-query-gpu lists neither)',
    });
    const junk = join(dir, 'junk.xml');
    writeFileSync(junk, 'Segmentation fault\n');
    expect(await probeNvidiaSmi(ctx({ FAKE_SMI_XML: junk }))).toMatchObject({
      found: false, failed: true, why: expect.stringMatching(new RegExp(`^${FAKE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -q -x printed no usable XML \\(.+\\)$`)),
    });
    expect(await probeNvidiaSmi(ctx({ FAKE_SMI_PROBE: 'exit' }))).toMatchObject({
      found: false, failed: true, why: `${FAKE} --help-query-gpu failed: Failed to initialize NVML: Unknown Error`,
    });
  });

  it('an absent nvidia-smi is quiet: not found, not failed', async () => {
    const p = await probeNvidiaSmi(ctx({}, { nvidiaSmiPath: join(dir, 'no-nvidia-smi') }));
    expect(p.found).toBe(false);
    expect(p.failed).toBeUndefined();
  });
});

describe('nvidia-smi stream that hangs', () => {
  it('stops using its last sample after 2 s (two intervals at least), long before the watchdog restarts it', async () => {
    const c = ctx({ FAKE_SMI_PLAN: 'hang@3', FAKE_SMI_SAMPLES: JSON.stringify([{ 0: { 'power.draw.average': ['100.00'] } }]) },
      { gpus: ['0'], intervalSeconds: 0.05 });
    const p = await probeNvidiaSmi(c, { silenceSeconds: 30, startupSeconds: 30, backoffBaseSeconds: 1, backoffMaxSeconds: 1 });
    try {
      const deadline = Date.now() + 10_000;
      let r = await p.collector!.read();
      while (r.readings.length === 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 20));
        r = await p.collector!.read();
      }
      expect(r.readings).toEqual([{ deviceId: 'gpu0', powerWatts: 100 }]);
      const lastGoodMs = Date.now();
      while (r.readings.length > 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 50));
        r = await p.collector!.read();
      }
      // Stale after 2 s of silence (30 s, the watchdog's limit, before).
      expect(r.readings).toEqual([]);
      expect(r.dropped).toEqual([{ deviceId: 'gpu0', reason: 'lost', message: 'no fresh nvidia-smi sample' }]);
      expect(Date.now() - lastGoodMs).toBeLessThan(6000);
    } finally {
      p.collector?.close();
    }
  });
});

describe('selectCollectors bounds every probe', () => {
  it('times out a probe that never settles, marks it failed, and closes its collector if it comes late', async () => {
    let closed = false;
    let finishLate: (r: ProbeResult) => void = () => undefined;
    const slow: CollectorFactory = {
      name: 'nvml', role: 'measure', kinds: ['gpu'],
      probe: () => new Promise<ProbeResult>((resolve) => { finishLate = resolve; }),
    };
    const ram: CollectorFactory = {
      name: 'ram', role: 'model', kinds: ['dram'],
      probe: async () => ({ found: true, devices: [], collector: { name: 'ram', devices: [], read: () => ({ readings: [] }), close: () => undefined } }),
    };
    const selection = await selectCollectors(ctx({}), undefined, [], [slow, ram], 100);
    expect(selection.collectors.map((c) => c.name)).toEqual(['ram']);
    expect(selection.probes[0]).toEqual({ name: 'nvml', result: { found: false, devices: [], why: 'probe timed out after 0.1 s', failed: true } });
    finishLate({ found: true, devices: [], collector: { name: 'nvml', devices: [], read: () => ({ readings: [] }), close: () => { closed = true; } } });
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(true);
    // Failed probes and requested-but-absent collectors become faults; absent ones nobody asked for stay quiet.
    const faults = probeFaults({ ...selection, probes: [...selection.probes, { name: 'amdgpu', result: { found: false, devices: [], why: 'no AMD GPU' } },
      { name: 'rapl', result: { found: false, devices: [], why: 'no RAPL zones' } }] }, ['rapl', 'ram']);
    expect(faults).toEqual([{ name: 'nvml', why: 'probe timed out after 0.1 s' }, { name: 'rapl', why: 'not found: no RAPL zones' }]);
  });
});

describe('CollectorRunner', () => {
  const hanging: Collector = { name: 'nvidia-smi', devices: [], read: () => new Promise(() => {}), close: () => undefined };

  it('caps a read\'s wait at 2 s whatever the interval, and says so once on stderr', async () => {
    const lines: string[] = [];
    const runner = new CollectorRunner(hanging, 3_600_000 * 0.8, (l) => lines.push(l));
    const t0 = performance.now();
    expect(await runner.read()).toEqual({ readings: [] });
    expect((performance.now() - t0) / 1000).toBeLessThan(10);
    expect(runner.status).toMatchObject({ up: false, errorsTotal: { timeout: 1 }, lastError: `no answer within ${MAX_READ_TIMEOUT_MS} ms` });
    const quick = new CollectorRunner(hanging, 20, (l) => lines.push(l));
    for (let i = 0; i < 3; i++) await quick.read();
    expect(quick.status.errorsTotal).toEqual({ timeout: 3 });
    expect(lines).toEqual([
      'wattprint: nvidia-smi: a read gave no answer within 2000 ms and was abandoned; its readings are missing until it answers (counted in wattprint_collector_errors_total{reason="timeout"})',
      'wattprint: nvidia-smi: a read gave no answer within 20 ms and was abandoned; its readings are missing until it answers (counted in wattprint_collector_errors_total{reason="timeout"})',
    ]);
  });

  it('shows a down collector at 0 with its reason, without counting an error each tick', async () => {
    const runner = new CollectorRunner(downCollector('nvidia-smi', 'probe timed out after 2 s'), 800);
    await runner.read();
    await runner.read();
    expect(runner.status).toEqual({ name: 'nvidia-smi', up: false, lastDurationSeconds: expect.any(Number), errorsTotal: {}, lastError: 'probe timed out after 2 s' });
  });
});

it('the fake nvidia-smi is where the tests expect it', () => expect(existsSync(FAKE)).toBe(true));
