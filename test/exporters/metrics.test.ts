import { describe, expect, it } from 'vitest';
import { MetricsRenderer, metricFamilyNames, renderMetricsOnce } from '../../src/exporters/metrics.js';
import { sanitizeLabelName, userLabels } from '../../src/exporters/metric-labels.js';
import { sampleSnapshot } from './snapshots.js';

const GPU0 = 'device="gpu0",kind="gpu",name="NVIDIA H100 80GB HBM3",run_id="run-42",team="ml",' +
  'uuid="GPU-00000000-aaaa-bbbb-cccc-dddddddddddd"';

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#'));
}

describe('metrics renderer', () => {
  it('exports per-device energy and power, run totals and carbon in base units', async () => {
    const text = await renderMetricsOnce(sampleSnapshot({ tick: 10 }));
    const got = lines(text);
    expect(got).toContain(`wattprint_energy_joules_total{${GPU0}} 1000`);
    expect(got).toContain('wattprint_energy_joules_total{device="cpu",kind="cpu",name="AMD EPYC 7763",run_id="run-42",team="ml"} 1100');
    expect(got).toContain(`wattprint_power_watts{${GPU0}} 100`);
    expect(got).toContain('wattprint_facility_energy_joules_total{run_id="run-42",team="ml"} 3150');
    // 3150 J = 0.000875 kWh × 400 g/kWh = 0.35 g; market at half.
    const co2 = got.filter((l) => l.startsWith('wattprint_co2e_grams_total'));
    expect(co2.map((l) => Number(l.split(' ').pop()))).toEqual([0.35000000000000003, 0.17500000000000002]);
    expect(co2[0]).toContain('basis="location"');
    expect(co2[1]).toContain('basis="market"');
    expect(got).toContain('wattprint_grid_intensity_grams_per_kwh{run_id="run-42",team="ml"} 400');
    expect(got).toContain('wattprint_pue_ratio{run_id="run-42",team="ml"} 1.5');
    expect(got).toContain('wattprint_pue{run_id="run-42",team="ml"} 1.5'); // deprecated name, kept one release
    // Short stable enums in labels; the prose ('set with --pue', 'table: Ember annual average …') is in the report.
    expect(got).toContain('wattprint_run_info{hostname="node-a",zone="DE",pue_source="flag",' +
      'intensity_source="table",status="running",run_id="run-42",team="ml"} 1');
    expect(got).toContain('wattprint_run_start_time_seconds{run_id="run-42",team="ml"} 1772366400');
  });

  it('exports each whole device\'s energy beside the run\'s share only when the run is charged a share', async () => {
    const whole = lines(await renderMetricsOnce(sampleSnapshot({ tick: 10 })));
    expect(whole.some((l) => l.startsWith('wattprint_device_energy_joules_total'))).toBe(false);
    const shared = sampleSnapshot({ tick: 10 });
    shared.devices[0]!.energyJoules = 250; // a quarter of gpu0's 1000 J charged; the CPU still wholly the run's
    shared.devices[0]!.deviceEnergyJoules = 1000;
    const text = await renderMetricsOnce(shared);
    const got = lines(text);
    expect(got).toContain(`wattprint_energy_joules_total{${GPU0}} 250`);
    expect(got).toContain(`wattprint_device_energy_joules_total{${GPU0}} 1000`);
    expect(got.filter((l) => l.startsWith('wattprint_device_energy_joules_total'))).toHaveLength(1);
    expect(text).toContain('# TYPE wattprint_device_energy_joules_total counter\n');
  });

  it('exports self-metrics from collector status, tick lag and dropped readings', async () => {
    const got = lines(await renderMetricsOnce(sampleSnapshot({ tick: 3 })));
    expect(got).toContain('wattprint_collector_up{collector="nvml"} 1');
    expect(got).toContain('wattprint_collector_up{collector="cpu"} 0');
    expect(got).toContain('wattprint_collector_duration_seconds{collector="cpu"} 0.5');
    expect(got).toContain('wattprint_collector_errors_total{collector="cpu",reason="timeout"} 3');
    // Every known reason of every collector is there from the start, at 0 (nvml has had no error at all).
    const reasons = ['nan', 'negative', 'absurd', 'malformed', 'lost', 'unsupported', 'reopened', 'error', 'timeout'];
    for (const reason of reasons) expect(got).toContain(`wattprint_collector_errors_total{collector="nvml",reason="${reason}"} 0`);
    expect(got.filter((l) => l.startsWith('wattprint_collector_errors_total{'))).toHaveLength(2 * reasons.length);
    expect(got).toContain('wattprint_tick_lag_seconds 0.004');
    expect(got).toContain('wattprint_dropped_readings_total 7');
  });

  it('exports the projection only when progress is known', async () => {
    const without = await renderMetricsOnce(sampleSnapshot({ tick: 3 }));
    expect(lines(without).some((l) => l.startsWith('wattprint_projected_'))).toBe(false);
    const projected = { fraction: 0.25, energyJoules: 8400, co2eGrams: 1.4, source: 'api' };
    const got = lines(await renderMetricsOnce(sampleSnapshot({ tick: 3, projected })));
    expect(got).toContain('wattprint_projected_energy_joules{run_id="run-42",team="ml"} 8400');
    expect(got).toContain('wattprint_projected_co2e_grams{run_id="run-42",team="ml"} 1.4');
    expect(got).toContain('wattprint_progress_ratio{source="api",run_id="run-42",team="ml"} 0.25');
    const fromDuration = lines(await renderMetricsOnce(sampleSnapshot({ tick: 3, projected: { ...projected, source: 'expected duration (--expected-duration)' } })));
    expect(fromDuration).toContain('wattprint_progress_ratio{source="expected_duration",run_id="run-42",team="ml"} 0.25');
  });

  it.each([
    ['set with --pue', 'flag'], ['gcp default: Google fleet-wide trailing twelve-month PUE 2023 (1.10)', 'cloud'],
    ['assumed: industry average 1.58 (Uptime Institute Global Data Center Survey 2023)', 'assumed'],
  ])('pue_source of %j is %s', async (pueSource, label) => {
    const got = lines(await renderMetricsOnce({ ...sampleSnapshot({ tick: 1 }), pueSource }));
    expect(got.find((l) => l.startsWith('wattprint_run_info'))).toContain(`pue_source="${label}"`);
  });

  it.each([
    ['constant (--intensity)', 'constant'], ['table: Electricity Maps 2024 yearly (ODbL)', 'table'],
    ['world average, assumed (no --zone or --intensity; Ember, CC BY-SA 4.0)', 'table'], ['csv: int.csv (plain)', 'csv'],
    ['electricitymaps DE (lifecycle)', 'electricitymaps'], ['uk: carbonintensity.org.uk national', 'uk'],
    ['watttime CAISO_NORTH MOER (marginal)', 'watttime'],
    // A fetching source that fell back to the table: the value in force is the table's.
    ['table: Ember annual average (CC BY-SA 4.0) (fallback: electricitymaps: HTTP 503)', 'table'],
  ])('intensity_source of %j is %s', async (intensitySource, label) => {
    const got = lines(await renderMetricsOnce({ ...sampleSnapshot({ tick: 1 }), intensitySource }));
    expect(got.find((l) => l.startsWith('wattprint_run_info'))).toContain(`intensity_source="${label}"`);
  });

  it('never lets a counter go backwards, while gauges follow the snapshot', async () => {
    const r = new MetricsRenderer();
    await r.render(sampleSnapshot({ tick: 10 }));
    const lower = lines(await r.render(sampleSnapshot({ tick: 4 })));
    expect(lower).toContain(`wattprint_energy_joules_total{${GPU0}} 1000`);
    expect(lower).toContain('wattprint_facility_energy_joules_total{run_id="run-42",team="ml"} 3150');
    expect(lower).toContain('wattprint_run_start_time_seconds{run_id="run-42",team="ml"} 1772366400');
    const higher = lines(await r.render(sampleSnapshot({ tick: 11 })));
    expect(higher).toContain(`wattprint_energy_joules_total{${GPU0}} 1100`);
  });

  it('exports each job\'s energy per device and CO2e per basis, and the unattributed rest, so jobs + unattributed = node', async () => {
    const got = lines(await renderMetricsOnce(sampleSnapshot({ tick: 10, jobs: [{ id: 'slurm-4242', share: 0.75 }, { id: 'pod-7a96', share: 0.125 }] })));
    expect(got).toContain('wattprint_job_energy_joules_total{job="slurm-4242",device="gpu0",kind="gpu",run_id="run-42",team="ml"} 750');
    expect(got).toContain('wattprint_job_energy_joules_total{job="pod-7a96",device="cpu",kind="cpu",run_id="run-42",team="ml"} 137.5');
    expect(got).toContain('wattprint_unattributed_energy_joules_total{device="cpu",kind="cpu",run_id="run-42",team="ml"} 137.5');
    expect(got.filter((l) => l.startsWith('wattprint_job_co2e_grams_total{job="slurm-4242"'))).toEqual([
      'wattprint_job_co2e_grams_total{job="slurm-4242",basis="location",run_id="run-42",team="ml"} 0.2625',
      'wattprint_job_co2e_grams_total{job="slurm-4242",basis="market",run_id="run-42",team="ml"} 0.13125',
    ]);
  });

  it('forgets a finished job\'s series once they leave the snapshot, while a lasting counter still never goes backwards', async () => {
    const r = new MetricsRenderer();
    for (let n = 1; n <= 500; n++) r.renderSync(sampleSnapshot({ tick: n, jobs: [{ id: `slurm-${n}`, share: 0.5 }, { id: `slurm-${n + 1}`, share: 0.25 }] }));
    // Two jobs at a time: 2 × (2 devices + 2 bases) job series held, plus the lasting counters, never 500 jobs' worth.
    const lasting = new MetricsRenderer();
    lasting.renderSync(sampleSnapshot({ tick: 1 }));
    expect(r.heldCounterSeries()).toBe(lasting.heldCounterSeries() + 2 + 8);
    const last = lines(r.renderSync(sampleSnapshot({ tick: 501, jobs: [{ id: 'slurm-501', share: 0.5 }] })));
    expect(last.filter((l) => l.startsWith('wattprint_job_energy_joules_total')).map((l) => /job="([^"]+)"/.exec(l)![1])).toEqual(['slurm-501', 'slurm-501']);
    // The unattributed counter is a lasting one: a transient dip is held at its highest value.
    const dipped = lines(r.renderSync(sampleSnapshot({ tick: 2, jobs: [{ id: 'slurm-501', share: 0.5 }] })));
    expect(dipped).toContain('wattprint_unattributed_energy_joules_total{device="cpu",kind="cpu",run_id="run-42",team="ml"} 27555');
  });

  it('omits non-finite values instead of failing the scrape', async () => {
    const s = sampleSnapshot({ tick: 2 });
    const bad = { ...s, devices: [{ ...s.devices[0]!, energyJoules: NaN, powerWatts: Infinity }], pue: NaN };
    const got = lines(await renderMetricsOnce(bad));
    expect(got.some((l) => l.startsWith('wattprint_energy_joules_total'))).toBe(false);
    expect(got.some((l) => l.startsWith('wattprint_power_watts'))).toBe(false);
    expect(got.some((l) => l.startsWith('wattprint_pue'))).toBe(false); // neither wattprint_pue_ratio nor wattprint_pue
    expect(got).toContain('wattprint_grid_intensity_grams_per_kwh{run_id="run-42",team="ml"} 400');
  });

  it('serves the same text for the same snapshot and re-renders for a new one', async () => {
    const r = new MetricsRenderer();
    const s = sampleSnapshot({ tick: 1 });
    const a = await r.render(s);
    expect(await r.render(s)).toBe(a);
    expect(await r.render(sampleSnapshot({ tick: 2 }))).toContain(`wattprint_energy_joules_total{${GPU0}} 200`);
  });

  it('rebuilds the families when the user label set changes', async () => {
    const r = new MetricsRenderer();
    await r.render(sampleSnapshot({ tick: 1 }));
    const got = lines(await r.render(sampleSnapshot({ tick: 2, labels: { project: 'llm', 'my-team': 'x' } })));
    expect(got).toContain('wattprint_pue_ratio{run_id="run-42",my_team="x",project="llm"} 1.5');
  });

  it('leaves self-metrics out on request', async () => {
    const names = metricFamilyNames(await renderMetricsOnce(sampleSnapshot({ tick: 1 }), { includeSelfMetrics: false }));
    expect(names).toEqual([
      'wattprint_energy_joules_total', 'wattprint_device_energy_joules_total', 'wattprint_power_watts', 'wattprint_facility_energy_joules_total',
      'wattprint_co2e_grams_total', 'wattprint_work_total', 'wattprint_phase_energy_joules_total',
      'wattprint_job_energy_joules_total', 'wattprint_job_co2e_grams_total', 'wattprint_unattributed_energy_joules_total', 'wattprint_grid_intensity_grams_per_kwh',
      'wattprint_pue_ratio', 'wattprint_pue', 'wattprint_run_info', 'wattprint_device_info', 'wattprint_run_start_time_seconds',
      'wattprint_progress_ratio', 'wattprint_projected_energy_joules',
      'wattprint_projected_co2e_grams',
    ]);
  });

  it('leaves readings of "now" out of the final Pushgateway push: counters, run info, device info and start time only', async () => {
    const projected = { fraction: 0.25, energyJoules: 8400, co2eGrams: 1.4, source: 'api' };
    const text = await renderMetricsOnce(sampleSnapshot({ tick: 1, status: 'ended', projected }), { includeSelfMetrics: false, excludeLive: true });
    expect(metricFamilyNames(text)).toEqual([
      'wattprint_energy_joules_total', 'wattprint_device_energy_joules_total', 'wattprint_facility_energy_joules_total', 'wattprint_co2e_grams_total',
      'wattprint_work_total', 'wattprint_phase_energy_joules_total',
      'wattprint_job_energy_joules_total', 'wattprint_job_co2e_grams_total', 'wattprint_unattributed_energy_joules_total',
      'wattprint_run_info', 'wattprint_device_info', 'wattprint_run_start_time_seconds',
    ]);
    expect(text).toContain('status="ended"');
  });
});

describe('user label names', () => {
  it('sanitises keys into valid, non-reserved Prometheus label names', () => {
    expect(sanitizeLabelName('team')).toBe('team');
    expect(sanitizeLabelName('my-team.name')).toBe('my_team_name');
    expect(sanitizeLabelName('9lives')).toBe('_9lives');
    expect(sanitizeLabelName('__meta')).toBe('_meta');
    expect(sanitizeLabelName('device')).toBe('label_device');
    expect(sanitizeLabelName('run_id')).toBe('label_run_id');
    expect(sanitizeLabelName('')).toBe('_');
  });

  it('keeps the first key when two sanitise to the same name', () => {
    expect(userLabels({ 'a-b': '2', a_b: '1' })).toEqual({ names: ['a_b'], values: { a_b: '2' }, key: 'a_b' });
  });
});

describe('a malformed snapshot', () => {
  it('empties only the families it breaks, never failing the scrape', async () => {
    const s = sampleSnapshot({ tick: 2 });
    const broken = { ...s, collectors: undefined } as unknown as typeof s;
    const got = lines(await renderMetricsOnce(broken));
    expect(got.some((l) => l.startsWith('wattprint_collector_'))).toBe(false);
    expect(got).toContain('wattprint_facility_energy_joules_total{run_id="run-42",team="ml"} 630');
  });
});
