import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/cli.js';

/*
 * What a user gets from `npm pack` / `npm publish`: the tarball is built on prepack into a copy of the sources
 * (never this checkout's dist/, which other tests are running), installed into an empty folder, and run.
 * No registry is asked: wattprint comes from the tarball, its dependencies from this checkout's node_modules
 * as local folders (npm links them), so the install is offline and the native modules are already built
 * (their install scripts are not run: npm would rebuild them in place, inside this checkout's node_modules).
 */

const SOURCES = ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'NOTICE', 'agent', 'collectors', 'scripts', 'src', 'bin', 'examples'];
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** npmEnv keeps npm off the network and quiet: no update check, no audit, no funding notice. */
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_offline: 'true' };

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: npmEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
}

/** productionDependencies walks package.json dependencies as Node resolves them: the folders wattprint needs at run time. */
function productionDependencies(root: string): string[] {
  const seen = new Set<string>();
  const resolveFrom = (dir: string, name: string): string | undefined => {
    for (let d = dir; ; d = dirname(d)) {
      const candidate = join(d, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (d === dirname(d)) return undefined;
    }
  };
  const walk = (dir: string): void => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const name of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      const found = resolveFrom(dir, name);
      if (!found) {
        if (name in (pkg.optionalDependencies ?? {})) continue;
        throw new Error(`${name} (needed by ${dir}) is not installed: run npm ci`);
      }
      if (!seen.has(found)) { seen.add(found); walk(found); }
    }
  };
  walk(root);
  return [...seen];
}

describe('the npm package', () => {
  it('packs dist (built on prepack), the dashboard, examples and the licences, installs offline into an empty folder, and runs', () => {
    const tmp = tempDir('pack');
    dirs.push(tmp);
    const src = join(tmp, 'src-copy');
    mkdirSync(src);
    for (const entry of SOURCES) cpSync(join(REPO, entry), join(src, entry), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'));
    expect(existsSync(join(src, 'dist'))).toBe(false);

    // prepack builds; then the same pack npm publish makes (its scripts already run once).
    npm(['run', 'prepack'], src);
    const out = join(tmp, 'out');
    mkdirSync(out);
    const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', out], src)) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    for (const f of ['bin/wattprint.cjs', 'dist/bundle/wattprint.cjs', 'dist/bundle/esm/main.js', 'dist/agent/main.js', 'dist/src/exporters/static.js', 'LICENSE', 'NOTICE', 'README.md',
      'examples/grafana/wattprint-dashboard.json', 'examples/prometheus/wattprint-rules.yml']) expect(files).toContain(f);
    // Every file the dashboard serves from the package (static.ts reads them at start).
    const dashboardFiles = readdirSync(join(REPO, 'src/exporters/dashboard'));
    expect(dashboardFiles).toEqual(expect.arrayContaining(['index.html', 'app.js', 'format.js', 'charts.js', 'token.js', 'style.css']));
    for (const f of dashboardFiles) expect(files).toContain(`src/exporters/dashboard/${f}`);
    // And nothing of the development tree: no tests, no TypeScript sources, no bench scripts.
    expect(files.filter((f) => f.startsWith('test/') || f.endsWith('.ts') || f.startsWith('dist/scripts/'))).toEqual([]);
    const licence = readFileSync(join(REPO, 'LICENSE'), 'utf8');
    expect(licence).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(licence).toContain('END OF TERMS AND CONDITIONS');
    const notice = readFileSync(join(REPO, 'NOTICE'), 'utf8').replace(/\s+/g, ' ');
    for (const attribution of ['Electricity Maps', 'Open Database License (ODbL) v1.0', 'Ember', 'CC BY-SA 4.0', 'Cloud Carbon Footprint', '@tgwf/co2']) {
      expect(notice).toContain(attribution);
    }

    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "empty", "private": true }\n');
    // --ignore-scripts: the dependencies are this checkout's folders, already built; their install scripts
    // (better-sqlite3 compiles SQLite) must not run again inside node_modules that other processes are using.
    npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', join(out, packed!.filename), ...productionDependencies(REPO)], app);
    const bin = join(app, 'node_modules', '.bin', 'wattprint');
    expect(readFileSync(join(app, 'node_modules', 'wattprint', 'package.json'), 'utf8')).toContain('"name": "wattprint"');

    const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8' });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
    const estimate = spawnSync(bin, ['estimate', '--accelerators', '8', '--watts', '400', '--hours', '10', '--zone', 'FR'], { cwd: app, encoding: 'utf8' });
    expect(estimate.status, estimate.stderr).toBe(0);
    expect(estimate.stdout).toMatch(/Facility energy +50\.56 kWh/);
    expect(estimate.stdout).toMatch(/zone FR/);
    // A tracked run from the installed package: SQLite store, and the dashboard served from the package's files.
    const probe = "fetch(process.env.WATTPRINT_URL + '/dashboard/format.js').then((r) => r.text()).then((t) => process.exit(t.includes('wattprintFormat') ? 0 : 3))";
    const run = spawnSync(bin, ['run', '--collectors', 'ram', '--listen', '127.0.0.1:0', '--quiet', '--db', join(tmp, 'w.db'), '--', process.execPath, '-e', probe],
      { cwd: app, encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 180_000);
});
