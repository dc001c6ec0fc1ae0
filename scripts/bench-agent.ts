import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { BenchFixture } from './bench-fixture.js';
import { measureServer, sleep, spawnQuiet, stopChild, waitForOutput, type ServerMeasurement } from './bench-server.js';
import { repoFile } from './nvml-stub.js';

/** AgentCase is one way users run the agent: GPUs (0 = the RAPL tree alone), tick rate, scrape interval. */
export interface AgentCase {
  gpus: number;
  hz: number;
  /** Seconds between /metrics scrapes; undefined = idle (serving, nobody scrapes or listens). */
  scrapeEverySeconds?: number;
}

/** AgentMeasurement is one run of a case. */
export interface AgentMeasurement extends ServerMeasurement {
  ticks: number;
  /** CPU per tick, ms, from /proc/PID/stat (utime+stime, 10 ms resolution) and from schedstat (ns). */
  statMsPerTick: number;
  schedMsPerTick: number;
  /** CPU per tick from spawn to the end of the warm-up (/proc/PID/stat), ms: start-up and JIT warm-up included. */
  warmupMsPerTick: number;
  exitCode: number | null;
}

/** caseLabel names a case: '8 GPUs + RAPL, 1 Hz, scraped every 1 s'. */
export function caseLabel(c: AgentCase): string {
  const what = c.gpus === 0 ? 'RAPL only' : `${c.gpus} GPU${c.gpus === 1 ? '' : 's'} + RAPL`;
  return `${what}, ${c.hz} Hz, ${c.scrapeEverySeconds === undefined ? 'idle' : `scraped every ${c.scrapeEverySeconds} s`}`;
}

/**
 * benchAgent runs `bin/wattprint.cjs agent` as users run it — the bin with its V8 flags, its own SQLite
 * database, listening on loopback — on the stub NVML and the fake RAPL tree, and measures it from /proc.
 */
export async function benchAgent(fixture: BenchFixture, c: AgentCase, opts: { seconds: number; warmupSeconds: number }): Promise<AgentMeasurement> {
  const dir = mkdtempSync(join(fixture.dir, 'agent-'));
  const args = [
    'agent', '--db', join(dir, 'bench.db'), '--run-id', 'bench', '--interval', String(1 / c.hz),
    '--collectors', c.gpus === 0 ? 'rapl' : 'nvml,rapl', '--nvml-library', fixture.libraryPath,
    '--sysfs', fixture.sysfsRoot, '--procfs', fixture.procfsRoot, '--zone', 'DE', '--pue', '1.1', '--listen', '127.0.0.1:0',
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: dir, LANG: 'C', WATTPRINT_AGENT_LOCK: join(dir, 'agent.json'),
    ...(c.gpus > 0 ? { NVML_STUB_SCRIPT: fixture.gpuScript(c.gpus) } : {}),
  };
  const bin = repoFile(join('bin', 'wattprint.cjs'));
  if (!existsSync(bin)) throw new Error(`${bin} is missing`);
  return measureTicking(spawnQuiet(bin, args, env), dir, c.hz, async (child) => {
    const url = (await waitForOutput(child, /live at (http:\/\/[^/\s]+)\//, 30_000))[1]!;
    return measureServer(child.pid!, url, { ...opts, scrapeEverySeconds: c.scrapeEverySeconds });
  });
}

/**
 * measureTicking measures a started process that ticks at `hz` (measure waits until it is ready, then measures
 * it), stops it and removes its folder, whatever happened.
 */
async function measureTicking(child: ChildProcess, dir: string, hz: number, measure: (child: ChildProcess) => Promise<ServerMeasurement>): Promise<AgentMeasurement> {
  try {
    const m = await measure(child);
    const ticks = m.seconds * hz;
    const exitCode = await stopChild(child);
    return { ...m, ticks, statMsPerTick: m.cpu.statMs / ticks, schedMsPerTick: m.cpu.schedMs / ticks, warmupMsPerTick: m.warmupCpu.statMs / (m.warmupSeconds * hz), exitCode };
  } finally {
    if (child.exitCode === null && child.signalCode === null) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** NODE_EXPORTER is Debian's prometheus-node-exporter. */
export const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

/**
 * benchNodeExporter runs node_exporter with only its rapl collector on the same fake tree, scraped every
 * `scrapeEverySeconds`: it reads RAPL on each scrape, so a 1 s scrape is the rate of a 1 Hz agent.
 */
export async function benchNodeExporter(fixture: BenchFixture, scrapeEverySeconds: number, opts: { seconds: number; warmupSeconds: number }): Promise<ServerMeasurement | undefined> {
  if (!existsSync(NODE_EXPORTER)) return undefined;
  const port = await freePort();
  const child = spawnQuiet(NODE_EXPORTER, [
    `--web.listen-address=127.0.0.1:${port}`, `--path.sysfs=${fixture.sysfsRoot}`, `--path.procfs=${fixture.procfsRoot}`,
    '--collector.disable-defaults', '--collector.rapl',
  ], { PATH: process.env.PATH, LANG: 'C' });
  try {
    await waitForOutput(child, /Listening on/, 15_000);
    await sleep(200);
    return await measureServer(child.pid!, `http://127.0.0.1:${port}`, { ...opts, scrapeEverySeconds });
  } finally {
    await stopChild(child);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** FloorCase is a process that does only part of a tick (scripts/bench-floor.ts): its I/O, or nothing at all. */
export interface FloorCase {
  mode: 'io' | 'idle';
  gpus: number;
  hz: number;
}

/** floorLabel names a floor case. */
export function floorLabel(c: FloorCase): string {
  return c.mode === 'io'
    ? `floor: a tick's I/O only (${c.gpus} GPUs' NVML energy and power, RAPL preads, one SQLite UPDATE), ${c.hz} Hz`
    : `floor: Node waking at ${c.hz} Hz, doing nothing`;
}

/** benchFloor runs scripts/bench-floor.js as a process of its own and measures it from /proc like an agent. */
export async function benchFloor(fixture: BenchFixture, c: FloorCase, opts: { seconds: number; warmupSeconds: number }): Promise<AgentMeasurement> {
  const dir = mkdtempSync(join(fixture.dir, 'floor-'));
  const script = repoFile(join('dist', 'scripts', 'bench-floor.js'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, LANG: 'C', NVML_LIBRARY: fixture.libraryPath, SYSFS: fixture.sysfsRoot,
    ...(c.gpus > 0 ? { NVML_STUB_SCRIPT: fixture.gpuScript(c.gpus) } : {}),
  };
  return measureTicking(spawnQuiet(process.execPath, [script, c.mode, String(c.gpus), String(c.hz), dir], env), dir, c.hz, async (child) => {
    await waitForOutput(child, /ready/, 30_000);
    return measureServer(child.pid!, '', opts);
  });
}
