import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** StaticAsset is one dashboard file held in memory: serving it does no I/O. */
export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

/**
 * dashboardDir finds src/exporters/dashboard: next to this module when run from source, from
 * dist/src/exporters/ back to the package's src/ (tsc does not copy non-TS files), or from the CLI's bundle
 * in dist/bundle/.
 */
export function dashboardDir(): string {
  const candidates = [
    fileURLToPath(new URL('./dashboard/', import.meta.url)),
    fileURLToPath(new URL('../../../src/exporters/dashboard/', import.meta.url)),
    fileURLToPath(new URL('../../src/exporters/dashboard/', import.meta.url)),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`dashboard files not found (looked in ${candidates.join(', ')}): reinstall wattprint`);
  return found;
}

/** uplotDistDir is node_modules/uplot/dist, resolved like an import so it works offline from any cwd. */
export function uplotDistDir(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve('uplot/dist/uPlot.iife.min.js'), '..');
}

/** loadDashboardAssets reads the dashboard and the uPlot bundle once, keyed by URL path. */
export function loadDashboardAssets(dir = dashboardDir(), uplotDir = uplotDistDir()): Map<string, StaticAsset> {
  const html = 'text/html; charset=utf-8';
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const files: [string, string, string][] = [
    ['/', join(dir, 'index.html'), html],
    ['/dashboard/format.js', join(dir, 'format.js'), js],
    ['/dashboard/charts.js', join(dir, 'charts.js'), js],
    ['/dashboard/token.js', join(dir, 'token.js'), js],
    ['/dashboard/app.js', join(dir, 'app.js'), js],
    ['/dashboard/style.css', join(dir, 'style.css'), css],
    ['/dashboard/uPlot.iife.min.js', join(uplotDir, 'uPlot.iife.min.js'), js],
    ['/dashboard/uPlot.min.css', join(uplotDir, 'uPlot.min.css'), css],
  ];
  const assets = new Map<string, StaticAsset>();
  for (const [path, file, contentType] of files) {
    try {
      assets.set(path, { body: readFileSync(file), contentType });
    } catch (cause) {
      throw new Error(`read dashboard asset ${file}`, { cause });
    }
  }
  assets.set('/index.html', assets.get('/')!);
  return assets;
}

/** DASHBOARD_CSP keeps the page to its own origin: no CDN, no third-party script, feed on the same host. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
  "img-src 'self' data:; frame-ancestors 'none'";
