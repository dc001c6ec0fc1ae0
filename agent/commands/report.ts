import { Option, type Command } from 'commander';
import { loadReport } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import type { RunRow } from '../../src/store/rows.js';
import type { Store } from '../../src/store/store.js';
import { joulesToKwh } from '../../src/units.js';
import { UsageError } from '../errors.js';
import { openStoreForReading } from '../open-store.js';
import { formatElapsed } from '../status-line.js';
import type { ReportFormat } from '../session.js';
import { addDbOption, defaultDbPath } from '../options.js';

/** findRunOrThrow returns a stored run, the latest when no id is given, or a usage error naming the fix. */
export function findRunOrThrow(store: Store, runId: string | undefined): RunRow {
  const run = runId ? store.findRun(runId) : store.latestRun();
  if (!run) {
    throw new UsageError(runId ? `unknown run '${runId}': \`wattprint runs\` lists the stored runs` : `no runs stored in ${store.path} yet: track one with \`wattprint run -- CMD\``);
  }
  return run;
}

/** reportCommand prints a stored run's report to stdout. */
export function reportCommand(runId: string | undefined, flags: { db: string; format: ReportFormat }): number {
  const store = openStoreForReading(flags.db);
  try {
    const run = findRunOrThrow(store, runId);
    process.stdout.write(renderReport(loadReport(store, run), flags.format));
    return 0;
  } finally {
    store.close();
  }
}

/** runsCommand lists stored runs, newest first. */
export function runsCommand(flags: { db: string; json?: boolean }): number {
  const store = openStoreForReading(flags.db);
  try {
    const rows = store.listRuns().map((run) => {
      const itJoules = store.devicesOf(run.runKey).reduce((s, d) => s + d.energyJoules, 0);
      const endMs = run.endedAtMs ?? run.lastTickMs;
      return {
        runId: run.runId, status: run.status, startedAt: new Date(run.startedAtMs).toISOString(), endedAt: new Date(endMs).toISOString(),
        durationSeconds: (endMs - run.startedAtMs) / 1000, itKwh: joulesToKwh(itJoules), facilityKwh: joulesToKwh(itJoules * run.pue),
        co2eLocationKg: run.co2eLocationGrams / 1000, co2eMarketKg: run.co2eMarketGrams / 1000, command: run.command ?? null, labels: run.labels,
      };
    });
    if (flags.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write(`no runs in ${store.path}\n`);
      return 0;
    }
    const table = [['RUN ID', 'STATUS', 'STARTED (UTC)', 'DURATION', 'kWh (facility)', 'kgCO2e', 'COMMAND']];
    for (const r of rows) {
      table.push([r.runId, r.status, r.startedAt.replace('T', ' ').slice(0, 19), formatElapsed(r.durationSeconds), r.facilityKwh.toFixed(4), r.co2eLocationKg.toFixed(4), (r.command ?? '').slice(0, 40)]);
    }
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    process.stdout.write(table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
    return 0;
  } finally {
    store.close();
  }
}

/** registerReportCommands adds `report` and `runs` to the CLI. */
export function registerReportCommands(program: Command, env: NodeJS.ProcessEnv, done: (code: number) => void): void {
  addDbOption(program.command('report').description('print a stored run\'s report (the latest by default)').argument('[run-id]'))
    .addOption(new Option('--format <format>', 'table|markdown|json|csv').choices(['table', 'markdown', 'json', 'csv']).default('table'))
    .action((runId: string | undefined, opts) => done(reportCommand(runId, { db: opts.db ?? defaultDbPath(env), format: opts.format })));

  addDbOption(program.command('runs').description('list stored runs, newest first'))
    .option('--json', 'JSON output')
    .action((opts) => done(runsCommand({ db: opts.db ?? defaultDbPath(env), json: opts.json })));
}
