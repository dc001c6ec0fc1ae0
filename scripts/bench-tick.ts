import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Tracker } from '../agent/tracker.js';
import { createSimCollector } from '../collectors/sim.js';
import { startLiveServer } from '../src/exporters/http.js';
import { constantProvider } from '../src/intensity/constant.js';
import { Store } from '../src/store/store.js';
import { manualClock, percentile } from './bench-util.js';

/** TickBench is the per-tick cost with everything a live agent does at 1 Hz. */
export interface TickBench {
  devices: number;
  ticks: number;
  scrapeEvery: number;
  cpuMsPerTick: number;
  userMsPerTick: number;
  systemMsPerTick: number;
  wallMsPerTickP50: number;
  wallMsPerTickP99: number;
}

/**
 * benchTick runs the real tracker (sim collector, SQLite on disk, snapshot, live server with one WebSocket
 * client and one /metrics scrape per tick) on a simulated 1 Hz clock, and measures the agent's CPU per tick.
 * The client runs in its own process (scripts/bench-client.ts), so only the agent's side is counted.
 */
export async function benchTick(devices = 10, ticks = 3000, scrapeEvery = 1): Promise<TickBench> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-bench-'));
  const store = Store.open(join(dir, 'bench.db'));
  const clock = manualClock(Date.UTC(2026, 0, 1));
  let tracker: Tracker | undefined;
  const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => tracker!.snapshot });
  tracker = new Tracker({
    store, runId: 'bench', hostname: 'bench', labels: {}, intervalSeconds: 1, pue: { value: 1.1, source: 'bench' },
    intensity: constantProvider(400), market: {}, sampleRetentionSeconds: 600,
    collectors: [createSimCollector({ devices, now: () => clock.monoSeconds() })], clock,
    onTick: (s) => server.publish(s),
  });
  await tracker.tick();
  const client = spawn(process.execPath, [fileURLToPath(new URL('./bench-client.js', import.meta.url)), server.url, String(scrapeEvery)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('bench client did not connect');
  const warm = 200;
  const wall: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < warm + ticks; i++) {
    if (i === warm) cpu = process.cpuUsage();
    const t0 = performance.now();
    clock.advance(1);
    await tracker.tick();
    const ack = await lines.next();
    if (ack.value !== 'ack') throw new Error('bench client stopped');
    if (i >= warm) wall.push(performance.now() - t0);
  }
  const used = process.cpuUsage(cpu);
  client.kill();
  await server.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    devices, ticks, scrapeEvery,
    cpuMsPerTick: (used.user + used.system) / 1000 / ticks,
    userMsPerTick: used.user / 1000 / ticks,
    systemMsPerTick: used.system / 1000 / ticks,
    wallMsPerTickP50: percentile(wall, 0.5),
    wallMsPerTickP99: percentile(wall, 0.99),
  };
}
