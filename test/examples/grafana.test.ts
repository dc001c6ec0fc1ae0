import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedMetricNames, metricNamesIn } from './exported-names.js';

const path = new URL('../../examples/grafana/wattprint-dashboard.json', import.meta.url);

interface Panel { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] }

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('Grafana dashboard example', () => {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as {
    panels: Panel[]; templating: { list: { name: string; definition?: string }[] };
  };
  const panels = allPanels(dashboard.panels);
  const exprs = [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
  ];

  it('uses only metric names the exporter exposes, in every query', async () => {
    const exported = await exportedMetricNames();
    expect(exprs.length).toBe(25);
    // The check discriminates: a counter without its _total suffix is not a series name Prometheus stores.
    expect(exported.has('wattprint_energy_joules')).toBe(false);
    expect(metricNamesIn('rate(wattprint_energy_joules_total[$__rate_interval]) / wattprint_pue')).toEqual([
      'wattprint_energy_joules_total', 'wattprint_pue']);
    for (const expr of exprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `no wattprint metric in: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${name} (in ${expr}) is not exported`).toBe(true);
    }
  });

  it('has the panels the issue asks for', () => {
    const titles = panels.map((p) => p.title);
    for (const t of ['Power per device', 'Cumulative energy per run', 'Cumulative CO2e per run', 'Grid intensity',
      'Projected at completion']) expect(titles).toContain(t);
    expect(dashboard.templating.list.find((v) => v.name === 'run_id')?.definition).toBe('label_values(wattprint_run_info, run_id)');
  });

  it('sums nodes by run_id, never mixing runs in a total', () => {
    const sums = exprs.filter((e) => /^sum\(/.test(e));
    for (const e of sums) expect(e).toMatch(/run_id=~"\$run_id"/);
  });
});
