import type { Command } from 'commander';
import { formatCo2eKg, formatDuration, formatKwh } from '../../src/report/format.js';
import { joulesToKwh } from '../../src/units.js';
import { openStoreForReading } from '../open-store.js';
import { addDbOption, defaultDbPath } from '../options.js';
import type { CommandContext } from './shared.js';

/** runsCommand lists stored runs, newest first. */
export function runsCommand(flags: { db: string; json?: boolean }): number {
  const store = openStoreForReading(flags.db);
  try {
    const rows = store.listRuns().map((run) => {
      const itJoules = store.devicesOf(run.runKey).reduce((s, d) => s + d.energyJoules, 0);
      const endMs = run.endedAtMs ?? run.lastTickMs;
      return {
        runId: run.runId, status: run.status, hostname: run.hostname || null, zone: run.zone ?? null, startedAt: new Date(run.startedAtMs).toISOString(), endedAt: new Date(endMs).toISOString(),
        durationSeconds: (endMs - run.startedAtMs) / 1000, itKwh: joulesToKwh(itJoules), facilityKwh: joulesToKwh(store.facilityJoulesOf(run.runKey)),
        co2eLocationKg: run.co2eLocationGrams / 1000, co2eMarketKg: run.co2eMarketGrams / 1000, command: run.command ?? null, labels: run.labels,
        exitCode: run.exitCode ?? null,
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
    const table = [['RUN ID', 'HOST', 'ZONE', 'STATUS', 'EXIT', 'STARTED (UTC)', 'DURATION', 'FACILITY ENERGY', 'CO2e', 'COMMAND']];
    for (const r of rows) {
      table.push([r.runId, r.hostname ?? '-', r.zone ?? '-', r.status, r.exitCode === null ? '-' : String(r.exitCode), r.startedAt.replace('T', ' ').slice(0, 19),
        formatDuration(r.durationSeconds), formatKwh(r.facilityKwh), formatCo2eKg(r.co2eLocationKg), (r.command ?? 'agent').slice(0, 40)]);
    }
    // Figures align right, text left.
    const right = new Set([4, 6, 7, 8]);
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    process.stdout.write(table.map((row) => row.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n');
    return 0;
  } finally {
    store.close();
  }
}

/** register adds `wattprint runs`. */
export function register(program: Command, { env, done }: CommandContext): void {
  addDbOption(program.command('runs').description('list stored runs, newest first'))
    .option('--json', 'JSON output')
    .action((opts) => done(runsCommand({ db: opts.db ?? defaultDbPath(env), json: opts.json })));
}
