import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupingSegment, pushFinalTotals, PushgatewayError, pushUrl } from '../../src/exporters/pushgateway.js';
import { findBinary, freePort, PUSHGATEWAY_BIN, startPushgateway } from '../helpers/prometheus.js';
import { sampleSnapshot } from './snapshots.js';

describe('pushgateway URLs', () => {
  it('puts job, run id and node in the grouping key, base64-encoding unsafe ids', () => {
    expect(pushUrl('http://127.0.0.1:9091/', 'wattprint', 'run-42', 'node-a')).toBe('http://127.0.0.1:9091/metrics/job/wattprint/run_id/run-42/instance/node-a');
    expect(groupingSegment('run_id', 'a/b c')).toBe('run_id@base64/YS9iIGM');
    expect(groupingSegment('run_id', '')).toBe('run_id@base64/=');
  });

  it('reports an unreachable gateway in one line with the fix', async () => {
    const port = await freePort();
    const err = await pushFinalTotals(`http://127.0.0.1:${port}`, sampleSnapshot({ tick: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushgatewayError);
    expect((err as Error).message).toBe(
      `push to Pushgateway http://127.0.0.1:${port} failed (ECONNREFUSED): check --pushgateway URL and that it is up`);
  });
});

const binary = findBinary(PUSHGATEWAY_BIN);
if (!binary) console.warn(`skipping Pushgateway test: ${PUSHGATEWAY_BIN} not found (apt-get install prometheus-pushgateway)`);

describe.skipIf(!binary)('a real Pushgateway on loopback', () => {
  let gw: { url: string; stop(): Promise<void> };
  beforeAll(async () => { gw = await startPushgateway(); });
  afterAll(async () => { await gw?.stop(); });

  it('keeps each node of a multi-node run: a push replaces only its own node\'s group', async () => {
    await pushFinalTotals(gw.url, { ...sampleSnapshot({ tick: 10, runId: 'multi' }), hostname: 'node-a' });
    await pushFinalTotals(gw.url, { ...sampleSnapshot({ tick: 20, runId: 'multi' }), hostname: 'node-b' });
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const facility = text.split('\n').filter((l) => l.startsWith('wattprint_facility_energy_joules_total') && l.includes('run_id="multi"'));
    expect(facility.map((l) => /instance="([^"]+)"/.exec(l)![1]).sort()).toEqual(['node-a', 'node-b']);
  });

  it('holds the final totals of the run under job and run_id, replacing an earlier push', async () => {
    await pushFinalTotals(gw.url, sampleSnapshot({ tick: 5, runId: 'job/17' }));
    const final = sampleSnapshot({ tick: 60, runId: 'job/17', status: 'ended' });
    await pushFinalTotals(gw.url, final);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const series = text.split('\n').filter((l) => l.startsWith('wattprint_'));
    expect(series).toContain('wattprint_energy_joules_total{device="cpu",instance="node-a",job="wattprint",kind="cpu",' +
      'name="AMD EPYC 7763",run_id="job/17",team="ml"} 6600');
    expect(series).toContain('wattprint_facility_energy_joules_total{instance="node-a",job="wattprint",run_id="job/17",team="ml"} 18900');
    expect(series).toContain(`wattprint_co2e_grams_total{basis="location",instance="node-a",job="wattprint",run_id="job/17",team="ml"} ${final.co2eGrams.location}`);
    expect(series.some((l) => l.startsWith('wattprint_collector_up'))).toBe(false);
    expect(series.filter((l) => l.startsWith('wattprint_energy_joules_total') && l.includes('run_id="job/17"'))).toHaveLength(2);
  });

  it('surfaces a refused push with the gateway\'s reason', async () => {
    const err = await pushFinalTotals(`${gw.url}/nope`, sampleSnapshot({ tick: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PushgatewayError);
    expect((err as PushgatewayError).status).toBe(404);
  });
});
