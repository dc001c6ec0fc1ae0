import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// bin/wattprint.cjs runs the CLI bundled in dist/bundle (scripts/bundle.ts; npm test builds it first): one-shot
// commands from one CommonJS file, `agent` and `run` from ES-module chunks. These tests run the bin and look at
// what a command loads: the point of the bundle is that `--version`, `estimate` and `report` load one file and not child_process (with commander's
// executable subcommands, which wattprint has none of) nor http. (net loads anyway: a piped stdout is a socket.)

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin', 'wattprint.cjs');
const BUNDLE = join(REPO, 'dist', 'bundle', 'wattprint.cjs');
const dir = mkdtempSync(join(tmpdir(), 'wattprint-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Preloaded: at exit, write the built-in modules and the files this process loaded, as JSON, to fd 3.
const preload = join(dir, 'loaded.cjs');
writeFileSync(preload, `process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  require('node:fs').writeSync(3, JSON.stringify({ builtins, files: Object.keys(require.cache) }));
});\n`);

function runBundle(args: string[]): { status: number | null; stdout: string; stderr: string; builtins: string[]; files: string[] } {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=2', '--require', preload, BIN, ...args], {
    encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], timeout: 30_000,
  });
  const loaded = JSON.parse(String(r.output[3] ?? '{}')) as { builtins?: string[]; files?: string[] };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, builtins: loaded.builtins ?? [], files: loaded.files ?? [] };
}

describe.skipIf(!existsSync(BUNDLE))('the CLI bundle', () => {
  it('answers --version, estimate and a usage error without loading child_process or http', () => {
    const version = runBundle(['--version']);
    expect([version.status, version.stdout.trim(), version.stderr]).toEqual([0, '0.1.0', '']);
    const estimate = runBundle(['estimate', '--accelerators', '8', '--watts', '300', '--hours', '24', '--zone', 'DE']);
    expect(estimate.status, estimate.stderr).toBe(0);
    expect(estimate.stdout).toMatch(/IT energy +57\.60 kWh/);
    const usage = runBundle(['estimate', '--watts', '300']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe("wattprint: required option '--accelerators <n>' not specified (see --help)\n");
    for (const r of [version, estimate, usage]) {
      expect(r.files.filter((f) => f.startsWith(join(REPO, 'dist')))).toEqual([BUNDLE]);
      expect(r.builtins).toContain('fs');
      expect(r.builtins).not.toContain('child_process');
      expect(r.builtins).not.toContain('http');
    }
  });

  it('still answers through bin/wattprint.js, the entry stale npx caches link to', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin', 'wattprint.js'), '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, LANG: 'C' } });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, '0.1.0', '']);
  });

  it('runs `run` from the ES-module chunks (child_process loaded when used) and prints its report', () => {
    const run = runBundle(['run', '--collectors', 'ram', '--no-listen', '--db', join(dir, 'run.db'), '--zone', 'DE', '--',
      process.execPath, '-e', 'setTimeout(() => {}, 300)']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.builtins).toContain('child_process');
    // Loaded as ES modules, which require.cache does not list: nothing from dist/ is there.
    expect(run.files.filter((f) => f.startsWith(join(REPO, 'dist')))).toEqual([]);
    expect(run.stdout + run.stderr).toMatch(/CO2e/);
  });
});
