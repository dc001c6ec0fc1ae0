// A `run` charged a share of its node's devices, scraped by a real Prometheus, reported from Prometheus alone.
// wattprint_energy_joules_total is the run's share and wattprint_power_watts each whole device's power, so the
// Prometheus report must carry the devices' whole energy beside the share and say its chart is the devices'
// power, as the run's own report does — not chart several times the energy it charges under a plain title.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { reportFromPrometheus } from '../../src/sources/prometheus-report.js';
import { renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/types.js';
import { baseEnv, runCli, tempDir } from '../helpers/cli.js';
import { chartJoules } from '../helpers/shared-run.js';
import { findBinary, freePort, PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const prometheus = findBinary(PROMETHEUS_BIN);
if (!prometheus) console.warn(`skipping shared-run Prometheus e2e: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);
const BUSY = fileURLToPath(new URL('../fixtures/attribution/busy.mjs', import.meta.url));

describe.skipIf(!prometheus)('report --prometheus of a run charged a share of its devices', () => {
  const dir = tempDir('e2e-prom-shared');
  let prom: RunningPrometheus | undefined;
  afterAll(async () => {
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries each whole device\'s energy beside the share and labels its chart as the devices\' power', async () => {
    const port = await freePort();
    prom = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeIntervalSeconds: 1 });
    const reportFile = join(dir, 'local.json');
    // An idle job charged only the capacity it used: a small share of the CPU and memory it shares with the machine.
    const r = await runCli(['run', '--db', join(dir, 'w.db'), '--collectors', 'cpu,ram', '--interval', '0.2', '--intensity', '300', '--pue', '1',
      '--listen', `127.0.0.1:${port}`, '--run-id', 'shared-1', '--idle-attribution', 'none', '--report-file', reportFile,
      '--', process.execPath, BUSY, 'idle', '6000'], baseEnv());
    expect(r.code, r.stderr).toBe(0);
    const local = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    expect(local.energy.itKwh).toBeLessThan(0.5 * local.energy.nodeItKwh);

    await prom.waitFor('up{job="wattprint"}', (s) => s.length === 1 && s[0]!.value === 0, 15_000);
    const job = await reportFromPrometheus(prom.url, 'shared-1');
    expect(job.energy.byDevice.map((d) => d.id).sort()).toEqual(['cpu', 'ram']);
    // Prometheus holds each counter at its last scrape: up to one scrape (1 s) of the run's 6 s is the run's own.
    for (const d of job.energy.byDevice) {
      const mine = local.energy.byDevice.find((x) => x.id === d.id)!;
      expect(d.kwh).toBeLessThan(d.nodeKwh);
      expect(d.kwh).toBeLessThanOrEqual(mine.kwh * (1 + 1e-9));
      expect(d.nodeKwh).toBeLessThanOrEqual(mine.nodeKwh * (1 + 1e-9));
      expect(d.nodeKwh).toBeGreaterThan(0.6 * mine.nodeKwh);
    }
    expect(job.energy.nodeItKwh).toBeGreaterThan(2 * job.energy.itKwh);
    expect(job.powerSeriesScope).toBe('devices');
    expect(chartJoules(job)).toBeGreaterThan(2 * job.energy.itKwh * 3.6e6);
    expect(job.notes.some((n) => n.startsWith('the run was charged a share of devices it shared with other work'))).toBe(true);
    // The Grafana example's "whole devices" figure: device energy where exported, else the run's own (PromQL's `or`
    // matches series without their metric name), here over the ended run's last samples.
    const [whole] = await prom.query('sum(last_over_time(wattprint_device_energy_joules_total{run_id="shared-1"}[5m]) or last_over_time(wattprint_energy_joules_total{run_id="shared-1"}[5m]))');
    expect(whole!.value).toBeCloseTo(job.energy.nodeItKwh * 3.6e6, 6);
    const table = renderReport(job, 'table');
    expect(table).toMatch(/Total IT power of the devices \(whole devices, shared: this run was charged [\d.]+% of their IT energy\)/);
  }, 60_000);
});
