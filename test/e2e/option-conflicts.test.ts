import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempDir } from '../helpers/cli.js';

/*
 * Options that used to fight silently (the constant intensity won while the report named the zone; --gpus 7
 * tracked no GPU; a label named `device` was renamed): each is now one line on stderr, exit 2, before any run
 * is created.
 */

const FAKE_SMI = fileURLToPath(new URL('../fixtures/nvidia-smi/fake-nvidia-smi.mjs', import.meta.url));
let dir: string;
let db: string;
beforeAll(() => {
  dir = tempDir('e2e-conflicts');
  db = join(dir, 'w.db');
  chmodSync(FAKE_SMI, 0o755);
  writeFileSync(join(dir, 'int.csv'), 'datetime,zone,intensity_g_per_kwh\n2026-03-01T00:00:00Z,DE,300\n');
  writeFileSync(join(dir, 'trace.csv'), 'timestamp,device,watts\n2026-03-01T00:00:00Z,gpu0,300\n2026-03-01T00:00:01Z,gpu0,300\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** refused runs `wattprint run ARGS -- true` and returns its one stderr line, checking exit 2 and no stdout. */
async function refused(args: string[], command = 'run'): Promise<string> {
  const r = await runCli(command === 'run' ? ['run', '--db', db, '--no-listen', ...args, '--', 'true'] : [command, ...args]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

describe('options that fight', () => {
  it('--intensity with --zone, --intensity-file or another --intensity-source is an error', async () => {
    expect(await refused(['--collectors', 'ram', '--intensity', '100', '--zone', 'FR'])).toBe(
      'wattprint: --intensity 100 and --zone FR both set the grid intensity: give one (a constant with --intensity, or the zone\'s or file\'s hourly figures)');
    expect(await refused(['--collectors', 'ram', '--intensity', '100', '--intensity-file', join(dir, 'int.csv')])).toMatch(
      /^wattprint: --intensity 100 and --intensity-file \S+int\.csv both set the grid intensity/);
    expect(await refused(['--collectors', 'ram', '--intensity', '100', '--intensity-source', 'uk'])).toMatch(/--intensity 100 and --intensity-source uk both set/);
    // replay and report --restate read the same options.
    expect(await refused([join(dir, 'trace.csv'), '--intensity', '1', '--zone', 'DE'], 'replay')).toMatch(/^wattprint: --intensity 1 and --zone DE both set/);
  }, 60_000);

  it('--gpus naming a GPU this machine does not have is an error naming the GPUs found', async () => {
    const smi = ['--collectors', 'nvidia-smi,ram', '--nvidia-smi', FAKE_SMI];
    expect(await refused([...smi, '--gpus', '7'])).toBe(
      "wattprint: --gpus 7: no GPU '7' here; found 0 (GPU-1e1f0a2b…), 1 (GPU-2e2f0a2b…) (nvidia-smi): pass indices or UUIDs from that list");
    expect(await refused([...smi, '--gpus', '1,7'])).toMatch(/^wattprint: --gpus 1,7: no GPU '7' here; found 0 \(GPU-1e1f0a2b…\), 1/);
    // On a machine without any GPU collector finding a GPU: said so, with each collector's reason.
    expect(await refused(['--collectors', 'nvidia-smi,ram', '--nvidia-smi', join(dir, 'no-such-smi'), '--gpus', '0'])).toMatch(
      /^wattprint: --gpus 0: no GPU found on this machine \(nvidia-smi: .+\); leave --gpus out, or see `wattprint doctor`$/);
    // A GPU it has is tracked.
    const ok = await runCli(['run', '--db', db, '--no-listen', '--quiet', ...smi, '--gpus', '1', '--report-file', join(dir, 'r.json'), '--', 'true'], baseEnv());
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);

  it.each([['device'], ['run_id'], ['status'], ['instance'], ['__name__']])('a label named %s is an error, not a silent rename', async (key) => {
    const line = await refused(['--collectors', 'ram', '--label', `${key}=x`]);
    expect(line).toMatch(new RegExp(`^wattprint: --label ${key}: (wattprint's metrics already use the label '${key}'|label names starting with __ are reserved by Prometheus); choose another name`));
    expect(line).not.toContain('is invalid');
  });

  it('a bad value is one clean line, not commander\'s preamble and ours', async () => {
    expect(await refused(['--interval', '0'])).toBe("wattprint: --interval must be a number of seconds from 0.05 to 3600, got '0' (see --help)");
    expect(await refused(['--pue', '0.5'])).toBe("wattprint: --pue must be a number from 1.0 to 5.0 (e.g. 1.1), got '0.5' (see --help)");
    expect(await refused(['--accelerators', '0', '--watts', '300', '--hours', '1'], 'estimate')).toBe(
      "wattprint: --accelerators must be a number greater than 0, got '0' (see --help)");
    const env = await runCli(['run', '--db', db, '--no-listen', '--', 'true'], baseEnv({ WATTPRINT_INTERVAL: 'abc' }));
    expect(env.stderr).toBe("wattprint: WATTPRINT_INTERVAL='abc': --interval must be a number of seconds from 0.05 to 3600, got 'abc' (see --help)\n");
  });

  it('estimate without --zone or --intensity uses the world average, marked assumed, as run does', async () => {
    const r = await runCli(['estimate', '--accelerators', '8', '--watts', '400', '--hours', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { intensity: { gramsPerKwh: number; source: string }; co2e: { locationKg: number } };
    expect(j.intensity.source).toMatch(/^world average, assumed/);
    expect(j.intensity.gramsPerKwh).toBeCloseTo(472.94, 1);
    // 8 × 400 W × 10 h × 1.58 (assumed PUE) = 50.56 kWh × 472.94 g/kWh
    expect(j.co2e.locationKg).toBeCloseTo(50.56 * 472.94 / 1000, 6);
    const text = await runCli(['estimate', '--accelerators', '8', '--watts', '400', '--hours', '10']);
    expect(text.stdout).toMatch(/Grid intensity +473 gCO2e\/kWh \(world average, assumed/);
  });
});
