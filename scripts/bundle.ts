/**
 * bundle builds dist/bundle/wattprint.cjs, the whole CLI as one CommonJS file, which bin/wattprint.cjs runs for
 * every command but the long-running ones (below), and dist/bundle/esm/, the same CLI as ES-module
 * chunks, for those.
 * `tsc` still type-checks and emits dist/ (the library modules, scripts, tests that import modules); the bundle
 * is what users start. Why, measured on the bench machine (Node 20):
 * - Node's module loader pays per file: `wattprint estimate` loaded ~60 ES modules from dist/ (126 ms); one file
 *   instead of ~60 (or ~8 chunks of an ES-module bundle) saves 25–35 ms on every one-shot command.
 * - CommonJS, not an ES module: an ES-module entry starts Node's ESM loader (its resolver, translators, the
 *   CommonJS lexer that reads better-sqlite3 for named exports, fs/promises): `report --format json` took 132 ms
 *   as ES-module chunks and 110 ms as this file. The commands' lazy imports stay lazy: esbuild wraps each
 *   dynamically imported module so that it is evaluated only when imported.
 * - commander is bundled (MIT; NOTICE) so that its `require('node:child_process')` is made lazy: it is only used
 *   for executable subcommands, which wattprint has none of, and loading child_process (with net, dgram, …)
 *   costs ~25 ms on Node builds without a code cache for built-ins.
 * The other packages stay in node_modules (native addons, data files, the dashboard's uPlot file). Modules that
 * read `import.meta.url` (files next to them, createRequire) get the bundle's own URL: it lives in dist/bundle/,
 * two levels below the package root, as the ES-module chunks did.
 *
 * Usage: node dist/scripts/bundle.js  (run by `npm run build`, `prepare`, `prepack`, `npm test`, `npm run bench`).
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** BUNDLE is the file bin/wattprint.cjs requires. */
export const BUNDLE = join(REPO, 'dist', 'bundle', 'wattprint.cjs');

/** Packages bundled; every other bare import stays a require of node_modules. */
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

/**
 * The long-running commands run from ES-module chunks instead (dist/bundle/esm/): loaded by need, the code a
 * daemon never calls (report renderers, fetching intensity sources, the WebSocket library until a client comes)
 * is never read, and the agent's steady RSS is ~4 MiB lower than from the single file (60 vs 64 MiB, 8 GPUs,
 * 1 Hz, after 4 minutes); their start-up, paid once, does not matter. bin/wattprint.cjs picks the build (its
 * LONG_RUNNING list); both builds are the whole CLI, so a command run from the other one only costs time or memory.
 */

export async function bundle(): Promise<void> {
  const out = dirname(BUNDLE);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // import.meta.url, in CommonJS: the bundle's own file URL.
  const shim = join(out, 'import-meta-url.js');
  writeFileSync(shim, "export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n");
  const common: BuildOptions = {
    absWorkingDir: REPO, entryPoints: { main: 'agent/main.ts' }, bundle: true, platform: 'node', target: 'node20',
    tsconfig: join(REPO, 'tsconfig.json'), plugins: [lazyChildProcess, packagesExceptBundled], legalComments: 'inline', logLevel: 'warning',
  };
  try {
    await Promise.all([
      build({ ...common, outfile: BUNDLE, format: 'cjs', inject: [shim], define: { 'import.meta.url': 'importMetaUrl' } }),
      build({
        ...common, outdir: join(out, 'esm'), format: 'esm', splitting: true,
        // CommonJS code in the bundle (commander) calls require: give every chunk one.
        banner: { js: "import { createRequire as __wattprintRequire } from 'node:module'; const require = __wattprintRequire(import.meta.url);" },
      }),
    ]);
  } finally {
    rmSync(shim, { force: true });
  }
}

await bundle();
