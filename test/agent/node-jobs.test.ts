/**
 * The node agent's per-job accounts: a real Tracker and a real SQLite store, driven on a manual clock by a
 * scripted collector (counters the test sets) and a scripted node attributor (shares the test sets), so every
 * job's energy is known exactly: share × device energy, tick by tick; and jobs + unattributed = node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NodeAttributionTick } from '../../collectors/lib/node-attributor.js';
import type { Collector } from '../../collectors/types.js';
import { NodeJobs, type NodeJobSource } from '../../agent/node-jobs.js';
import { Tracker, type TrackerOptions } from '../../agent/tracker.js';
import { MetricsRenderer } from '../../src/exporters/metrics.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import { Store } from '../../src/store/store.js';
import type { DeviceInfo, ReadResult } from '../../src/types.js';
import { manualClock } from '../helpers/scripted.js';

const T0 = Date.UTC(2026, 4, 4, 10, 0, 0);
const DEVICES: DeviceInfo[] = [
  { id: 'package-0', kind: 'cpu', name: 'Test CPU', method: 'counter', collector: 'rapl' },
  { id: 'dram-0', kind: 'dram', name: 'DRAM', method: 'counter', collector: 'rapl' },
];

/** CounterCollector reads two energy counters the test advances. */
function counterCollector(): Collector & { joules: Record<string, number> } {
  const joules: Record<string, number> = { 'package-0': 1_000, 'dram-0': 500 };
  return {
    name: 'rapl', devices: DEVICES, joules,
    read(): ReadResult {
      return { readings: DEVICES.map((d) => ({ deviceId: d.id, counterJoules: joules[d.id]!, counterEpoch: 'boot-1' })) };
    },
    close() {},
  };
}

/** ScriptedJobs answers the shares the test sets for the next tick (unattributed = 1 − Σ jobs per device). */
class ScriptedJobs implements NodeJobSource {
  next: Record<string, Record<string, number>> = {};
  baseline = true;
  closed = false;
  tick(): NodeAttributionTick {
    const jobs = new Map(Object.entries(this.next).map(([id, shares]) => [id, { id, kind: 'slurm' as const, shares: new Map(this.baseline ? [] : Object.entries(shares)) }]));
    const unattributed = new Map(DEVICES.map((d) => [d.id, 1 - [...jobs.values()].reduce((s, j) => s + (j.shares.get(d.id) ?? 0), 0)]));
    const tick: NodeAttributionTick = { policy: 'proportional', jobs, unattributed, started: [], ended: [], notes: [], baseline: this.baseline };
    this.baseline = false;
    return tick;
  }
  close(): void {
    this.closed = true;
  }
}

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-node-jobs-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function trackerOptions(store: Store, collector: Collector, participant: NodeJobs, clock: ReturnType<typeof manualClock>): TrackerOptions {
  return {
    store, runId: 'node-a-agent', hostname: 'node-a', labels: { cluster: 'c1' }, intervalSeconds: 10, pue: { value: 1.2, source: 'flag --pue' },
    intensity: constantProvider(300), market: {}, collectors: [collector], sampleRetentionSeconds: 600, clock, participant,
  };
}

/** parseMetrics reads the series of a Prometheus text exposition: name{labels} → value. */
function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('node agent: per-job accounts', () => {
  it('charges each job share × device energy tick by tick, keeps the rest unattributed, and stores each job as its own run', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = counterCollector();
    const source = new ScriptedJobs();
    const jobs = new NodeJobs({ source, policy: 'proportional', graceSeconds: 300, warn: () => undefined });
    const commits = vi.spyOn(store, 'commitTicks');
    const tracker = new Tracker(trackerOptions(store, collector, jobs, clock));

    source.next = { 'slurm-1': {} };
    await tracker.tick(); // baseline: slurm-1 was there before the agent
    clock.advance(10);
    collector.joules['package-0']! += 1000;
    collector.joules['dram-0']! += 200;
    // slurm-2 was born during this tick: its CPU time since the last tick is its own.
    source.next = { 'slurm-1': { 'package-0': 0.75, 'dram-0': 0.5 }, 'slurm-2': { 'package-0': 0.25, 'dram-0': 0.25 } };
    await tracker.tick();
    clock.advance(10);
    collector.joules['package-0']! += 500;
    collector.joules['dram-0']! += 100;
    source.next = { 'slurm-1': { 'package-0': 0.6, 'dram-0': 0.5 } }; // slurm-2 ended
    await tracker.tick();

    // The jobs' rows went into the node's transaction: node, slurm-1 and slurm-2 together.
    const last = commits.mock.calls.at(-1)![0];
    expect(last.map((w) => w.runKey)).toEqual([tracker.run.runKey, store.findRun('slurm-1')!.runKey, store.findRun('slurm-2')!.runKey]);

    const snap = tracker.snapshot;
    const jobEnergy = (id: string, dev: string) => snap.jobs!.find((j) => j.id === id)!.devices.find((d) => d.id === dev)!.energyJoules;
    expect(jobEnergy('slurm-1', 'package-0')).toBeCloseTo(0.75 * 1000 + 0.6 * 500, 9);
    expect(jobEnergy('slurm-1', 'dram-0')).toBeCloseTo(0.5 * 200 + 0.5 * 100, 9);
    expect(jobEnergy('slurm-2', 'package-0')).toBeCloseTo(250, 9);
    expect(jobEnergy('slurm-2', 'dram-0')).toBeCloseTo(50, 9);
    const unattributed = Object.fromEntries(snap.unattributed!.map((u) => [u.id, u.energyJoules]));
    expect(unattributed['package-0']).toBeCloseTo(1500 - 1050 - 250, 9);
    expect(unattributed['dram-0']).toBeCloseTo(300 - 150 - 50, 9);
    expect(snap.jobs!.map((j) => [j.id, j.status])).toEqual([['slurm-1', 'running'], ['slurm-2', 'ended']]);

    // /metrics: per device, jobs + unattributed = the node's energy.
    const series = parseMetrics(new MetricsRenderer().renderSync(snap));
    for (const d of DEVICES) {
      const node = series.find((s) => s.name === 'wattprint_energy_joules_total' && s.labels.device === d.id)!.value;
      const jobsSum = sum(series.filter((s) => s.name === 'wattprint_job_energy_joules_total' && s.labels.device === d.id).map((s) => s.value));
      const rest = series.find((s) => s.name === 'wattprint_unattributed_energy_joules_total' && s.labels.device === d.id)!.value;
      expect(Math.abs(jobsSum + rest - node)).toBeLessThanOrEqual(node * 1e-12);
    }
    const co2 = series.find((s) => s.name === 'wattprint_job_co2e_grams_total' && s.labels.job === 'slurm-1' && s.labels.basis === 'location')!;
    expect(co2.value).toBeCloseTo(((1050 + 150) * 1.2 / 3.6e6) * 300, 12);
    expect(co2.labels).toMatchObject({ run_id: 'node-a-agent', cluster: 'c1' });

    // Each job is a run of its own: labels, its own report with the node's figures beside its own.
    const run1 = store.findRun('slurm-1')!;
    const run2 = store.findRun('slurm-2')!;
    expect(run1.labels).toEqual({ cluster: 'c1', job: 'slurm-1', node_run: 'node-a-agent' });
    expect([run1.status, run2.status]).toEqual(['running', 'ended']);
    expect([run2.startedAtMs, run2.endedAtMs]).toEqual([T0, T0 + 10_000]);
    const r2 = loadReport(store, run2);
    expect(r2.attribution).toMatchObject({ scope: 'cgroup', policy: 'proportional' });
    expect(r2.attribution!.share['package-0']).toBeCloseTo(0.25, 12);
    // Its node figures cover its own life only (the tick after it ended is not its).
    expect(r2.energy.byDevice.find((d) => d.id === 'package-0')!.nodeKwh * 3.6e6).toBeCloseTo(1000, 9);
    const r1 = loadReport(store, run1);
    expect(r1.energy.itKwh * 3.6e6).toBeCloseTo(1200, 9);
    expect(r1.energy.nodeItKwh * 3.6e6).toBeCloseTo(1800, 9);
    expect(r1.attribution!.share['package-0']).toBeCloseTo(1050 / 1500, 12);
    expect(r1.co2e.locationKg * 1000).toBeCloseTo(co2.value, 12);

    const report = await tracker.stop();
    expect(source.closed).toBe(true);
    // The node's own report: the whole devices, and what no job was charged.
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(1800, 9);
    expect(store.findRun('node-a-agent')!.attribution!.unattributedJoules!['package-0']).toBeCloseTo(200, 9);
    expect(report.nodeJobs!.byDevice.map((d) => [d.id, d.nodeKwh * 3.6e6, d.jobsKwh * 3.6e6, d.unattributedKwh * 3.6e6].map((x) => typeof x === 'number' ? Math.round(x * 1e6) / 1e6 : x)))
      .toEqual([['package-0', 1500, 1300, 200], ['dram-0', 300, 200, 100]]);
    expect(report.nodeJobs!.jobs.map((j) => [j.runId, j.status, Math.round(j.itKwh * 3.6e6 * 1e6) / 1e6])).toEqual([['slurm-1', 'running', 1200], ['slurm-2', 'ended', 300]]);
    expect(renderReport(report, 'table')).toMatch(/Jobs on this node \(2\)/);
    // A job still running when the agent stops keeps its run open (a restarted agent continues it).
    expect(store.findRun('slurm-1')!.status).toBe('running');
    store.close();
  });

  it('holds the jobs\' rows with the node\'s while the database refuses writes, and commits them together later', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = counterCollector();
    const source = new ScriptedJobs();
    const jobs = new NodeJobs({ source, policy: 'proportional', graceSeconds: 300, warn: () => undefined });
    const tracker = new Tracker(trackerOptions(store, collector, jobs, clock));
    source.next = { 'slurm-7': {} };
    await tracker.tick();
    source.next = { 'slurm-7': { 'package-0': 0.5, 'dram-0': 0.5 } };
    const commit = store.commitTicks.bind(store);
    const full = vi.spyOn(store, 'commitTicks').mockImplementationOnce(() => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }); });
    clock.advance(10);
    collector.joules['package-0']! += 1000;
    await expect(tracker.tick()).rejects.toThrow(/full/);
    full.mockImplementation(commit);
    clock.advance(10);
    collector.joules['package-0']! += 1000;
    await tracker.tick();
    const report = loadReport(store, store.findRun('slurm-7')!);
    expect(report.energy.byDevice.find((d) => d.id === 'package-0')!.kwh * 3.6e6).toBeCloseTo(1000, 9);
    // The held tick's minutes and periods were committed too: CO2e covers both ticks.
    expect(sum(report.hourly.map((h) => h.itKwh)) * 3.6e6).toBeCloseTo(1000, 9);
    expect(report.co2e.locationKg * 1000).toBeCloseTo((1000 * 1.2 / 3.6e6) * 300, 12);
    expect(store.findRun('node-a-agent')!.attribution!.unattributedJoules!['package-0']).toBeCloseTo(1000, 9);
    await tracker.stop();
    store.close();
  });

  it('a resumed agent continues the running jobs\' runs and the unattributed total, and closes runs of jobs that ended meanwhile', async () => {
    const path = join(dir, 'w.db');
    let store = Store.open(path);
    const clock = manualClock(T0);
    const collector = counterCollector();
    let source = new ScriptedJobs();
    let tracker = new Tracker(trackerOptions(store, collector, new NodeJobs({ source, policy: 'proportional', graceSeconds: 300, warn: () => undefined }), clock));
    source.next = { 'slurm-1': {}, 'slurm-2': {} };
    await tracker.tick();
    clock.advance(10);
    collector.joules['package-0']! += 1000;
    source.next = { 'slurm-1': { 'package-0': 0.5 }, 'slurm-2': { 'package-0': 0.25 } };
    await tracker.tick();
    store.close(); // the agent dies here
    clock.advance(10);
    store = Store.open(path);
    source = new ScriptedJobs();
    tracker = new Tracker(trackerOptions(store, collector, new NodeJobs({ source, policy: 'proportional', graceSeconds: 300, warn: () => undefined }), clock));
    source.next = { 'slurm-1': {} }; // slurm-2 ended while no agent ran
    await tracker.tick();
    expect(store.findRun('slurm-2')!.status).toBe('ended');
    expect(store.findRun('slurm-2')!.endedAtMs).toBe(T0 + 10_000);
    clock.advance(10);
    collector.joules['package-0']! += 1000;
    source.next = { 'slurm-1': { 'package-0': 0.5 } };
    await tracker.tick();
    const one = tracker.snapshot.jobs!.find((j) => j.id === 'slurm-1')!;
    expect(one.devices.find((d) => d.id === 'package-0')!.energyJoules).toBeCloseTo(1000, 9);
    expect(tracker.snapshot.unattributed!.find((u) => u.id === 'package-0')!.energyJoules).toBeCloseTo(250 + 500, 9);
    expect(store.listRuns().filter((r) => r.labels.job === 'slurm-1')).toHaveLength(1);
    await tracker.stop();
    store.close();
  });

  it('1,000 short jobs: finished jobs leave /metrics after the grace period, the series count stays bounded, totals stay in the database', async () => {
    const store = Store.open(join(dir, 'w.db'));
    const clock = manualClock(T0);
    const collector = counterCollector();
    const source = new ScriptedJobs();
    const graceSeconds = 30;
    const jobs = new NodeJobs({ source, policy: 'proportional', graceSeconds, warn: () => undefined });
    const tracker = new Tracker({ ...trackerOptions(store, collector, jobs, clock), intervalSeconds: 1 });
    const renderer = new MetricsRenderer();
    let maxSeries = 0;
    let maxHeld = 0;
    await tracker.tick();
    // Job n runs for 3 ticks from tick n; two or three run at once, sharing the CPU equally.
    for (let t = 1; t <= 1003; t++) {
      const alive = [t - 2, t - 1, t].filter((n) => n >= 1 && n <= 1000);
      source.next = Object.fromEntries(alive.map((n) => [`slurm-${n}`, { 'package-0': 0.9 / alive.length, 'dram-0': 0.3 }]));
      clock.advance(1);
      collector.joules['package-0']! += 100;
      collector.joules['dram-0']! += 10;
      await tracker.tick();
      const text = renderer.renderSync(tracker.snapshot);
      const jobSeries = parseMetrics(text).filter((s) => s.name.startsWith('wattprint_job_')).length;
      maxSeries = Math.max(maxSeries, jobSeries);
      maxHeld = Math.max(maxHeld, renderer.heldCounterSeries());
    }
    // Jobs end one a second and stay 30 s: about 33 jobs × (2 devices + 2 CO2e bases) at most, never 1,000.
    expect(maxSeries).toBeLessThanOrEqual((graceSeconds + 4) * 4);
    expect(maxSeries).toBeGreaterThanOrEqual(graceSeconds * 4);
    expect(maxHeld).toBeLessThanOrEqual((graceSeconds + 4) * 4 + 40);
    expect(jobs.jobCount()).toBeLessThanOrEqual(graceSeconds + 4);
    // Every job's total stays in the database, and jobs + unattributed = node exactly there too.
    const jobRuns = store.listRuns().filter((r) => r.labels.node_run === 'node-a-agent');
    expect(jobRuns).toHaveLength(1000);
    expect(jobRuns.every((r) => r.status === 'ended')).toBe(true);
    const node = store.findRun('node-a-agent')!;
    for (const d of DEVICES) {
      const jobsJoules = sum(jobRuns.map((r) => store.devicesOf(r.runKey).find((x) => x.id === d.id)!.energyJoules));
      const nodeJoules = store.devicesOf(node.runKey).find((x) => x.id === d.id)!.energyJoules;
      expect(Math.abs(jobsJoules + node.attribution!.unattributedJoules![d.id]! - nodeJoules)).toBeLessThanOrEqual(nodeJoules * 1e-12);
    }
    await tracker.stop();
    store.close();
  }, 60_000);
});
