import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { findBinary, PROMETHEUS_BIN, PUSHGATEWAY_BIN, startPrometheus, startPushgateway, type RunningPrometheus } from '../helpers/prometheus.js';
import { relativeError, sameValue, startLiveAgent, tickWith, type LiveAgent } from './live-agent.js';

/*
 * What Prometheus can see of a run, honestly: the value of each scrape. The agent's report also holds what
 * it integrated after the last scrape (up to one scrape interval, plus its final tick at SIGTERM), which no
 * Prometheus ever sees. So the comparison is made at the moment of Prometheus's last sample: the agent's
 * /ws feed records every total it published (the same snapshot /metrics serves), its final tick equals the
 * stored report, and "the report's value at the last scrape" = report total − what the feed shows the agent
 * added after the tick that scrape read. Prometheus's increase over the run (counters start at 0 with the
 * run) must match that within 1%; every sample Prometheus stored must be a total the agent published.
 */

const prometheus = findBinary(PROMETHEUS_BIN);
const pushgateway = findBinary(PUSHGATEWAY_BIN);
if (!prometheus) console.warn(`skipping Prometheus e2e: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);
if (!pushgateway) console.warn(`skipping Pushgateway e2e: ${PUSHGATEWAY_BIN} not found (apt-get install prometheus-pushgateway)`);

const RUN = ['--collectors', 'sim', '--sim-devices', '2', '--interval', '0.5', '--intensity', '400', '--pue', '1.1', '--label', 'team=ml'];
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** rawSums returns Prometheus's raw samples of a range selector, summed over series per scrape timestamp. */
async function rawSums(promUrl: string, selector: string): Promise<{ t: number; value: number }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(selector)}`);
  const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
  const byTime = new Map<number, number>();
  for (const series of body.data.result) {
    for (const [t, v] of series.values) byTime.set(t, (byTime.get(t) ?? 0) + Number(v));
  }
  return [...byTime].map(([t, value]) => ({ t, value })).sort((a, b) => a.t - b.t);
}

interface JsonReport { startedAt: string; energy: { itKwh: number; facilityKwh: number }; co2e: { locationKg: number } }

async function storedReport(runId: string, db: string): Promise<JsonReport> {
  const res = await runCli(['report', runId, '--format', 'json', '--db', db]);
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout) as JsonReport;
}

describe.skipIf(!prometheus)('a real Prometheus scraping a live agent', () => {
  let agent: LiveAgent | undefined;
  let prom: RunningPrometheus | undefined;
  afterAll(async () => {
    await agent?.stop();
    await prom?.stop();
  });

  it('stores exactly the totals the agent published, and its increase matches the report within 1%', async () => {
    const dir = tempDir('e2e-prom');
    dirs.push(dir);
    const db = join(dir, 'w.db');
    agent = await startLiveAgent(['agent', ...RUN, '--run-id', 'prom-e2e', '--db', db]);
    prom = await startPrometheus({ targets: [agent.url], scrapeIntervalSeconds: 1 });
    // About 10 s of scrapes; Prometheus itself takes a few seconds to start scraping on a loaded box.
    await prom.waitFor('count_over_time(wattprint_energy_joules_total{run_id="prom-e2e",device="sim0"}[5m])',
      (r) => (r[0]?.value ?? 0) >= 10, 60_000);
    const stopped = await agent.stop();
    expect(stopped.code).toBe(0);
    const ticks = agent.ticks;
    agent = undefined;
    // Once a scrape has failed no later sample can arrive: from here Prometheus's view of the run is final.
    await prom.waitFor('up{job="wattprint"}', (r) => r[0]?.value === 0, 15_000);

    const report = await storedReport('prom-e2e', db);
    const final = ticks.at(-1)!;
    // The feed's final tick is the stored report.
    expect(sameValue(report.energy.itKwh * 3.6e6, final.itEnergyJoules)).toBe(true);
    expect(sameValue(report.co2e.locationKg * 1000, final.co2eLocationGrams)).toBe(true);
    expect(report.co2e.locationKg * 1000).toBeCloseTo((final.itEnergyJoules * 1.1 / 3.6e6) * 400, 9);

    const energy = await rawSums(prom.url, 'wattprint_energy_joules_total{run_id="prom-e2e",team="ml"}[5m]');
    const co2e = await rawSums(prom.url, 'wattprint_co2e_grams_total{run_id="prom-e2e",team="ml",basis="location"}[5m]');
    expect(energy.length).toBeGreaterThanOrEqual(10);
    expect(co2e.map((s) => s.t)).toEqual(energy.map((s) => s.t));
    // Every stored sample is a total the agent published, in order, never stepping back.
    const seen = energy.map((s) => tickWith(ticks, 'itEnergyJoules', s.value));
    expect(seen.every((k) => k >= 0)).toBe(true);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(co2e.map((s) => tickWith(ticks, 'co2eLocationGrams', s.value))).toEqual(seen);

    const last = energy.at(-1)!;
    const k = seen.at(-1)!;
    expect(ticks[k]!.atSeconds).toBeLessThanOrEqual(last.t + 1); // the scrape read a tick that already existed
    const unseenJoules = final.itEnergyJoules - ticks[k]!.itEnergyJoules;
    const unseenGrams = final.co2eLocationGrams - ticks[k]!.co2eLocationGrams;
    // Prometheus missed only the end of the run: well under a quarter of ~10 s at 550-650 W.
    expect(unseenJoules).toBeGreaterThanOrEqual(0);
    expect(unseenJoules).toBeLessThan(0.25 * final.itEnergyJoules);
    // Counters start at 0 with the run, so Prometheus's increase over the run is its last sample.
    expect(relativeError(last.value, report.energy.itKwh * 3.6e6 - unseenJoules)).toBeLessThan(0.01);
    expect(relativeError(co2e.at(-1)!.value, report.co2e.locationKg * 1000 - unseenGrams)).toBeLessThan(0.01);
    // And between its first and last scrape it saw exactly what the agent integrated between those ticks.
    expect(relativeError(last.value - energy[0]!.value, ticks[k]!.itEnergyJoules - ticks[seen[0]!]!.itEnergyJoules)).toBeLessThan(0.01);

    const startSeconds = await rawSums(prom.url, 'wattprint_run_start_time_seconds{run_id="prom-e2e"}[5m]');
    expect(startSeconds.at(-1)!.value * 1000).toBeCloseTo(Date.parse(report.startedAt), 0);
  }, 120_000);
});

describe.skipIf(!pushgateway)('wattprint run --pushgateway with a real Pushgateway', () => {
  it('pushes final totals equal to the stored report, and no live gauge', async () => {
    const dir = tempDir('e2e-push');
    dirs.push(dir);
    const db = join(dir, 'w.db');
    const gw = await startPushgateway();
    try {
      const res = await runCli(['run', ...RUN, '--run-id', 'push-e2e', '--db', db, '--no-listen', '--quiet',
        '--pushgateway', gw.url, '--', process.execPath, '-e', 'setTimeout(() => {}, 1500)']);
      expect(res.code).toBe(0);
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const values = (name: string, extra = ''): number[] => text.split('\n')
        .filter((l) => l.startsWith(`${name}{`) && l.includes('run_id="push-e2e"') && l.includes('team="ml"') && l.includes(extra))
        .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
      const energy = values('wattprint_energy_joules_total');
      expect(energy).toHaveLength(2);
      const report = await storedReport('push-e2e', db);
      const pushed = energy.reduce((s, v) => s + v, 0);
      expect(pushed).toBeGreaterThan(500); // 1.5 s at ~600 W: a real run, not an empty push
      expect(sameValue(pushed, report.energy.itKwh * 3.6e6)).toBe(true);
      expect(sameValue(values('wattprint_facility_energy_joules_total')[0]!, report.energy.facilityKwh * 3.6e6)).toBe(true);
      expect(sameValue(values('wattprint_co2e_grams_total', 'basis="location"')[0]!, report.co2e.locationKg * 1000)).toBe(true);
      // The gateway serves this group for ever: only the run's record goes there, no reading of "now" that a
      // "Power now" panel would add up with every other finished run.
      expect(values('wattprint_run_info', 'status="ended"')).toEqual([1]);
      expect(values('wattprint_run_info', 'pue_source="flag"')).toEqual([1]);
      expect(values('wattprint_run_info', 'intensity_source="constant"')).toEqual([1]);
      for (const live of ['wattprint_power_watts', 'wattprint_grid_intensity_grams_per_kwh', 'wattprint_pue_ratio', 'wattprint_progress_ratio']) {
        expect(text.split('\n').some((l) => l.startsWith(`${live}{`) && l.includes('run_id="push-e2e"'))).toBe(false);
      }
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
