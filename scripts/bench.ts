import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchAgent, benchFloor, benchNodeExporter, caseLabel, floorLabel, NODE_EXPORTER, type AgentCase, type AgentMeasurement, type FloorCase } from './bench-agent.js';
import { BenchFixture } from './bench-fixture.js';
import { buildMonthDb } from './bench-month.js';
import { timeOneShot, type OneShot } from './bench-oneshot.js';
import { formatSpread, loadAverage, spread, type Spread } from './bench-proc.js';
import type { ServerMeasurement } from './bench-server.js';

/**
 * `npm run bench`: wattprint measured as users run it. Real agent processes (bin/wattprint.cjs, its V8 flags,
 * its SQLite database, its server on loopback) on the stub NVML and the fake RAPL tree, each measured from
 * /proc over a window after a warm-up; Debian's node_exporter on the same RAPL tree beside them; one-shot
 * commands timed from spawn to exit. Every figure is min/median/max over BENCH_REPS repetitions.
 *
 * Steady state is what a daemon costs: at 1 Hz V8 compiles the tick path with its optimising compiler only after
 * minutes (on its own threads: tens of ms each time), and its memory reducer runs one full GC ~8 s after start,
 * so each agent is measured after BENCH_WARMUP s (default 600: at 180 s V8 was still optimising the tick path
 * piecemeal, tens of ms at a time; a 15-minute probe read 0.90 ms/tick where 180 s read 1.1–1.4), and what it cost from spawn to then is printed
 * beside. The cases of one repetition run at the same time (each agent takes well under 1% of a core at 1 Hz;
 * BENCH_SERIAL=1 runs them one after another), node_exporter beside them, so a repetition takes
 * warm-up + window whatever the number of cases.
 *
 * BENCH_QUICK=1: 10 s per case, 1 repetition, a 1-hour tracked prefix for the month database (for trying
 * things; figures too noisy to record). BENCH_SECONDS, BENCH_REPS, BENCH_WARMUP, BENCH_DAYS override;
 * BENCH_ONLY=agents,floor,exporter,oneshots picks parts (floor: scripts/bench-floor.ts, the floor under a tick); BENCH_CASES=8,64 picks GPU counts, BENCH_HZ=1 tick rates.
 */
const quick = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 10 : 60));
const REPS = Number(process.env.BENCH_REPS ?? (quick ? 1 : 3));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (quick ? 20 : 600));
const SERIAL = process.env.BENCH_SERIAL === '1';
const TRACKED_SECONDS = Math.round(Number(process.env.BENCH_DAYS ?? (quick ? 1 / 24 : 2)) * 86_400);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'agents,floor,exporter,oneshots').split(','));
const GPU_COUNTS = (process.env.BENCH_CASES ?? '1,8,64').split(',').map(Number);
const RATES = (process.env.BENCH_HZ ?? '1,10').split(',').map(Number);
const ONESHOT_RUNS = Number(process.env.BENCH_ONESHOT_RUNS ?? (quick ? 3 : 10));

/** TARGETS are the (#14) targets, on this repository's 2-core machine. */
const TARGETS = {
  tickMs: { '8/1/1': 0.5, '8/1/idle': 0.3 } as Record<string, number>,
  perDeviceMicros: 5,
  rssMb: { 8: 50, 64: 60 } as Record<number, number>,
};

async function main(): Promise<void> {
  const fixture = new BenchFixture();
  const started = performance.now();
  try {
    header();
    if (ONLY.has('agents') || ONLY.has('floor') || ONLY.has('exporter')) await agents(fixture);
    if (ONLY.has('oneshots')) await oneShots(fixture);
    out(`\nload average at the end: ${loadAverage()}; bench wall time ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  } finally {
    fixture.remove();
  }
}

function header(): void {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  out(`wattprint bench: ${cpus().length} CPUs (${model}), Node ${process.version}, load average ${loadAverage()} at start`);
  out(`${SECONDS} s measured per case after ${WARMUP} s of warm-up, ${REPS} repetition(s): median (min–max)${quick ? ' — QUICK MODE, not for the record' : ''}`);
  out('CPU per tick is the agent process\'s CPU (all threads) over the window ÷ ticks: from schedstat (ns), with /proc/PID/stat (utime+stime, 10 ms steps) beside it;');
  out(`the warm-up column is CPU per tick from spawn to the start of the window (start-up, JIT compilation, first GCs). Cases run ${SERIAL ? 'one after another' : 'side by side, node_exporter with them'}.\n`);
}

async function agents(fixture: BenchFixture): Promise<void> {
  const cases: AgentCase[] = [];
  if (ONLY.has('agents')) {
    for (const gpus of GPU_COUNTS) for (const hz of RATES) for (const scrape of [undefined, 1, 15]) cases.push({ gpus, hz, scrapeEverySeconds: scrape });
  }
  // node_exporter reads RAPL on each scrape: scraped every second, it works at the rate of a 1 Hz agent.
  const raplCase: AgentCase = { gpus: 0, hz: 1, scrapeEverySeconds: 1 };
  const compare = ONLY.has('exporter') && existsSync(NODE_EXPORTER);
  if (compare) cases.push(raplCase);
  const results = new Map<AgentCase, AgentMeasurement[]>(cases.map((c) => [c, []]));
  // The floor under the 8-GPU 1 Hz targets: the same tick's I/O in a process that does nothing else, and Node idle.
  const floors: FloorCase[] = ONLY.has('floor') ? [{ mode: 'io', gpus: 8, hz: 1 }, { mode: 'idle', gpus: 0, hz: 1 }] : [];
  const floorResults = new Map<FloorCase, AgentMeasurement[]>(floors.map((c) => [c, []]));
  const exporter: ServerMeasurement[] = [];
  const opts = { seconds: SECONDS, warmupSeconds: WARMUP };
  for (let rep = 0; rep < REPS; rep++) {
    const run = async (c: AgentCase): Promise<void> => {
      const m = await benchAgent(fixture, c, opts);
      if (m.exitCode !== 0) throw new Error(`${caseLabel(c)}: agent exited ${m.exitCode}`);
      if (m.scrapeErrors > 0) throw new Error(`${caseLabel(c)}: ${m.scrapeErrors} scrapes failed`);
      results.get(c)!.push(m);
      progress(`${caseLabel(c)} #${rep + 1}: ${m.schedMsPerTick.toFixed(3)} ms/tick, RSS ${m.rssEndMb.toFixed(1)} MiB, load ${loadAverage()}`);
    };
    const runExporter = async (): Promise<void> => {
      if (!compare) return;
      const m = await benchNodeExporter(fixture, 1, opts);
      if (m) {
        exporter.push(m);
        progress(`node_exporter #${rep + 1}: ${(m.cpu.schedMs / m.scrapes).toFixed(3)} ms/scrape, RSS ${m.rssEndMb.toFixed(1)} MiB`);
      }
    };
    const runFloor = async (c: FloorCase): Promise<void> => {
      const m = await benchFloor(fixture, c, opts);
      floorResults.get(c)!.push(m);
      progress(`${floorLabel(c)} #${rep + 1}: ${m.schedMsPerTick.toFixed(3)} ms/tick, RSS ${m.rssEndMb.toFixed(1)} MiB`);
    };
    if (SERIAL) {
      for (const c of cases) await run(c);
      for (const c of floors) await runFloor(c);
      await runExporter();
    } else {
      await Promise.all([...cases.map(run), ...floors.map(runFloor), runExporter()]);
    }
  }
  out(`| agent case | CPU ms/tick (schedstat) | CPU ms/tick (/proc/PID/stat) | target | warm-up (first ${WARMUP} s) ms/tick | RSS start → end, MiB | RSS target |`);
  out('|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const ms = results.get(c)!;
    const key = `${c.gpus}/${c.hz}/${c.scrapeEverySeconds ?? 'idle'}`;
    const cpu = spread(ms.map((m) => m.schedMsPerTick));
    const rssEnd = spread(ms.map((m) => m.rssEndMb));
    const rssTarget = c.hz === 1 ? TARGETS.rssMb[c.gpus] : undefined;
    out(`| ${caseLabel(c)} | ${formatSpread(cpu, 3)} | ${formatSpread(spread(ms.map((m) => m.statMsPerTick)), 3)} | ${verdict(cpu.median, TARGETS.tickMs[key])} ` +
      `| ${formatSpread(spread(ms.map((m) => m.warmupMsPerTick)), 2)} ` +
      `| ${formatSpread(spread(ms.map((m) => m.rssStartMb)), 1)} → ${formatSpread(rssEnd, 1)} | ${verdict(rssEnd.median, rssTarget)} |`);
  }
  for (const c of floors) {
    const ms = floorResults.get(c)!;
    out(`| ${floorLabel(c)} | ${formatSpread(spread(ms.map((m) => m.schedMsPerTick)), 3)} | ${formatSpread(spread(ms.map((m) => m.statMsPerTick)), 3)} | ` +
      `| ${formatSpread(spread(ms.map((m) => m.warmupMsPerTick)), 2)} ` +
      `| ${formatSpread(spread(ms.map((m) => m.rssStartMb)), 1)} → ${formatSpread(spread(ms.map((m) => m.rssEndMb)), 1)} | |`);
  }
  perDevice(cases, results);
  if (compare && exporter.length > 0) {
    const ours = results.get(raplCase)!;
    const theirs = spread(exporter.map((m) => m.cpu.schedMs / m.scrapes));
    const oursCpu = spread(ours.map((m) => m.schedMsPerTick));
    out(`\nnode_exporter ${nodeExporterVersion()} (rapl collector only, same tree), scraped every 1 s: ${formatSpread(theirs, 3)} ms CPU per scrape ` +
      `(/proc/PID/stat ${formatSpread(spread(exporter.map((m) => m.cpu.statMs / m.scrapes)), 3)}), RSS ${formatSpread(spread(exporter.map((m) => m.rssEndMb)), 1)} MiB, ` +
      `${exporter[0]!.bodyBytes} B gzipped per scrape`);
    out(`wattprint agent, RAPL only, 1 Hz, scraped every 1 s: ${formatSpread(oursCpu, 3)} ms CPU per tick, RSS ${formatSpread(spread(ours.map((m) => m.rssEndMb)), 1)} MiB`);
    const ratios = ours.map((m, i) => m.schedMsPerTick / (exporter[i]!.cpu.schedMs / exporter[i]!.scrapes));
    out(`CPU ratio wattprint / node_exporter (per repetition, ${SERIAL ? 'measured back to back' : 'measured over the same window'}): ${formatSpread(spread(ratios), 2)} ${verdict(spread(ratios).median, 1)}; ` +
      `RSS ratio ${(spread(ours.map((m) => m.rssEndMb)).median / spread(exporter.map((m) => m.rssEndMb)).median).toFixed(2)}`);
  }
}

/** perDevice is the cost of one more GPU per tick: (64 GPUs − 1 GPU) / 63, idle, per rate. */
function perDevice(cases: AgentCase[], results: Map<AgentCase, AgentMeasurement[]>): void {
  for (const hz of [1, 10]) {
    const find = (gpus: number) => cases.find((c) => c.gpus === gpus && c.hz === hz && c.scrapeEverySeconds === undefined);
    const one = find(1);
    const many = find(64);
    if (!one || !many) continue;
    const pairs = results.get(one)!.map((m, i) => ((results.get(many)![i]!.schedMsPerTick - m.schedMsPerTick) * 1000) / 63);
    const s = spread(pairs);
    out(`per extra GPU per tick at ${hz} Hz, idle ((64 GPUs − 1 GPU) / 63, per repetition): ${formatSpread(s, 2)} µs ${verdict(s.median, TARGETS.perDeviceMicros)}`);
  }
}

async function oneShots(fixture: BenchFixture): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-bench-month-'));
  try {
    const t0 = performance.now();
    const month = await buildMonthDb(dir, 8, TRACKED_SECONDS, 30);
    out(`\nmonth database: ${month.devices} devices, ${(month.trackedSeconds / 3600).toFixed(1)} h tracked through the real tracker ` +
      `(${(month.dbBytesPerDeviceDay / 1024).toFixed(1)} KiB per device-day), extended to ${month.totalDays} days; built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const commands: OneShot[] = [
      { label: 'wattprint --version', args: ['--version'], targetMs: 120 },
      { label: 'wattprint estimate (8 × 300 W, 24 h, --zone DE)', args: ['estimate', '--accelerators', '8', '--watts', '300', '--hours', '24', '--zone', 'DE'], targetMs: 120 },
      { label: 'wattprint report --format json (30 days × 8 devices)', args: ['report', 'month', '--db', month.path, '--format', 'json'], targetMs: 150 },
      {
        label: 'wattprint doctor (8 stub GPUs, RAPL tree)', targetMs: 200,
        args: ['doctor', '--nvml-library', fixture.libraryPath, '--sysfs', fixture.sysfsRoot, '--procfs', fixture.procfsRoot, '--zone', 'DE'],
        env: { NVML_STUB_SCRIPT: fixture.gpuScript(8) },
      },
    ];
    out(`| command | wall ms, ${ONESHOT_RUNS} runs: median (min–max) | target | peak RSS MiB | stdout |`);
    out('|---|---|---|---|---|');
    const useTime = existsSync('/usr/bin/time');
    for (const cmd of commands) {
      await timeOneShot(cmd, false); // first run warms the page cache
      const runs: number[] = [];
      for (let i = 0; i < ONESHOT_RUNS; i++) runs.push((await timeOneShot(cmd, false)).wallMs);
      const last = useTime ? await timeOneShot(cmd, true) : await timeOneShot(cmd, false);
      const s: Spread = spread(runs);
      out(`| ${cmd.label} | ${formatSpread(s, 0)} | ${verdict(s.median, cmd.targetMs)} | ${Number.isNaN(last.maxRssMb) ? '?' : last.maxRssMb.toFixed(0)} | ${formatBytes(last.stdoutBytes)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function verdict(value: number, target: number | undefined): string {
  if (target === undefined) return '';
  return `≤ ${target} ${value <= target ? 'ok' : 'MISSED'}`;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function nodeExporterVersion(): string {
  try {
    const text = execFileSync(NODE_EXPORTER, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version (\S+)/.exec(text)?.[1] ?? '';
  } catch (err) {
    return /version (\S+)/.exec(String((err as { stderr?: string }).stderr ?? ''))?.[1] ?? '';
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
