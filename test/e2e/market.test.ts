import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableProvider } from '../../src/intensity/table.js';
import { baseEnv as cleanEnv, runCli, tempDir } from '../helpers/cli.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  dir = tempDir('e2e-market');
  env = cleanEnv({ XDG_DATA_HOME: join(dir, 'data') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('market-based from the command line (replay of a 3 h trace against an Electricity Maps export)', () => {
  // Facility kWh per hour 00..03: 0.22, 0.44, 0.44, 0.22 (PUE 1.1); the export has hours 0, 1, 3 at 350.25, 250, 150.
  const args = ['replay', fixture('replay/watts_3h.csv'), '--intensity-file', fixture('intensity/em_new_format_3h.csv'), '--zone', 'DE', '--pue', '1.1', '--json'];
  const de = tableProvider('DE').lookup(Date.UTC(2024, 0, 1, 2)).gramsPerKwh;
  const location = 0.22 * 350.25 + 0.44 * 250 + 0.44 * de + 0.22 * 150;

  it('no instrument: market = location, and the report says so', async () => {
    const r = await runCli(args, env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const report = JSON.parse(r.stdout);
    expect(report.co2e.locationKg * 1000).toBeCloseTo(location, 9);
    expect(report.co2e.marketKg).toBe(report.co2e.locationKg);
    expect(report.intensity.marketBasis).toBe('no market instruments given: market-based equals location-based');
  });

  it('--cfe 0.3 --residual-mix 420: (1 − 0.3) × 420 g/kWh for every facility kWh', async () => {
    const r = await runCli([...args, '--cfe', '0.3', '--residual-mix', '420'], env);
    const report = JSON.parse(r.stdout);
    expect(report.co2e.marketKg * 1000).toBeCloseTo(0.7 * 420 * 1.32, 9);
    expect(report.co2e.locationKg * 1000).toBeCloseTo(location, 9);
  });

  it('--market-intensity with --residual-mix is a usage error (exit 2)', async () => {
    const r = await runCli([...args, '--market-intensity', '50', '--residual-mix', '420'], env);
    expect([r.code, r.stderr]).toEqual([2, 'wattprint: --market-intensity is the intensity of all consumption, so --residual-mix (for the share --cfe leaves uncovered) does not apply: give one of them\n']);
  });
});
