#!/usr/bin/env -S node --max-semi-space-size=2
// A 2 MB young generation keeps a long-running agent's resident memory ~40 MB lower at no measurable CPU cost
// (npm run bench); the agent allocates little per tick, so larger semi-spaces only hold garbage.
// Entry point: the CLI bundled into one CommonJS file (dist/bundle/wattprint.cjs, built by `npm ci` / `npm run
// build` through the `prepare` script; scripts/bundle.ts says why a bundle, and why CommonJS).
'use strict';
let bundle;
try {
  bundle = require.resolve('../dist/bundle/wattprint.cjs');
} catch {
  process.stderr.write('wattprint: not built yet: run `npm run build` (npm ci does it for you)\n');
  process.exit(2);
}
require(bundle);
