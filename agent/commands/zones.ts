import { listZones } from '../../src/zones.js';

/** zonesCommand lists the embedded grid zones and their annual intensity. */
export function zonesCommand(flags: { json?: boolean }): number {
  const zones = listZones();
  if (flags.json) {
    process.stdout.write(JSON.stringify(zones, null, 2) + '\n');
    return 0;
  }
  const lines = zones.map((z) => `${z.zone.padEnd(14)} ${String(Math.round(z.intensityGramsPerKwh)).padStart(5)} g/kWh  ${z.name}  [${z.source}]`);
  process.stdout.write(`ZONE           gCO2e/kWh  NAME  [SOURCE]\n${lines.join('\n')}\n`);
  return 0;
}
