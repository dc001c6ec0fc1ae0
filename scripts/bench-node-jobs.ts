/**
 * bench-node-jobs: what charging a shared node's jobs adds to the agent's tick. The real tracker (sim collector,
 * SQLite on disk, snapshot, one /metrics render per tick) with the real node attributor reading a cgroup v2
 * fixture tree of N SLURM jobs and a fixture /proc, on a simulated 1 Hz clock; each job's cpu.stat advances every
 * tick. Figures: CPU per tick with 0 jobs (attribution off) and with N jobs. Run alone:
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-node-jobs.js [devices] [ticks]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { NodeJobs } from '../agent/node-jobs.js';
import { Tracker } from '../agent/tracker.js';
import { NodeAttributor } from '../collectors/lib/node-attributor.js';
import { createSimCollector } from '../collectors/sim.js';
import { MetricsRenderer } from '../src/exporters/metrics.js';
import { constantProvider } from '../src/intensity/constant.js';
import { Store } from '../src/store/store.js';
import { manualClock, percentile } from './bench-util.js';

/** NodeJobsBench is the tracker's cost per tick for one number of jobs. */
export interface NodeJobsBench {
  jobs: number;
  devices: number;
  cpuMsPerTick: number;
  wallMsP50: number;
  wallMsP99: number;
}

/** benchNodeJobs runs `ticks` ticks of a node with `jobs` SLURM jobs (0: job attribution off). */
export async function benchNodeJobs(jobs: number, devices = 8, ticks = 600): Promise<NodeJobsBench> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-bench-jobs-'));
  try {
    const cg = join(dir, 'cgroup');
    const scope = join(cg, 'system.slice/slurmstepd.scope');
    mkdirSync(join(scope, 'system'), { recursive: true });
    writeFileSync(join(cg, 'cgroup.controllers'), 'cpu memory\n');
    mkdirSync(join(dir, 'proc'));
    const stat = (busy: number) => `cpu  ${busy} 0 0 ${busy} 0 0 0 0 0 0\n`;
    writeFileSync(join(dir, 'proc/stat'), stat(1_000_000));
    writeFileSync(join(dir, 'proc/meminfo'), 'MemTotal: 67108864 kB\nMemAvailable: 33554432 kB\n');
    for (let j = 1; j <= jobs; j++) {
      mkdirSync(join(scope, `job_${j}`));
      writeFileSync(join(scope, `job_${j}/cpu.stat`), 'usage_usec 0\n');
      writeFileSync(join(scope, `job_${j}/memory.current`), `${j * 1_000_000}\n`);
    }
    const store = Store.open(join(dir, 'bench.db'));
    const clock = manualClock(Date.UTC(2026, 0, 1));
    const collector = createSimCollector({ devices, now: () => clock.monoSeconds() });
    const participant = jobs > 0 ? new NodeJobs({
      source: new NodeAttributor({ policy: 'proportional', devices: collector.devices, procfsRoot: join(dir, 'proc'), cgroupRoot: cg, warn: () => undefined }),
      policy: 'proportional', graceSeconds: 300, warn: () => undefined,
    }) : undefined;
    const tracker = new Tracker({
      store, runId: 'bench', hostname: 'bench', labels: {}, intervalSeconds: 1, pue: { value: 1.1, source: 'bench' },
      intensity: constantProvider(400), market: {}, sampleRetentionSeconds: 600, collectors: [collector], clock, participant,
    });
    const renderer = new MetricsRenderer();
    const warm = 100;
    const wall: number[] = [];
    let cpuMicros = 0;
    await tracker.tick();
    for (let i = 0; i < warm + ticks; i++) {
      // Every job used 10 ms of CPU in the tick, the node 10 ms per job plus 1 s of its own.
      for (let j = 1; j <= jobs; j++) writeFileSync(join(scope, `job_${j}/cpu.stat`), `usage_usec ${(i + 1) * 10_000}\n`);
      writeFileSync(join(dir, 'proc/stat'), stat(1_000_000 + (i + 1) * (jobs + 100)));
      // Only the agent's side is timed: the tick and one /metrics render, not the writes above.
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      clock.advance(1);
      await tracker.tick();
      renderer.renderSync(tracker.snapshot);
      if (i < warm) continue;
      wall.push(performance.now() - t0);
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
    }
    await tracker.stop();
    store.close();
    return { jobs, devices, cpuMsPerTick: cpuMicros / 1000 / ticks, wallMsP50: percentile(wall, 0.5), wallMsP99: percentile(wall, 0.99) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const devices = Number(process.argv[2] ?? 8);
  const ticks = Number(process.argv[3] ?? 600);
  for (const jobs of [0, 1, 10, 50]) {
    const b = await benchNodeJobs(jobs, devices, ticks);
    process.stdout.write(`${jobs} jobs, ${devices} devices: ${b.cpuMsPerTick.toFixed(3)} ms CPU/tick; wall p50 ${b.wallMsP50.toFixed(3)} ms, p99 ${b.wallMsP99.toFixed(3)} ms\n`);
  }
}
