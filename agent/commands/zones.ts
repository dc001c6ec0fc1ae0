import type { Command } from 'commander';
import type { CommandContext } from './shared.js';
import { listZones, searchZones } from '../../src/intensity/zones.js';

/** zonesCommand lists the embedded grid zones and their annual intensity, those matching `search` when given. */
export function zonesCommand(search: string | undefined, flags: { json?: boolean }): number {
  const zones = search === undefined ? listZones() : searchZones(search);
  if (zones.length === 0) {
    process.stderr.write(`wattprint: no zone matches '${search}': try part of a country name or a code prefix (\`wattprint zones\` lists all)\n`);
    return 1;
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
    return 0;
  }
  const zoneWidth = Math.max(4, ...zones.map((z) => z.zone.length));
  const nameWidth = Math.max(4, ...zones.map((z) => z.name.length));
  const row = (zone: string, g: string, year: string, basis: string, name: string, source: string) =>
    `${zone.padEnd(zoneWidth)}  ${g.padStart(9)}  ${year.padEnd(9)}  ${basis.padEnd(9)}  ${name.padEnd(nameWidth)}  ${source}`;
  const years = (z: (typeof zones)[number]) => z.years.length > 1 ? `${z.years[0]}-${z.years.at(-1)}` : String(z.year ?? '?');
  const lines = zones.map((z) => row(z.zone, String(Math.round(z.intensityGramsPerKwh)), years(z), z.basis, z.name, z.source));
  process.stdout.write(`${row('ZONE', 'gCO2e/kWh', 'YEARS', 'BASIS', 'NAME', 'SOURCE (the newest year\'s figure)')}\n${lines.join('\n')}\n`);
  return 0;
}

/** register adds `wattprint zones`. */
export function register(program: Command, { done }: CommandContext): void {
  program.command('zones').description('grid zones with embedded annual intensity; SEARCH filters by code or name')
    .argument('[search]', 'part of a zone code or name (US-CAL, germany, DEU)').option('--json', 'JSON output')
    .action((search: string | undefined, opts) => done(zonesCommand(search, opts)));
}
