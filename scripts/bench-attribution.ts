/**
 * bench-attribution: what following a job's process tree costs per tick (issue 12's targets: ≤ 20 µs per
 * process per tick, under 10 ms per tick for a job of 500 processes). A real job: a shell with 500 sleeping
 * children (started by pid, killed by pid at the end), read by the ProcessTree on the real /proc, and by the
 * whole Attributor (adds /proc/stat and /proc/meminfo). Run alone:
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-attribution.js [processes] [ticks]
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Attributor } from '../collectors/lib/attributor.js';
import { ProcfsSource } from '../collectors/lib/proc-source.js';
import { ProcessTree } from '../collectors/lib/process-tree.js';
import type { DeviceInfo } from '../src/types.js';
import { percentile } from './bench-util.js';

/** AttributionBench holds the per-tick costs, wall and CPU, for one job size. */
export interface AttributionBench {
  /** Processes in the job (the shell and its children). */
  jobProcesses: number;
  /** Processes on the node at the time (the job's included). */
  nodeProcesses: number;
  ticks: number;
  /** ProcessTree.sample(): median and p90 wall ms per tick, CPU µs per process per tick. */
  treeMedianMs: number;
  treeP90Ms: number;
  treeCpuMicrosPerProcess: number;
  /** The same with no stat file kept open (open+read+close every tick): why descriptors are kept. */
  treeNoKeepMedianMs: number;
  /** Attributor.tick() with a cpu and a dram device: median wall ms per tick. */
  attributorMedianMs: number;
  /** The first sample (every pid of the node read once): wall ms. */
  firstSampleMs: number;
}

const DEVICES: DeviceInfo[] = [
  { id: 'cpu', kind: 'cpu', name: 'CPU', method: 'modelled', collector: 'cpu' },
  { id: 'ram', kind: 'dram', name: 'RAM', method: 'modelled', collector: 'ram' },
];

/** startJob starts a shell that starts `children` sleeps and waits; resolves once all are in /proc. */
async function startJob(children: number): Promise<{ rootPid: number; tree: ProcessTree; source: ProcfsSource }> {
  const root = spawn('sh', ['-c', `i=0; while [ $i -lt ${children} ]; do sleep 3600 & i=$((i+1)); done; wait`], { stdio: 'ignore', detached: true });
  const rootPid = root.pid!;
  const source = new ProcfsSource('/proc');
  const tree = new ProcessTree(source, { rootPid });
  for (let i = 0; i < 600; i++) {
    tree.sample();
    if (tree.memberPids().length >= children + 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { rootPid, tree, source };
}

/** stopJob kills every member by pid, children first, then the shell. */
function stopJob(rootPid: number, pids: number[]): void {
  for (const pid of pids) {
    if (pid === rootPid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    process.kill(rootPid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function timeTicks(ticks: number, tick: () => void): { wallMs: number[]; cpuMicros: number } {
  const wallMs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    const t0 = performance.now();
    tick();
    wallMs.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMicros: cpu.user + cpu.system };
}

/** benchAttribution measures a job of `children` sleeping processes (plus its shell) over `ticks` ticks. */
export async function benchAttribution(children = 500, ticks = 200): Promise<AttributionBench> {
  const { rootPid, tree, source } = await startJob(children);
  const members = tree.memberPids();
  try {
    if (members.length < children + 1) throw new Error(`only ${members.length} of ${children + 1} processes started`);
    const nodeProcesses = source.listPids().length;
    const fresh = new ProcessTree(new ProcfsSource('/proc'), { rootPid });
    const t0 = performance.now();
    fresh.sample();
    const firstSampleMs = performance.now() - t0;

    const kept = timeTicks(ticks, () => tree.sample());
    const noKeepSource = new ProcfsSource('/proc', 0);
    const noKeep = new ProcessTree(noKeepSource, { rootPid });
    noKeep.sample();
    const unkept = timeTicks(ticks, () => noKeep.sample());
    noKeepSource.close();

    const attributor = new Attributor({
      scope: { kind: 'process-tree', rootPid }, policy: 'proportional', devices: DEVICES, procfsRoot: '/proc',
      cgroupRoot: '/sys/fs/cgroup', warn: (l) => process.stderr.write(`${l}\n`),
    });
    attributor.tick();
    const whole = timeTicks(ticks, () => attributor.tick());
    attributor.close();
    return {
      jobProcesses: members.length, nodeProcesses, ticks,
      treeMedianMs: percentile(kept.wallMs, 0.5), treeP90Ms: percentile(kept.wallMs, 0.9),
      treeCpuMicrosPerProcess: kept.cpuMicros / ticks / members.length,
      treeNoKeepMedianMs: percentile(unkept.wallMs, 0.5),
      attributorMedianMs: percentile(whole.wallMs, 0.5),
      firstSampleMs,
    };
  } finally {
    stopJob(rootPid, members);
    source.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const children = Number(process.argv[2] ?? 500);
  const ticks = Number(process.argv[3] ?? 200);
  const small = await benchAttribution(1, ticks);
  const big = await benchAttribution(children, ticks);
  for (const b of [small, big]) {
    const perProcess = (b.treeMedianMs * 1000) / b.jobProcesses;
    console.log(`job of ${b.jobProcesses} processes (node ${b.nodeProcesses}): tree ${b.treeMedianMs.toFixed(3)} ms/tick median, `
      + `p90 ${b.treeP90Ms.toFixed(3)} ms; ${perProcess.toFixed(1)} µs wall and ${b.treeCpuMicrosPerProcess.toFixed(1)} µs CPU per process per tick; `
      + `without kept descriptors ${b.treeNoKeepMedianMs.toFixed(3)} ms; Attributor.tick ${b.attributorMedianMs.toFixed(3)} ms; `
      + `first sample ${b.firstSampleMs.toFixed(1)} ms`);
  }
  console.log(JSON.stringify({ small, big }));
}
