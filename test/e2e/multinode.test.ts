import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { reportPrometheusCommand } from '../../agent/commands/report-prometheus.js';
import { reportFromPrometheus } from '../../src/sources/prometheus-report.js';
import type { Report } from '../../src/report/types.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { findBinary, freePort, PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { relativeError, sameValue, startLiveAgent, tickWith, type LiveAgent, type TickRecord } from './live-agent.js';

/*
 * Two nodes of one job: two agents with the same --run-id (sim devices 2 and 3, separate databases) and one
 * real Prometheus scraping both. The job-level report is built from Prometheus alone. Prometheus holds each
 * node's totals up to its last scrape, so each node's own report is compared at that moment: its total minus
 * what its /ws feed shows it added after the tick the last scrape read (see prometheus.test.ts).
 */

const prometheus = findBinary(PROMETHEUS_BIN);
if (!prometheus) console.warn(`skipping multi-node e2e: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);

const RUN_ID = 'job-7';
const COMMON = ['agent', '--collectors', 'sim', '--interval', '0.5', '--intensity', '400', '--pue', '1.1', '--label', 'team=ml', '--run-id', RUN_ID];

/** captureStdout runs fn and returns what it wrote to process.stdout with its result. */
async function captureStdout(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await fn(), out };
  } finally {
    spy.mockRestore();
  }
}

interface Node { agent: LiveAgent; db: string; ticks: TickRecord[]; report: Report; instance: string }

describe.skipIf(!prometheus)('wattprint report --prometheus: a job-level report of two nodes', () => {
  let dir: string | undefined;
  let agents: LiveAgent[] = [];
  let prom: RunningPrometheus | undefined;
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await prom?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sums both nodes\' energy and CO2e as each stood at its last scrape, within 1%', async () => {
    dir = tempDir('e2e-multinode');
    const dbs = [join(dir, 'a.db'), join(dir, 'b.db')];
    agents = await Promise.all([
      startLiveAgent([...COMMON, '--sim-devices', '2', '--db', dbs[0]!]),
      startLiveAgent([...COMMON, '--sim-devices', '3', '--db', dbs[1]!]),
    ]);
    prom = await startPrometheus({ targets: agents.map((a) => a.url), scrapeIntervalSeconds: 1 });
    await prom.waitFor(`count_over_time(wattprint_run_start_time_seconds{run_id="${RUN_ID}"}[5m])`,
      (r) => r.length === 2 && r.every((s) => s.value >= 6), 60_000);
    const live = await reportFromPrometheus(prom.url, RUN_ID);
    expect(live.status).toBe('running');
    expect(live.energy.byDevice).toHaveLength(5);
    expect(live.notes).toContain(`run ${RUN_ID} is still being scraped: figures are up to the last scrape`);

    const results = await Promise.all(agents.map((a) => a.stop()));
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    await prom.waitFor('up{job="wattprint"}', (r) => r.length === 2 && r.every((s) => s.value === 0), 15_000);

    const nodes: Node[] = await Promise.all(agents.map(async (agent, i) => {
      const res = await runCli(['report', RUN_ID, '--format', 'json', '--db', dbs[i]!]);
      return { agent, db: dbs[i]!, ticks: agent.ticks, report: JSON.parse(res.stdout) as Report, instance: new URL(agent.url).host };
    }));
    agents = [];

    const { code, out } = await captureStdout(() => reportPrometheusCommand({ prometheus: prom!.url, runId: RUN_ID, format: 'json' }));
    expect(code).toBe(0);
    const job = JSON.parse(out) as Report;
    expect(job.runId).toBe(RUN_ID);
    expect(job.status).toBe('ended');
    expect(job.labels).toEqual({ team: 'ml' });
    expect(job.energy.byDevice.map((d) => d.id).sort()).toEqual([
      ...['sim0', 'sim1'].map((d) => `${nodes[0]!.instance}/${d}`), ...['sim0', 'sim1', 'sim2'].map((d) => `${nodes[1]!.instance}/${d}`),
    ].sort());
    expect(job.startedAt).toBe([nodes[0]!.report.startedAt, nodes[1]!.report.startedAt].sort()[0]);
    expect(job.pue).toBeCloseTo(1.1, 9);
    // The job ends at the last sample Prometheus holds of either node.
    const raw = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(`wattprint_run_start_time_seconds{run_id="${RUN_ID}"}[5m]`)}`);
    const series = ((await raw.json()) as { data: { result: { values: [number, string][] }[] } }).data.result;
    expect(Date.parse(job.endedAt)).toBe(Math.round(1000 * Math.max(...series.flatMap((s) => s.values.map(([t]) => t)))));

    let expectedJoules = 0;
    let expectedGrams = 0;
    for (const node of nodes) {
      const nodeJoules = job.energy.byDevice.filter((d) => d.id.startsWith(`${node.instance}/`)).reduce((s, d) => s + d.kwh * 3.6e6, 0);
      // What Prometheus holds for this node is a total the node published; its feed ends with its report.
      const k = tickWith(node.ticks, 'itEnergyJoules', nodeJoules);
      expect(k).toBeGreaterThanOrEqual(0);
      const final = node.ticks.at(-1)!;
      expect(sameValue(node.report.energy.itKwh * 3.6e6, final.itEnergyJoules)).toBe(true);
      const unseenJoules = final.itEnergyJoules - node.ticks[k]!.itEnergyJoules;
      expect(unseenJoules).toBeLessThan(0.25 * final.itEnergyJoules);
      expectedJoules += node.report.energy.itKwh * 3.6e6 - unseenJoules;
      expectedGrams += node.report.co2e.locationKg * 1000 - (final.co2eLocationGrams - node.ticks[k]!.co2eLocationGrams);
    }
    expect(relativeError(job.energy.itKwh * 3.6e6, expectedJoules)).toBeLessThan(0.01);
    expect(relativeError(job.energy.facilityKwh * 3.6e6, expectedJoules * 1.1)).toBeLessThan(0.01);
    expect(relativeError(job.co2e.locationKg * 1000, expectedGrams)).toBeLessThan(0.01);
    // Hourly periods telescope to the totals; intensity is the agents' 400 g/kWh.
    expect(sameValue(job.hourly.reduce((s, p) => s + p.itKwh, 0), job.energy.itKwh)).toBe(true);
    expect(job.intensity.avgGramsPerKwh).toBeCloseTo(400, 6);
    // Agents charge whole devices: no whole-device counter beside the energy, and the chart is the run's own power.
    expect(job.energy.nodeItKwh).toBe(job.energy.itKwh);
    expect(job.powerSeriesScope).toBeUndefined();
    expect(job.notes.some((n) => n.includes('charged a share'))).toBe(false);
    expect(job.notes[0]).toBe(`job-level report from Prometheus at ${prom.url}: 2 nodes (${nodes.map((n) => n.instance).sort().join(', ')}), counters summed by run_id`);

    const table = await captureStdout(() => reportPrometheusCommand({ prometheus: prom!.url, runId: RUN_ID, format: 'table' }));
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^Run +job-7$/m);
  }, 120_000);

  it('names the problem and the fix for an unknown run, a bad URL and an unreachable server', async () => {
    const unknown = reportPrometheusCommand({ prometheus: prom!.url, runId: 'no-such-run', format: 'json' });
    await expect(unknown).rejects.toMatchObject({
      exitCode: 1,
      message: `run 'no-such-run' is not in Prometheus at ${prom!.url} (no wattprint_run_start_time_seconds in the last 35 days): ` +
        'check --run-id and that Prometheus scrapes the agents',
    });
    await expect(reportPrometheusCommand({ prometheus: 'localhost:9090', runId: RUN_ID, format: 'json' })).rejects.toMatchObject({
      exitCode: 2, message: '--prometheus \'localhost:9090\' is not an http(s) URL: give the Prometheus server, e.g. --prometheus http://127.0.0.1:9090',
    });
    const port = await freePort();
    await expect(reportPrometheusCommand({ prometheus: `http://127.0.0.1:${port}`, runId: RUN_ID, format: 'json' })).rejects.toMatchObject({
      exitCode: 1, message: `cannot reach Prometheus at http://127.0.0.1:${port} (ECONNREFUSED): check --prometheus URL and that it is up`,
    });
  });
});
