import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedMetricNames, metricNamesIn } from './exported-names.js';

const path = new URL('../../examples/grafana/wattprint-dashboard.json', import.meta.url);

interface Override { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }
interface Panel {
  id: number; title: string; type: string; targets?: { refId: string; expr: string }[]; panels?: Panel[];
  fieldConfig?: { defaults?: { unit?: string }; overrides?: Override[] };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** GRAFANA_UNITS are the Grafana unit ids the dashboard may use (custom units are 'suffix:…'). */
const GRAFANA_UNITS = new Set(['watt', 'kwatth', 'masskg', 'none', 'percentunit', 's', 'cps']);

/**
 * expectedUnit is the unit a query's result is in, read from the query: joules / 3.6e6 are kWh, a rate of joules
 * is watts, grams / 1000 are kg, a _ratio is a fraction (PUE is a bare number ≥ 1), seconds are seconds.
 */
function expectedUnit(expr: string): string {
  if (/rate\(wattprint_energy_joules_total/.test(expr)) return 'watt';
  if (/rate\(wattprint_(collector_errors|dropped_readings)_total/.test(expr)) return 'cps';
  if (/wattprint_\w*joules\w*\{[^}]*\}\)? \/ 3600000$/.test(expr)) return 'kwatth';
  if (/wattprint_\w*co2e_grams\w*\{[^}]*\}\)? \/ 1000$/.test(expr)) return 'masskg';
  if (/wattprint_power_watts/.test(expr)) return 'watt';
  if (/wattprint_grid_intensity_grams_per_kwh/.test(expr)) return 'suffix: gCO2e/kWh';
  if (/wattprint_progress_ratio/.test(expr)) return 'percentunit';
  if (/wattprint_\w+_seconds\b/.test(expr)) return 's';
  if (/wattprint_pue_ratio|wattprint_collector_up|wattprint_run_info/.test(expr)) return 'none';
  throw new Error(`no unit rule for ${expr}`);
}

/** unitOf is the unit Grafana applies to one query's fields: an override for its refId, else the panel's default. */
function unitOf(panel: Panel, refId: string): string | undefined {
  const override = panel.fieldConfig?.overrides?.find((o) => o.matcher.id === 'byFrameRefID' && o.matcher.options === refId);
  const unit = override?.properties.find((p) => p.id === 'unit')?.value;
  return (unit as string | undefined) ?? panel.fieldConfig?.defaults?.unit;
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
    expect(exprs.length).toBe(26);
    // The check discriminates: a counter without its _total suffix is not a series name Prometheus stores.
    expect(exported.has('wattprint_energy_joules')).toBe(false);
    expect(metricNamesIn('rate(wattprint_energy_joules_total[$__rate_interval]) / wattprint_pue')).toEqual([
      'wattprint_energy_joules_total', 'wattprint_pue']);
    for (const expr of exprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `no wattprint metric in: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${name} (in ${expr}) is not exported`).toBe(true);
      // The deprecated name stays out of the shipped dashboard.
      expect(names).not.toContain('wattprint_pue');
    }
  });

  it('gives every panel, and every query of a panel, the unit of what it shows', () => {
    const checked: string[] = [];
    for (const panel of panels) {
      for (const t of panel.targets ?? []) {
        const unit = unitOf(panel, t.refId);
        expect(unit, `${panel.title} ${t.refId} has no unit`).toBeDefined();
        expect(GRAFANA_UNITS.has(unit!) || unit!.startsWith('suffix:'), `${panel.title}: unknown unit ${unit}`).toBe(true);
        expect(unit, `${panel.title} ${t.refId}: ${t.expr}`).toBe(expectedUnit(t.expr));
        checked.push(`${panel.id}${t.refId}`);
      }
    }
    expect(checked).toHaveLength(25);
    // The rules discriminate: a kWh panel given kg, or a sum of grams shown as kWh, fails.
    expect(expectedUnit('sum(wattprint_energy_joules_total{run_id=~"$run_id"}) / 3600000')).toBe('kwatth');
    expect(expectedUnit('sum by (basis) (wattprint_co2e_grams_total{run_id=~"$run_id"}) / 1000')).toBe('masskg');
  });

  it('puts PUE on its own panel, not on the grid intensity\'s axis, and the projection\'s fields in their units', () => {
    const withPue = panels.filter((p) => (p.targets ?? []).some((t) => /wattprint_pue_ratio/.test(t.expr)));
    expect(withPue.map((p) => p.title)).toEqual(['PUE']);
    expect(withPue[0]!.targets).toHaveLength(1);
    const projected = panels.find((p) => p.title === 'Projected at completion')!;
    expect(projected.targets!.map((t) => unitOf(projected, t.refId))).toEqual(['kwatth', 'masskg', 'percentunit']);
  });

  it('has the panels the issue asks for', () => {
    const titles = panels.map((p) => p.title);
    for (const t of ['Power per device', 'Cumulative energy per run', 'Cumulative CO2e per run', 'Grid intensity',
      'Grid intensity over time', 'PUE', 'Projected at completion']) expect(titles).toContain(t);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(dashboard.templating.list.find((v) => v.name === 'run_id')?.definition).toBe('label_values(wattprint_run_info, run_id)');
  });

  it('sums nodes by run_id, never mixing runs in a total', () => {
    const sums = exprs.filter((e) => /^sum\(/.test(e));
    for (const e of sums) expect(e).toMatch(/run_id=~"\$run_id"/);
  });
});
