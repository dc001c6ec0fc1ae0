import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReadResult } from '../../src/types.js';
import type { CollectorContext, ProbeResult } from '../../collectors/types.js';
import { MIG_NOTE } from '../../collectors/lib/gpu-select.js';
import { nvidiaSmiFactory, probeNvidiaSmi, type NvidiaSmiCollector } from '../../collectors/nvidia-smi.js';
import { parseHelpQueryGpu, parseNvidiaSmiXml } from '../../collectors/nvidia-smi/parse.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));
const FAKE = join(FIXTURES, 'fake-nvidia-smi.mjs');
const FAST = { silenceSeconds: 0.5, startupSeconds: 5, backoffBaseSeconds: 0.05, backoffMaxSeconds: 0.2 };
let dir: string;
let runs = 0;
const open: ProbeResult[] = [];

beforeAll(() => {
  chmodSync(FAKE, 0o755);
  dir = mkdtempSync(join(tmpdir(), 'wattprint-smi-'));
});
afterEach(() => {
  for (const p of open.splice(0)) p.collector?.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ctx points the collector at the fake, with its script in env (only agent/ reads process.env). */
function ctx(fake: Record<string, string>, over: Partial<CollectorContext> = {}): CollectorContext & { log: string } {
  const log = join(dir, `log-${runs++}.jsonl`);
  return {
    sysfsRoot: '/nonexistent/sys', procfsRoot: '/nonexistent/proc', nvmlLibraryPath: '/nonexistent/libnvidia-ml.so.1',
    nvidiaSmiPath: FAKE, intervalSeconds: 0.05, log,
    env: { PATH: process.env.PATH, FAKE_SMI_LOG: log, FAKE_SMI_STATE: join(dir, `state-${runs}`), ...fake },
    ...over,
  };
}

async function probe(c: CollectorContext, options = FAST): Promise<ProbeResult> {
  const p = await probeNvidiaSmi(c, options);
  open.push(p);
  return p;
}

/** readUntil polls read() until `done` holds (the stream is asynchronous); gives up after 8 s. */
async function readUntil(p: ProbeResult, done: (r: ReadResult) => boolean): Promise<ReadResult> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const r = await p.collector!.read();
    if (done(r)) return r;
    if (Date.now() > deadline) throw new Error(`condition not met; last read ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const launches = (log: string) => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
const samples = (...perLaunch: object[]) => JSON.stringify(perLaunch);

describe('nvidia-smi against the fake nvidia-smi', () => {
  it('inventories from -q -x and streams power.draw.average, falling back to power.draw per GPU', async () => {
    const c = ctx({ FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['250.50'], 'power.draw': ['251.00'] }, 1: { 'power.draw': ['55.5'] } }) });
    const p = await nvidiaSmiFactory.probe(c);
    open.push(p);
    expect(p.found).toBe(true);
    expect(p.devices).toEqual([
      { id: 'gpu0', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-1e1f0a2b-0000-4000-8000-000000000000', method: 'sampled',
        collector: 'nvidia-smi', powerLimitWatts: 700, notes: ['no energy counter through nvidia-smi: power.draw.average sampled each tick and integrated'] },
      { id: 'gpu1', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-2e2f0a2b-0000-4000-8000-000000000001', method: 'sampled',
        collector: 'nvidia-smi', powerLimitWatts: 700, notes: ['no energy counter through nvidia-smi: power.draw.average sampled each tick and integrated', MIG_NOTE] },
    ]);
    expect(p.details).toEqual({
      gpuCount: 2, driverVersion: '570.124.06', cudaVersion: '12.8', powerField: 'power.draw.average',
      'gpu0.architecture': 'Hopper', 'gpu0.busId': '00000000:18:00.0', 'gpu0.migMode': 'Disabled',
      'gpu1.architecture': 'Hopper', 'gpu1.busId': '00000000:2A:00.0', 'gpu1.migMode': 'Enabled',
    });
    const r = await readUntil(p, (x) => x.readings.length === 2);
    expect(r).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 250.5 }, { deviceId: 'gpu1', powerWatts: 55.5 }] });
    expect(launches(c.log)).toEqual([
      ['--help-query-gpu'], ['-q', '-x'],
      ['--query-gpu=index,power.draw.average,power.draw', '--format=csv,noheader,nounits', '-lms', '50'],
    ]);
  });

  it('queries only power.draw when the driver does not know power.draw.average, and only the selected GPUs', async () => {
    const c = ctx({ FAKE_SMI_HELP: join(FIXTURES, 'help-query-gpu-no-average.txt'), FAKE_SMI_SAMPLES: samples({ 1: { 'power.draw': ['61.25'] } }) }, { gpus: ['GPU-2e2f'] });
    const p = await probe(c);
    expect(p.details?.powerField).toBe('power.draw');
    expect(p.devices.map((d) => d.id)).toEqual(['gpu1']);
    expect(await readUntil(p, (x) => x.readings.length === 1)).toEqual({ readings: [{ deviceId: 'gpu1', powerWatts: 61.25 }] });
    expect(launches(c.log)[2]).toEqual(['--query-gpu=index,power.draw', '--format=csv,noheader,nounits', '-lms', '50', '-i', '1']);
  });

  it('drops [N/A], negative, absurd and nan power with their reasons', async () => {
    const c = ctx({ FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['[N/A]'], 'power.draw': ['[Not Supported]'] }, 1: { 'power.draw.average': ['1400.01'] } }) });
    const p = await probe(c);
    const r = await readUntil(p, (x) => (x.dropped ?? []).length === 2);
    expect(r).toEqual({ readings: [], dropped: [
      { deviceId: 'gpu0', reason: 'unsupported', message: 'nvidia-smi reports no power for this GPU' },
      { deviceId: 'gpu1', reason: 'absurd', message: 'power 1400.01 W refused' },
    ] });
    const c2 = ctx({ FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['-5.00'] }, 1: { 'power.draw.average': ['nan'] } }) });
    const p2 = await probe(c2);
    const r2 = await readUntil(p2, (x) => (x.dropped ?? []).length === 2);
    expect(r2.dropped?.map((d) => [d.deviceId, d.reason])).toEqual([['gpu0', 'negative'], ['gpu1', 'nan']]);
  });

  it('restarts nvidia-smi after it crashes and resumes with the new values', async () => {
    const c = ctx({ FAKE_SMI_PLAN: 'crash@2,ok', FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['100.00'] } }, { 0: { 'power.draw.average': ['200.00'] } }) }, { gpus: ['0'] });
    const p = await probe(c);
    expect(await readUntil(p, (x) => x.readings[0]?.powerWatts === 200)).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 200 }] });
    expect((p.collector as NvidiaSmiCollector).restarts).toBe(1);
    expect(launches(c.log).filter((a) => a[0].startsWith('--query-gpu'))).toHaveLength(2);
  });

  it('kills and restarts a silent (hung) nvidia-smi', async () => {
    const c = ctx({ FAKE_SMI_PLAN: 'hang@1,ok', FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['100.00'] } }, { 0: { 'power.draw.average': ['300.00'] } }) }, { gpus: ['0'] });
    const p = await probe(c, { ...FAST, silenceSeconds: 0.3 });
    expect(await readUntil(p, (x) => x.readings[0]?.powerWatts === 300)).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 300 }] });
    expect((p.collector as NvidiaSmiCollector).restarts).toBe(1);
  });

  it('drops and counts a malformed line, keeping the good ones', async () => {
    const c = ctx({ FAKE_SMI_PLAN: 'malformed@1', FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['42.00'] }, 1: { 'power.draw.average': ['43.00'] } }) });
    const p = await probe(c);
    const r = await readUntil(p, (x) => (x.dropped ?? []).length > 0);
    expect(r.dropped).toEqual([{ reason: 'malformed', message: 'nvidia-smi line "0, 12.5"' }]);
    expect((p.collector as NvidiaSmiCollector).malformedLines).toBe(1);
    expect(await readUntil(p, (x) => x.readings.length === 2)).toEqual({ readings: [
      { deviceId: 'gpu0', powerWatts: 42 }, { deviceId: 'gpu1', powerWatts: 43 },
    ] });
  });

  it('reports the stream failure reason once the GPUs have gone silent', async () => {
    const c = ctx({ FAKE_SMI_PLAN: 'fail' }, { gpus: ['0'] });
    const p = await probe(c, { ...FAST, silenceSeconds: 0.2, startupSeconds: 0.2 });
    const r = await readUntil(p, (x) => (x.dropped ?? []).length > 0);
    expect(r).toEqual({ readings: [], dropped: [
      { deviceId: 'gpu0', reason: 'lost', message: 'nvidia-smi: Failed to initialize NVML: Driver/library version mismatch' },
    ] });
  });

  it('parses our own H100 capture (driver 580.159.04) and probes with it', async () => {
    const inventory = parseNvidiaSmiXml(readFileSync(join(FIXTURES, 'h100-80gb-hbm3__580.159.04.xml'), 'utf8'));
    expect(inventory).toEqual({ driverVersion: '580.159.04', cudaVersion: '13.0', gpus: [{
      index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-00000000-0000-0000-0000-000000000000', busId: '00000000:00:06.0',
      architecture: 'Hopper', migMode: 'Disabled', powerLayout: 'gpu_power_readings',
      averagePowerDrawWatts: 71.98, instantPowerDrawWatts: 71.74, powerLimitWatts: 700, defaultPowerLimitWatts: 700,
    }] });
    const help = parseHelpQueryGpu(readFileSync(join(FIXTURES, 'help-query-gpu-580.txt'), 'utf8'));
    expect(['index', 'power.draw', 'power.draw.average', 'power.draw.instant'].every((f) => help.has(f))).toBe(true);
    const c = ctx({ FAKE_SMI_XML: join(FIXTURES, 'h100-80gb-hbm3__580.159.04.xml'), FAKE_SMI_SAMPLES: samples({ 0: { 'power.draw.average': ['697.43'] } }) });
    const p = await probe(c);
    expect(p.devices.map((d) => [d.id, d.name, d.powerLimitWatts])).toEqual([['gpu0', 'NVIDIA H100 80GB HBM3', 700]]);
    expect(await readUntil(p, (x) => x.readings.length === 1)).toEqual({ readings: [{ deviceId: 'gpu0', powerWatts: 697.43 }] });
  });

  it('says why when nvidia-smi is missing', async () => {
    const p = await probe(ctx({}, { nvidiaSmiPath: '/nonexistent/nvidia-smi' }));
    expect(p).toEqual({
      found: false, devices: [],
      why: '/nonexistent/nvidia-smi --help-query-gpu failed: not found',
      fix: 'install the NVIDIA driver (it ships nvidia-smi) or pass --nvidia-smi PATH',
    });
  });
});
