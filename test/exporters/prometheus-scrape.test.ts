import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveServer, type LiveServer } from '../../src/exporters/http.js';
import { findBinary, PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { sampleSnapshot } from './snapshots.js';

const binary = findBinary(PROMETHEUS_BIN);
if (!binary) console.warn(`skipping Prometheus scrape test: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);

describe.skipIf(!binary)('a real Prometheus scraping /metrics on loopback', () => {
  let server: LiveServer;
  let prom: RunningPrometheus;
  const last = sampleSnapshot({ tick: 12, labels: { team: 'ml' } });

  beforeAll(async () => {
    let current = sampleSnapshot({ tick: 1 });
    server = await startLiveServer({ host: '127.0.0.1', port: 0, token: 'scrape-token', getSnapshot: () => current });
    prom = await startPrometheus({ targets: [server.url], scrapeIntervalSeconds: 1, bearerToken: 'scrape-token' });
    // Prometheus takes a few seconds to start its first scrape; publish only once it is scraping.
    await prom.waitFor('up{job="wattprint"}', (r) => r.length === 1 && r[0]!.value === 1, 20_000);
    // Energy grows by 210 J per tick (100 W + 110 W); tick 7 repeats a lower total once, as a transient
    // after a resume could, and the exported counter must not step back.
    const ticks = [2, 3, 4, 5, 6, 7, 5, 8, 9, 10, 11, 12];
    for (const t of ticks) {
      current = t === 12 ? last : sampleSnapshot({ tick: t });
      server.publish(current);
      await new Promise((r) => setTimeout(r, 300));
    }
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await server?.close();
  });

  it('stores the last published energy per device and CO2e per basis, exactly', async () => {
    const energy = await prom.waitFor('wattprint_energy_joules_total', (r) => r.length === 2 && r.every((s) => s.value >= 1200));
    const byDevice = Object.fromEntries(energy.map((s) => [s.metric.device, s.value]));
    expect(byDevice).toEqual({ gpu0: 1200, cpu: 1320 });
    expect(energy.find((s) => s.metric.device === 'gpu0')!.metric).toMatchObject({
      kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', run_id: 'run-42', team: 'ml', job: 'wattprint',
      uuid: 'GPU-00000000-aaaa-bbbb-cccc-dddddddddddd',
    });
    const co2 = await prom.query('wattprint_co2e_grams_total');
    const byBasis = Object.fromEntries(co2.map((s) => [s.metric.basis, s.value]));
    expect(byBasis).toEqual({ location: last.co2eGrams.location, market: last.co2eGrams.market });
    const facility = await prom.query('sum by (run_id) (wattprint_facility_energy_joules_total)');
    expect(facility.map((s) => [s.metric.run_id, s.value])).toEqual([['run-42', last.facilityEnergyJoules]]);
  });

  it('saw a counter that never reset and a scrape target that was up', async () => {
    const resets = await prom.query('resets(wattprint_energy_joules_total{device="gpu0"}[1m])');
    expect(resets.map((s) => s.value)).toEqual([0]);
    const samples = await prom.query('count_over_time(wattprint_energy_joules_total{device="gpu0"}[1m])');
    expect(samples[0]!.value).toBeGreaterThanOrEqual(3);
    const up = await prom.query('up{job="wattprint"}');
    expect(up.map((s) => s.value)).toEqual([1]);
    const collectorUp = await prom.query('wattprint_collector_up');
    expect(Object.fromEntries(collectorUp.map((s) => [s.metric.collector, s.value]))).toEqual({ nvml: 1, cpu: 0 });
    // Prometheus's scrapes, bearer token and all, were answered on the scrape fast path (fast-scrape.ts).
    expect(server.fastScrapes).toBeGreaterThanOrEqual(3);
  });
});

describe.skipIf(!binary)('a real Prometheus reading escaped label values', () => {
  it('parses a newline, a quote, a backslash and a backslash-n label value, each alone, back to the same strings', async () => {
    const labels = { nl: '\n', dq: '"', bs: '\\', bsn: '\\n' };
    const server = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => sampleSnapshot({ tick: 2, labels }) });
    const prom = await startPrometheus({ targets: [server.url], scrapeIntervalSeconds: 1 });
    try {
      // An unescaped quote or backslash fails the whole scrape (up stays 0) or changes the value. Prometheus's
      // own parser takes a raw newline inside quotes, so the newline alone is held by the prom-client parity test.
      const up = await prom.waitFor('up{job="wattprint"}', (r) => r[0]?.value === 1, 20_000);
      expect(up[0]!.value).toBe(1);
      const [info] = await prom.waitFor('wattprint_run_info', (r) => r.length === 1, 10_000);
      expect({ nl: info!.metric.nl, dq: info!.metric.dq, bs: info!.metric.bs, bsn: info!.metric.bsn }).toEqual(labels);
    } finally {
      await prom.stop();
      await server.close();
    }
  }, 60_000);
});
