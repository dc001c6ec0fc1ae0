import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { METRIC_DEFS } from '../../src/exporters/metric-defs.js';
import { userLabels } from '../../src/exporters/metric-labels.js';
import { METRICS_CONTENT_TYPE, renderMetricsOnce } from '../../src/exporters/metrics.js';
import type { Snapshot } from '../../src/snapshot.js';
import { sampleSnapshot } from './snapshots.js';

/** promClientText renders the same families through a prom-client Registry: the reference output. */
async function promClientText(snapshot: Snapshot): Promise<string> {
  const registry = new Registry();
  const user = userLabels(snapshot.labels);
  for (const def of METRIC_DEFS) {
    const labelNames = def.labelNames(user);
    if (def.type === 'counter') {
      const c = new Counter({ name: def.name, help: def.help, labelNames, registers: [registry] });
      def.fill(snapshot, user, (labels, value) => { if (Number.isFinite(value) && value >= 0) c.inc(labels, value); });
    } else {
      const g = new Gauge({ name: def.name, help: def.help, labelNames, registers: [registry] });
      def.fill(snapshot, user, (labels, value) => { if (Number.isFinite(value)) g.set(labels, value); });
    }
  }
  return registry.metrics();
}

describe('direct exposition renderer', () => {
  it('prints exactly what prom-client prints for the same families', async () => {
    for (const snapshot of [
      sampleSnapshot({ tick: 1 }),
      sampleSnapshot({ tick: 42, deviceCount: 8, labels: { team: 'ml "core"', 'job-name': 'a\\b\nc' } }),
      sampleSnapshot({ tick: 7, deviceCount: 0 }),
      // A shared node: per-job series with a label value that needs escaping, and the unattributed rest.
      sampleSnapshot({ tick: 9, deviceCount: 3, jobs: [{ id: 'slurm-4242', share: 0.5 }, { id: 'scope-a"b\\c', share: 0.25, status: 'ended' }] }),
    ]) {
      const ours = await renderMetricsOnce(snapshot, { includeSelfMetrics: true });
      expect(ours).toBe(await promClientText(snapshot));
    }
  });

  // Each special character alone: a value holding only one of them must still be escaped (a quick
  // "needs escaping?" test that lost one character would let it through unescaped, breaking the scrape).
  it('escapes a newline, a double quote and a backslash each alone in label values, as prom-client does', async () => {
    const cases: [string, string][] = [
      ['\n', '\\n'], // newline → \n
      ['"', '\\"'], // quote → \"
      ['\\', '\\\\'], // backslash → \\
      ['\\n', '\\\\n'], // backslash then the letter n: not a newline
      ['a\nb', 'a\\nb'],
    ];
    for (const [value, escaped] of cases) {
      const snapshot = sampleSnapshot({ tick: 3, labels: { team: value } });
      const ours = await renderMetricsOnce(snapshot, { includeSelfMetrics: true });
      expect(ours).toContain(`wattprint_facility_energy_joules_total{run_id="run-42",team="${escaped}"} `);
      expect(ours.split('\n').filter((l) => l !== '' && !/^(# |wattprint_)/.test(l))).toEqual([]);
      expect(ours).toBe(await promClientText(snapshot));
    }
  });

  it('uses the Prometheus text content type', () => {
    expect(METRICS_CONTENT_TYPE).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
  });
});
