/**
 * bundle builds dist/bundle/: the CLI as a handful of ES modules (one per command, shared chunks), which
 * bin/wattprint.js runs. `tsc` still type-checks and emits dist/ (tests, bench, the library modules); the bundle
 * is what users start, because Node 20's module loader pays per file: `wattprint estimate` loaded ~60 files
 * (126 ms on the bench machine), the bundle ~8 (92 ms); `report --format json` 168 → 149 ms.
 *
 * commander is bundled (MIT; NOTICE) so that its `require('node:child_process')` can be made lazy: it is only
 * used for executable subcommands, which wattprint has none of, and loading child_process (with net, dgram,
 * …) costs ~25 ms of every one-shot command on Node builds without a code cache for built-ins. The other
 * packages stay in node_modules (native addons, data, the dashboard's uPlot file).
 *
 * Usage: node dist/scripts/bundle.js  (run by `npm run build`, `prepare` and `prepack`).
 */
import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(REPO, 'dist', 'bundle');

/** Packages bundled into dist/bundle; every other bare import stays an import of node_modules. */
const BUNDLED = new Set(['commander']);

const packagesExceptBundled: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]!;
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/** commander's child_process, loaded on first use: a property read on it (spawn) loads the real module. */
const lazyChildProcess: Plugin = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      loader: 'js',
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
    }));
  },
};

export async function bundle(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  await build({
    absWorkingDir: REPO,
    entryPoints: { main: 'agent/main.ts' },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(REPO, 'tsconfig.json'),
    // CommonJS code in the bundle (commander) calls require: give every chunk one.
    banner: { js: "import { createRequire as __wattprintRequire } from 'node:module'; const require = __wattprintRequire(import.meta.url);" },
    plugins: [lazyChildProcess, packagesExceptBundled],
    legalComments: 'inline',
    logLevel: 'warning',
  });
}

await bundle();
