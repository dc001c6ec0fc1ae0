#!/usr/bin/env -S node --max-semi-space-size=2
// A 2 MB young generation keeps a long-running agent's resident memory ~40 MB lower at no measurable CPU cost
// (npm run bench); the agent allocates little per tick, so larger semi-spaces only hold garbage.
//
// Entry point. The CLI is built twice by scripts/bundle.ts (`npm ci` / `npm run build` run it through `prepare`),
// and both builds are the whole CLI: one CommonJS file, which starts fastest (one-shot commands), and ES-module
// chunks loaded by need, which keep a long-running agent's memory lowest (`agent`, `run`). The command is the
// first argument that is not an option, as the CLI itself reads it; a wrong guess only costs time or memory.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const LONG_RUNNING = ['agent', 'run'];
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const dist = join(__dirname, '..', 'dist', 'bundle');
const cjs = join(dist, 'wattprint.cjs');
const esm = join(dist, 'esm', 'main.js');
if (!existsSync(cjs) || !existsSync(esm)) {
  process.stderr.write('wattprint: not built yet: run `npm run build` (npm ci does it for you)\n');
  process.exit(2);
}
if (LONG_RUNNING.includes(command)) {
  import(require('node:url').pathToFileURL(esm).href).catch((err) => {
    process.stderr.write(`wattprint: internal error: ${err && err.message} (please report it)\n`);
    process.exit(1);
  });
} else {
  require(cjs);
}
