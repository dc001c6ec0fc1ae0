import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, writeTree } from '../helpers/cli.js';
import { findBinary, PROMETHEUS_BIN, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { startLiveAgent, type LiveAgent } from './live-agent.js';

/*
 * Every PromQL query the examples ship — the Grafana dashboard's panels and template variable, the recording
 * rules and the alert — run by a real Prometheus against a live agent: none may come back empty. An empty
 * query is a panel that shows "No data" to a new user (a renamed metric, a series that only exists after the
 * first error, a label that is not there).
 */

const prometheus = findBinary(PROMETHEUS_BIN);
if (!prometheus) console.warn(`skipping examples e2e: ${PROMETHEUS_BIN} not found (apt-get install prometheus)`);

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const RUN_ID = 'examples-e2e';

interface Rule { kind: 'record' | 'alert'; name: string; expr: string }

/** rulesIn reads the rule file's `- record:|alert: NAME` entries with their `expr:` (one line each). */
function rulesIn(yaml: string): Rule[] {
  return [...yaml.matchAll(/- (record|alert): (\S+)\n\s+expr: (.+)/g)].map((m) => ({ kind: m[1] as Rule['kind'], name: m[2]!, expr: m[3]!.trim() }));
}

/** grafanaQueries are the dashboard's panel queries with Grafana's variables as Grafana would fill them. */
function grafanaQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(examples, 'grafana/wattprint-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets?: { refId: string; expr: string }[] }[];
  };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({
    where: `${p.title} ${t.refId}`,
    expr: t.expr.replaceAll('$run_id', RUN_ID).replaceAll('$__rate_interval', '30s'),
  })));
}

describe.skipIf(!prometheus)('the examples\' queries against a live agent and a real Prometheus', () => {
  let agent: LiveAgent | undefined;
  let prom: RunningPrometheus | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await agent?.stop();
    await prom?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('none comes back empty', async () => {
    const dir = tempDir('e2e-examples');
    dirs.push(dir);
    // A shared node with one SLURM job (a cgroup v2 fixture tree and /proc), so the per-job series the rules roll
    // up exist, as on a real SLURM node.
    writeTree(dir, {
      'cgroup/cgroup.controllers': 'cpu memory\n',
      'cgroup/system.slice/slurmstepd.scope/job_77/cpu.stat': 'usage_usec 1000000\n',
      'cgroup/system.slice/slurmstepd.scope/job_77/memory.current': '1048576\n',
      'proc/stat': 'cpu  1000 0 0 1000 0 0 0 0 0 0\n',
      'proc/meminfo': 'MemTotal: 4096 kB\nMemAvailable: 2048 kB\n',
    });
    // --expected-duration makes the projection and progress series exist, as a job reporting progress would.
    agent = await startLiveAgent(['agent', '--collectors', 'sim', '--sim-devices', '2', '--interval', '0.5', '--intensity', '400',
      '--pue', '1.1', '--label', 'team=ml', '--expected-duration', '3600', '--run-id', RUN_ID, '--db', join(dir, 'w.db'),
      '--cgroup-root', join(dir, 'cgroup'), '--procfs', join(dir, 'proc')]);
    prom = await startPrometheus({ targets: [agent.url], scrapeIntervalSeconds: 1, ruleFiles: [join(examples, 'prometheus/wattprint-rules.yml')] });
    // rate() over 30 s needs two samples; the recording rules need one evaluation after the first scrape.
    await prom.waitFor(`count_over_time(wattprint_energy_joules_total{run_id="${RUN_ID}"}[1m])`, (r) => (r[0]?.value ?? 0) >= 4, 60_000);
    const rules = rulesIn(readFileSync(join(examples, 'prometheus/wattprint-rules.yml'), 'utf8'));
    expect(rules.map((r) => r.kind)).toEqual(['record', 'record', 'record', 'record', 'record', 'record', 'record', 'alert']);
    await prom.waitFor(rules[0]!.name, (r) => r.length > 0, 30_000);

    const empty: string[] = [];
    const queries = [
      ...grafanaQueries(),
      ...rules.filter((r) => r.kind === 'record').flatMap((r) => [{ where: `rule ${r.name} (expr)`, expr: r.expr }, { where: `recorded ${r.name}`, expr: r.name }]),
      // An alert's condition is empty on a healthy agent (else it would fire); the series it watches is not.
      ...rules.filter((r) => r.kind === 'alert').map((r) => ({ where: `alert ${r.name} (watched series)`, expr: r.expr.replace(/\s*(==|!=|>|<|>=|<=)\s*[\d.]+$/, '') })),
    ];
    expect(queries.length).toBe(25 + 14 + 1);
    for (const q of queries) {
      const result = await prom.query(q.expr);
      if (result.length === 0) empty.push(`${q.where}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
    for (const r of rules.filter((x) => x.kind === 'alert')) expect(await prom.query(r.expr), `${r.name} fires on a healthy agent`).toEqual([]);
    // The dashboard's run picker (Grafana's label_values(wattprint_run_info, run_id)) lists the run.
    const picker = await (await fetch(`${prom.url}/api/v1/label/run_id/values?match[]=wattprint_run_info`)).json() as { data: string[] };
    expect(picker.data).toContain(RUN_ID);
  }, 120_000);
});
