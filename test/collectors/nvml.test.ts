import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadResult } from '../../src/types.js';
import type { CollectorContext, ProbeResult } from '../../collectors/types.js';
import { MIG_NOTE } from '../../collectors/lib/gpu-select.js';
import { NVML_SLOW_ENERGY_EVERY_SECONDS, NVML_SLOW_TICKS, type NvmlCollector, type NvmlEnergyReads } from '../../collectors/nvml/reader.js';
import { nvmlFactory, probeNvml, type NvmlProbeOptions } from '../../collectors/nvml.js';
import { NvmlStubHarness, STUB_BOOT_ID as BOOT_ID, h100 as H100 } from '../fixtures/nvml-stub/stub-harness.js';

let stub: NvmlStubHarness;
beforeAll(() => {
  stub = new NvmlStubHarness();
});
afterAll(() => stub.remove());

const script = (text: string) => stub.script(text);
const ctx = (over: Partial<CollectorContext> = {}) => stub.ctx(over);

/** clock returns a fake monotonic clock advancing one second per read. */
function clock(): () => number {
  let t = 100;
  return () => (t += 1);
}

/** readAll calls read() n times; 'async' mode must hand back a Promise, 'sync' a plain result. */
async function readAll(probe: ProbeResult, n: number, mode: NvmlEnergyReads): Promise<ReadResult[]> {
  const results: ReadResult[] = [];
  for (let i = 0; i < n; i++) {
    const pending = probe.collector!.read();
    expect(pending instanceof Promise).toBe(mode === 'async');
    results.push(await pending);
  }
  return results;
}

describe.each(['async', 'sync'] as const)('nvml against the stub libnvidia-ml (%s energy reads)', (mode) => {
  const probeNvmlIn = (c: CollectorContext, options: NvmlProbeOptions = {}) => probeNvml(c, { ...options, energyReads: mode });

  it('finds two Hopper GPUs, reports counter joules exactly, with epoch and power', async () => {
    script(`driver 550.54.15\ncuda 12040\n${H100('GPU-aaaa', '1000 5000 6500 8250')}${H100('GPU-bbbb', '0 700 1400', '312500 313000')}`);
    const probe = probeNvmlIn(ctx());
    expect(probe.found).toBe(true);
    expect((probe.collector as NvmlCollector).energyReads).toBe(mode);
    expect(probe.devices).toEqual([
      { id: 'gpu0', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-aaaa', method: 'counter', collector: 'nvml', powerLimitWatts: 700 },
      { id: 'gpu1', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-bbbb', method: 'counter', collector: 'nvml', powerLimitWatts: 700 },
    ]);
    expect(probe.details).toMatchObject({
      gpuCount: 2, driverVersion: '550.54.15', cudaVersion: '12.4',
      'gpu0.architecture': 'Hopper', 'gpu0.busId': '00000000:1a:00.0', 'gpu0.migMode': 'disabled', 'gpu0.method': 'counter',
    });
    const epoch = `${BOOT_ID}/550.54.15`;
    // The probe consumed each GPU's first energy token to learn that the counter works.
    expect(await readAll(probe, 3, mode)).toEqual([
      { readings: [
        { deviceId: 'gpu0', counterJoules: 5, counterEpoch: epoch, powerWatts: 250 },
        { deviceId: 'gpu1', counterJoules: 0.7, counterEpoch: epoch, powerWatts: 312.5 },
      ] },
      { readings: [
        { deviceId: 'gpu0', counterJoules: 6.5, counterEpoch: epoch, powerWatts: 250 },
        { deviceId: 'gpu1', counterJoules: 1.4, counterEpoch: epoch, powerWatts: 313 },
      ] },
      { readings: [
        { deviceId: 'gpu0', counterJoules: 8.25, counterEpoch: epoch, powerWatts: 250 },
        { deviceId: 'gpu1', counterJoules: 1.4, counterEpoch: epoch, powerWatts: 313 },
      ] },
    ]);
    probe.collector!.close();
    probe.collector!.close();
  });

  it('passes a counter decrease (driver reload) through raw for the integrator to treat as a reset', async () => {
    script(H100('GPU-aaaa', '9000 10000 12000 3000 4000'));
    const probe = probeNvmlIn(ctx(), { nowSeconds: clock() });
    const joules = (await readAll(probe, 4, mode)).map((r) => r.readings[0].counterJoules);
    expect(joules).toEqual([10, 12, 3, 4]);
    probe.collector!.close();
  });

  it('falls back to sampled power when the energy counter is NOT_SUPPORTED', async () => {
    script(`gpu\nname Tesla P100-PCIE-16GB\nuuid GPU-p100\nlimit_mw 250000\narch 4\nenergy ns\npower 26000 31250 250125\n`);
    const probe = probeNvmlIn(ctx());
    expect(probe.devices[0].method).toBe('sampled');
    expect(probe.devices[0].notes).toEqual(['no NVML energy counter (Not Supported): power sampled each tick and integrated']);
    expect(probe.details).toMatchObject({ 'gpu0.architecture': 'Pascal', 'gpu0.migMode': 'not supported', 'gpu0.method': 'sampled' });
    // The probe consumed 26000 mW checking that power works.
    expect(await readAll(probe, 2, mode)).toEqual([
      { readings: [{ deviceId: 'gpu0', powerWatts: 31.25 }] },
      { readings: [{ deviceId: 'gpu0', powerWatts: 250.125 }] },
    ]);
    probe.collector!.close();
  });

  it('drops absurd sampled power (above 2x the limit, 0xFFFFFFFF mW) and keeps going', async () => {
    script(`gpu\nname Tesla T4\nuuid GPU-t4\nlimit_mw 70000\narch 6\nenergy ns\npower 1 50000 4294967295 140001 140000\n`);
    const probe = probeNvmlIn(ctx());
    const results = await readAll(probe, 4, mode);
    expect(results[0]).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 50 }] });
    expect(results[1].readings).toEqual([]);
    expect(results[1].dropped).toEqual([{ deviceId: 'gpu0', reason: 'absurd', message: 'power 4294967.295 W refused' }]);
    expect(results[2].dropped?.[0].reason).toBe('absurd');
    expect(results[3]).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 140 }] });
    probe.collector!.close();
  });

  it('drops an impossible counter jump and a counter beyond 2^53 mJ, then resumes from the last good value', async () => {
    // Limit 700 W → ceiling 1400 W; one second per read plus one second of grace → at most 2800 J per step.
    script(H100('GPU-aaaa', '0 1000000 3801000 18446744073709551615 1500000'));
    const probe = probeNvmlIn(ctx(), { nowSeconds: clock() });
    const results = await readAll(probe, 4, mode);
    expect(results[0].readings[0].counterJoules).toBe(1000);
    expect(results[1].dropped).toEqual([{ deviceId: 'gpu0', reason: 'absurd', message: 'energy counter jumped 2801 J' }]);
    expect(results[2].dropped?.[0]).toMatchObject({ deviceId: 'gpu0', reason: 'absurd' });
    expect(results[3].readings[0].counterJoules).toBe(1500);
    probe.collector!.close();
  });

  it('reports a GPU that is lost as dropped every tick while the other GPU keeps reading', async () => {
    script(`${H100('GPU-aaaa', '0 1000 2000 3000')}${H100('GPU-bbbb', '0 500 lost')}`);
    const probe = probeNvmlIn(ctx());
    const results = await readAll(probe, 3, mode);
    expect(results[0].readings.map((r) => r.counterJoules)).toEqual([1, 0.5]);
    expect(results[1].readings.map((r) => [r.deviceId, r.counterJoules])).toEqual([['gpu0', 2]]);
    expect(results[1].dropped).toEqual([
      { deviceId: 'gpu1', reason: 'lost', message: 'nvmlDeviceGetTotalEnergyConsumption: GPU is lost (15)' },
    ]);
    expect(results[2].readings.map((r) => [r.deviceId, r.counterJoules])).toEqual([['gpu0', 3]]);
    expect(results[2].dropped).toEqual([{ deviceId: 'gpu1', reason: 'lost', message: 'gpu1 is lost (NVML_ERROR_GPU_IS_LOST)' }]);
    probe.collector!.close();
  });

  it('tracks only the GPUs CUDA_VISIBLE_DEVICES names, by UUID prefix, keeping physical ids', async () => {
    script(`${H100('GPU-aaaa', '0 1000')}${H100('GPU-bbbb', '0 2000')}`);
    const probe = probeNvmlIn(ctx({ gpus: ['GPU-bb'] }));
    expect(probe.devices.map((d) => [d.id, d.uuid])).toEqual([['gpu1', 'GPU-bbbb']]);
    expect(await probe.collector!.read()).toMatchObject({ readings: [{ deviceId: 'gpu1', counterJoules: 2 }] });
    probe.collector!.close();
  });

  it('says which entry matched nothing when no selected GPU exists', () => {
    script(H100('GPU-aaaa', '0'));
    const probe = probeNvmlIn(ctx({ gpus: ['3'] }));
    expect(probe.found).toBe(false);
    expect(probe.why).toBe("GPU selection entries '3' match none of the 1 GPUs the driver reports (or follow one that does not; CUDA ignores the rest)");
    expect(probe.fix).toBe('fix --gpus or CUDA_VISIBLE_DEVICES');
  });

  it('notes MIG mode: energy is the whole physical GPU', () => {
    script(`gpu\nname NVIDIA A100-SXM4-80GB\nuuid GPU-a100\nlimit_mw 500000\narch 7\nmig 1\nenergy 0 1\n`);
    const probe = probeNvmlIn(ctx());
    expect(probe.devices[0].notes).toEqual([MIG_NOTE]);
    expect(probe.details).toMatchObject({ 'gpu0.migMode': 'enabled', 'gpu0.architecture': 'Ampere' });
    probe.collector!.close();
  });

  it('explains a missing library with the fix', () => {
    const probe = probeNvmlIn(ctx({ nvmlLibraryPath: join(stub.dir, 'nope', 'libnvidia-ml.so.1') }));
    expect(probe.found).toBe(false);
    expect(probe.why).toMatch(/^\/.*nope\/libnvidia-ml\.so\.1 not found or not loadable \(/);
    expect(probe.fix).toContain('--nvml-library PATH');
  });

  it('explains nvmlInit_v2 failures: driver/library mismatch', () => {
    script('init_rc 18\n');
    const probe = probeNvmlIn(ctx());
    expect(probe.found).toBe(false);
    expect(probe.why).toBe('nvmlInit_v2 failed: RM has detected an NVML/RM version mismatch. (18)');
    expect(probe.fix).toContain('reboot');
  });

  it('reports no GPUs as not found', () => {
    script('driver 550.54.15\n');
    const probe = probeNvmlIn(ctx());
    expect(probe).toMatchObject({ found: false, why: 'NVML reports no NVIDIA GPUs', details: { gpuCount: 0 } });
  });
});

describe('nvml energy reads off the event loop', () => {
  /** gpus writes n H100 blocks with delay_us tokens; GPU i counts i*1000 + 250, + 500, ... mJ. */
  const gpus = (n: number, delayUs: string) =>
    Array.from({ length: n }, (_, i) => H100(`GPU-000${i}`, `${i * 1000} ${i * 1000 + 250} ${i * 1000 + 500}`, '250000', `delay_us ${delayUs}`)).join('');
  const joulesOf = (r: ReadResult) => r.readings.map((x) => [x.deviceId, x.counterJoules]);

  it('read() on three stub GPUs is a Promise of exact joules on the async path', async () => {
    script(gpus(3, '0'));
    const collector = probeNvml(ctx(), { energyReads: 'async' }).collector as NvmlCollector;
    expect(collector.energyReads).toBe('async');
    const pending = collector.read();
    expect(pending).toBeInstanceOf(Promise);
    expect(joulesOf(await pending)).toEqual([['gpu0', 0.25], ['gpu1', 1.25], ['gpu2', 2.25]]);
    expect(joulesOf(await collector.read())).toEqual([['gpu0', 0.5], ['gpu1', 1.5], ['gpu2', 2.5]]);
    collector.close();
  });

  it('reads a slow driver\'s energy counter every NVML_SLOW_ENERGY_EVERY_SECONDS, power every read, and always on the final read', async () => {
    script(gpus(2, '2000'));
    let now = 100;
    const collector = probeNvml(ctx(), { nowSeconds: () => now }).collector as NvmlCollector;
    expect(collector.energyReads).toBe('async');
    expect(joulesOf(await collector.read())).toEqual([['gpu0', 0.25], ['gpu1', 1.25]]);
    now += 1;
    const between = await collector.read();
    // Power only: counters skipped, nothing refused, nothing lost.
    expect(between).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 250 }, { deviceId: 'gpu1', powerWatts: 250 }] });
    now += NVML_SLOW_ENERGY_EVERY_SECONDS - 1;
    expect(joulesOf(await collector.read())).toEqual([['gpu0', 0.5], ['gpu1', 1.5]]);
    now += 1;
    // The run's last reading reads the counter whatever the schedule, so no energy is left out at the end.
    expect(joulesOf(await collector.read({ final: true }))).toEqual([['gpu0', 0.5], ['gpu1', 1.5]]);
    collector.close();
  });

  it('reads 4 GPUs x 20 ms in parallel while timers keep firing; the sync path takes the sum', async () => {
    script(gpus(4, '20000'));
    // The default ('auto') saw 20 ms energy calls at probe, far above NVML_ASYNC_ABOVE_MICROS: thread pool.
    const probe = await nvmlFactory.probe(ctx());
    expect((probe.collector as NvmlCollector).energyReads).toBe('async');
    const order: string[] = [];
    setImmediate(() => order.push('immediate'));
    setTimeout(() => order.push('timer 5 ms'), 5);
    const started = performance.now();
    const result = await probe.collector!.read();
    const elapsedMs = performance.now() - started;
    order.push('read done');
    // Each call sleeps 20 ms in C; libuv's 4 pool threads run them at once. 4 x 20 = 80 ms would be serial.
    expect(elapsedMs).toBeLessThan(70);
    expect(order).toEqual(['immediate', 'timer 5 ms', 'read done']);
    expect(joulesOf(result)).toEqual([['gpu0', 0.25], ['gpu1', 1.25], ['gpu2', 2.25], ['gpu3', 3.25]]);
    probe.collector!.close();

    script(gpus(4, '20000'));
    const sync = probeNvml(ctx(), { energyReads: 'sync' });
    const syncStarted = performance.now();
    const syncResult = sync.collector!.read() as ReadResult;
    expect(performance.now() - syncStarted).toBeGreaterThanOrEqual(80);
    expect(joulesOf(syncResult)).toEqual(joulesOf(result));
    sync.collector!.close();
  });

  it("'auto' moves to the thread pool after NVML_SLOW_TICKS slow ticks and keeps the counter exact", async () => {
    // Probe and first read: instant calls; from the second read on each call sleeps 20 ms.
    script(gpus(2, '0 0 20000'));
    const collector = probeNvml(ctx()).collector as NvmlCollector;
    const ticks: unknown[] = [];
    for (let i = 0; i < 1 + NVML_SLOW_TICKS; i++) ticks.push(joulesOf(await collector.read()));
    expect(ticks).toEqual([
      [['gpu0', 0.25], ['gpu1', 1.25]],
      ...Array.from({ length: NVML_SLOW_TICKS }, () => [['gpu0', 0.5], ['gpu1', 1.5]]),
    ]);
    // Whether the early ticks ran sync depends on the machine's load; after the slow ones it must be async.
    expect(collector.energyReads).toBe('async');
    const next = collector.read();
    expect(next).toBeInstanceOf(Promise);
    // Awaited before the next test re-scripts the stub, which would reset GPU state under the pool thread.
    expect(joulesOf(await next)).toEqual([['gpu0', 0.5], ['gpu1', 1.5]]);
    collector.close();
  });

  it('shares a read still in flight instead of stacking calls, and unloads only after it finishes', async () => {
    script(gpus(2, '20000'));
    const probe = probeNvml(ctx(), { energyReads: 'async' });
    const first = probe.collector!.read();
    expect(probe.collector!.read()).toBe(first);
    probe.collector!.close(); // deferred: the pool threads are still inside the library
    expect(joulesOf(await first)).toEqual([['gpu0', 0.25], ['gpu1', 1.25]]);
    expect(() => probe.collector!.read()).toThrow('nvml collector is closed');
  });
});
