/**
 * bench-collectors: what reading the hardware collectors costs per device per tick (target:
 * ≤ 10 µs), with the stub libnvidia-ml (8 GPUs, no delay) and a RAPL fixture tree built in a temp dir.
 * Run alone: `npx tsc -p tsconfig.json && node dist/scripts/bench-collectors.js`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { probeNvml } from '../collectors/nvml.js';
import type { NvmlCollector, NvmlEnergyReads } from '../collectors/nvml/reader.js';
import { loadNvml } from '../collectors/nvml/ffi.js';
import { raplFactory } from '../collectors/rapl.js';
import type { Collector, CollectorContext } from '../collectors/types.js';
import { compileNvmlStub } from './nvml-stub.js';

/** CollectorBench holds per-device costs in µs per read (one read = one tick); CPU counts every thread. */
export interface CollectorBench {
  nvmlDevices: number;
  raplDevices: number;
  reads: number;
  /** nvmlMicrosPerDevice is CPU µs per GPU per tick with the default energyReads ('auto'), instant stub. */
  nvmlMicrosPerDevice: number;
  /** nvmlDefaultPath is the path 'auto' ended on with the instant stub ('sync' expected: calls are fast). */
  nvmlDefaultPath: 'async' | 'sync';
  /** nvmlAsyncMicrosPerDevice is CPU µs per GPU per tick with energy on libuv's thread pool (every thread). */
  nvmlAsyncMicrosPerDevice: number;
  /** nvmlAsyncLoopMicrosPerDevice is event-loop busy µs per GPU per tick on the async path (instant stub). */
  nvmlAsyncLoopMicrosPerDevice: number;
  /** nvmlSyncMicrosPerDevice is CPU µs per GPU per tick with energyReads 'sync' (all of it on the loop). */
  nvmlSyncMicrosPerDevice: number;
  /** nvmlRawEnergyCallMicros is one synchronous koffi call of nvmlDeviceGetTotalEnergyConsumption (stub). */
  nvmlRawEnergyCallMicros: number;
  /** nvmlRawPowerCallMicros is one synchronous koffi call of nvmlDeviceGetPowerUsage (stub). */
  nvmlRawPowerCallMicros: number;
  /** nvmlSlowDriver: ms per tick of all GPUs with the stub sleeping H100-like 2.7 ms per energy call. */
  nvmlSlowDriver: {
    delayMicros: number; reads: number; defaultPath: 'async' | 'sync';
    defaultLoopMsPerTick: number; defaultWallMsPerTick: number; syncLoopMsPerTick: number;
  };
  /** raplMicrosPerDevice is CPU µs per zone per tick (one pread of energy_uj kept open). */
  raplMicrosPerDevice: number;
  /** raplWallMicrosPerDevice is wall µs per zone per tick. */
  raplWallMicrosPerDevice: number;
}

const GPUS = 8;
/** H100_ENERGY_CALL_MICROS is the median nvmlDeviceGetTotalEnergyConsumption time seen on an H100 (driver 580). */
const H100_ENERGY_CALL_MICROS = 2700;
const BOOT_ID = '0b5e7c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e';

/** benchCollectors measures the NVML (stub) and RAPL (fixture tree) collectors over `reads` ticks each. */
export async function benchCollectors(reads = 3000): Promise<CollectorBench> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-bench-collectors-'));
  const savedScript = process.env.NVML_STUB_SCRIPT;
  try {
    const ctx = fixtureContext(dir);
    nvmlScript(dir, 0);
    const autoRun = await timeNvml(ctx, 'auto', reads);
    const asyncRun = await timeNvml(ctx, 'async', reads);
    const syncRun = await timeNvml(ctx, 'sync', reads);
    const raw = rawCallMicros(ctx.nvmlLibraryPath, reads * GPUS);
    nvmlScript(dir, H100_ENERGY_CALL_MICROS);
    const slowReads = Math.max(10, Math.round(reads / 30));
    const slowAuto = await timeNvml(ctx, 'auto', slowReads, 5);
    const slowSync = await timeNvml(ctx, 'sync', slowReads, 5);
    const rapl = await raplFactory.probe(ctx);
    if (!rapl.collector) throw new Error(`bench RAPL tree not picked up: ${rapl.why}`);
    const raplRun = await timeReads(rapl.collector, reads);
    return {
      nvmlDevices: GPUS, raplDevices: rapl.devices.length, reads,
      nvmlMicrosPerDevice: autoRun.cpuMicros / GPUS,
      nvmlDefaultPath: autoRun.path,
      nvmlAsyncMicrosPerDevice: asyncRun.cpuMicros / GPUS,
      nvmlAsyncLoopMicrosPerDevice: asyncRun.loopMicros / GPUS,
      nvmlSyncMicrosPerDevice: syncRun.cpuMicros / GPUS,
      nvmlRawEnergyCallMicros: raw.energyMicros,
      nvmlRawPowerCallMicros: raw.powerMicros,
      nvmlSlowDriver: {
        delayMicros: H100_ENERGY_CALL_MICROS, reads: slowReads, defaultPath: slowAuto.path,
        defaultLoopMsPerTick: slowAuto.loopMicros / 1000, defaultWallMsPerTick: slowAuto.wallMicros / 1000,
        syncLoopMsPerTick: slowSync.loopMicros / 1000,
      },
      raplMicrosPerDevice: raplRun.cpuMicros / rapl.devices.length,
      raplWallMicrosPerDevice: raplRun.wallMicros / rapl.devices.length,
    };
  } finally {
    if (savedScript === undefined) delete process.env.NVML_STUB_SCRIPT;
    else process.env.NVML_STUB_SCRIPT = savedScript;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** nvmlScript scripts 8 stub H100s whose energy call sleeps delayMicros; read at the next nvmlInit_v2. */
function nvmlScript(dir: string, delayMicros: number): void {
  const gpu = (i: number) =>
    `gpu\nname NVIDIA H100 80GB HBM3\nuuid GPU-bench-${i}\nlimit_mw 700000\narch 9\nenergy ${i} ${i + 1000}\npower 250000\n${delayMicros > 0 ? `delay_us ${delayMicros}\n` : ''}`;
  const scriptPath = join(dir, `nvml-script-${delayMicros}.txt`);
  writeFileSync(scriptPath, Array.from({ length: GPUS }, (_, i) => gpu(i)).join(''));
  process.env.NVML_STUB_SCRIPT = scriptPath; // the stub's C getenv sees process.env
}

/** fixtureContext compiles the stub and writes a two-socket powercap tree and procfs boot id. */
function fixtureContext(dir: string): CollectorContext {
  const files: Record<string, string> = { 'proc/sys/kernel/random/boot_id': BOOT_ID };
  for (const socket of [0, 1]) {
    const zone = `sys/class/powercap/intel-rapl:${socket}`;
    files[`${zone}/name`] = `package-${socket}`;
    files[`${zone}/energy_uj`] = String(240422366267 + socket);
    files[`${zone}/max_energy_range_uj`] = '262143328850';
  }
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), `${content}\n`);
  }
  return {
    sysfsRoot: join(dir, 'sys'), procfsRoot: join(dir, 'proc'), nvidiaSmiPath: '/nonexistent/nvidia-smi',
    nvmlLibraryPath: compileNvmlStub(dir), intervalSeconds: 1, env: {},
  };
}

/** timeNvml probes the stub with energyReads and times its reads; path is where 'auto' ended up. */
async function timeNvml(ctx: CollectorContext, energyReads: NvmlEnergyReads, reads: number, warmReads?: number) {
  const probe = probeNvml(ctx, { energyReads });
  if (!probe.collector || probe.devices.length !== GPUS) throw new Error(`bench NVML stub not picked up: ${probe.why}`);
  const collector = probe.collector as NvmlCollector;
  return { ...(await timeReads(collector, reads, warmReads)), path: collector.energyReads };
}

/** timeReads runs read() `reads` times after a warm-up and returns µs per read: CPU, wall, event-loop busy. */
async function timeReads(collector: Collector, reads: number, warmReads = 200): Promise<{ cpuMicros: number; wallMicros: number; loopMicros: number }> {
  try {
    for (let i = 0; i < warmReads; i++) check(await collector.read());
    const loop = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < reads; i++) check(await collector.read());
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const busy = performance.eventLoopUtilization(loop);
    return { cpuMicros: (used.user + used.system) / reads, wallMicros: (wallMs * 1000) / reads, loopMicros: (busy.active * 1000) / reads };
  } finally {
    collector.close();
  }
}

function check(result: { readings: unknown[]; dropped?: unknown[] }): void {
  if (result.dropped?.length) throw new Error(`bench read dropped readings: ${JSON.stringify(result.dropped)}`);
}

/** rawCallMicros times the bare synchronous FFI calls on GPU 0: the floor under any collector. */
function rawCallMicros(libraryPath: string, calls: number): { energyMicros: number; powerMicros: number } {
  const nvml = loadNvml(libraryPath);
  nvml.init();
  try {
    const handle = nvml.handleByIndex(0).value;
    const scratch = new Uint32Array(2);
    const time = (call: () => number) => {
      for (let i = 0; i < 1000; i++) call();
      const cpu = process.cpuUsage();
      for (let i = 0; i < calls; i++) call();
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / calls;
    };
    return { energyMicros: time(() => nvml.totalEnergy(handle, scratch)), powerMicros: time(() => nvml.powerUsage(handle, scratch)) };
  } finally {
    nvml.shutdown();
    nvml.unload();
  }
}

/** formatCollectorBench renders the figures as the lines `npm run bench` prints (µs per device, ms per tick). */
export function formatCollectorBench(b: CollectorBench): string {
  const f = (n: number) => n.toFixed(2);
  const slow = b.nvmlSlowDriver;
  return (
    `collectors, µs per device per tick (target ≤ 10), ${b.reads} reads, CPU of all threads:\n` +
      `  nvml default ('auto', ended ${b.nvmlDefaultPath}), ${b.nvmlDevices} stub GPUs: ${f(b.nvmlMicrosPerDevice)}\n` +
      `  nvml forced async (thread pool): ${f(b.nvmlAsyncMicrosPerDevice)} (event loop busy ${f(b.nvmlAsyncLoopMicrosPerDevice)})\n` +
      `  nvml forced sync: ${f(b.nvmlSyncMicrosPerDevice)}; raw koffi call: energy ${f(b.nvmlRawEnergyCallMicros)}, power ${f(b.nvmlRawPowerCallMicros)}\n` +
      `  rapl, ${b.raplDevices} zones (fixture tree): ${f(b.raplMicrosPerDevice)} (wall ${f(b.raplWallMicrosPerDevice)})\n` +
      `nvml with the stub sleeping ${slow.delayMicros} µs per energy call (H100 median), ms per tick of ${b.nvmlDevices} GPUs:\n` +
      `  default ('auto', ended ${slow.defaultPath}): event loop busy ${f(slow.defaultLoopMsPerTick)}, wall ${f(slow.defaultWallMsPerTick)}; ` +
      `forced sync: event loop blocked ${f(slow.syncLoopMsPerTick)}\n`
  );
}

async function main(): Promise<void> {
  process.stdout.write(formatCollectorBench(await benchCollectors(Number(process.env.BENCH_READS ?? 3000))));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`bench-collectors failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
