/**
 * The example Prometheus config and recording rules, run by a real Prometheus (Debian package `prometheus`)
 * against two loopback "nodes" serving what agents on shared nodes serve (the real renderer): the label `job`
 * of the per-job series survives the scrape (honor_labels), and the per-job roll-up adds each job over its nodes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsRenderer, METRICS_CONTENT_TYPE } from '../../src/exporters/metrics.js';
import { findBinary, PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { sampleSnapshot } from '../exporters/snapshots.js';

const examples = fileURLToPath(new URL('../../examples/prometheus/', import.meta.url));
const prometheus = findBinary(PROMETHEUS_BIN);
if (!prometheus) console.warn(`skipping the recording-rule test: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);

/** serveNode serves one node agent's /metrics: the sample node's devices at tick 10 (gpu0 1000 J, cpu 1100 J), shared by jobs. */
function serveNode(runId: string, jobs: { id: string; share: number }[]): Promise<Server> {
  const text = new MetricsRenderer().renderSync(sampleSnapshot({ tick: 10, runId, jobs }));
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(!prometheus)('example Prometheus config on shared nodes', () => {
  const servers: Server[] = [];
  let prom: RunningPrometheus | undefined;
  afterAll(async () => {
    await prom?.stop();
    for (const s of servers) s.close();
  });

  it('keeps the job label and sums each job over its nodes', async () => {
    servers.push(await serveNode('node-a', [{ id: 'slurm-1', share: 0.5 }, { id: 'slurm-2', share: 0.25 }]));
    servers.push(await serveNode('node-b', [{ id: 'slurm-1', share: 0.25 }]));
    const targets = servers.map((s) => `'127.0.0.1:${(s.address() as AddressInfo).port}'`).join(', ');
    // The example as shipped, pointed at the two loopback nodes and evaluated every second.
    const config = readFileSync(join(examples, 'prometheus.yml'), 'utf8')
      .replace(/targets: \[[^\]]*\]/, `targets: [${targets}]`)
      .replace(/(scrape_interval|evaluation_interval): 15s/g, '$1: 1s')
      .replace(/scrape_timeout: 5s/, 'scrape_timeout: 1s');
    prom = await startPrometheus({ targets: [], config, files: { 'wattprint-rules.yml': readFileSync(join(examples, 'wattprint-rules.yml'), 'utf8'), 'wattprint.token': 'token\n' } });

    // Each job over its nodes and devices: slurm-1 = 0.5 × 2100 J (node a) + 0.25 × 2100 J (node b). Until both
    // nodes have been scraped once, a rule sees one of them: wait for both (count of up targets).
    await prom.waitFor('count(up == 1)', (r) => r[0]?.value === 2, 30_000);
    const bothNodes = (r: { metric: Record<string, string>; value: number }[]) => r.some((x) => x.metric.job === 'slurm-1' && x.value === 1575);
    const perJob = await prom.waitFor('job:wattprint_job_energy_joules:sum', bothNodes, 30_000);
    expect(Object.fromEntries(perJob.map((r) => [r.metric.job, r.value]))).toEqual({ 'slurm-1': 1575, 'slurm-2': 525 });
    const co2e = await prom.waitFor('job_basis:wattprint_job_co2e_grams:sum{basis="location"}', (r) => r.length === 2 && r.some((x) => x.value > 0.2), 30_000);
    expect(co2e.find((r) => r.metric.job === 'slurm-1')!.value).toBeCloseTo(0.35 * 0.75, 12);
    const rest = await prom.waitFor('run_id:wattprint_unattributed_energy_joules:sum', (r) => r.length === 2, 30_000);
    expect(Object.fromEntries(rest.map((r) => [r.metric.run_id, r.value]))).toEqual({ 'node-a': 525, 'node-b': 1575 });
    // Series without a job label keep the scrape job's name, and no exported_job appears.
    expect((await prom.query('count(wattprint_energy_joules_total{job="wattprint"})'))[0]!.value).toBe(4);
    expect(await prom.query('{exported_job!=""}')).toEqual([]);
  }, 60_000);
});
