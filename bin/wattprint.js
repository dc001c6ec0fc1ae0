#!/usr/bin/env node
// Entry point: the compiled CLI (built by `npm ci` / `npm run build` through the `prepare` script).
import('../dist/agent/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('wattprint: not built yet: run `npm run build` (npm ci does it for you)\n');
    process.exit(2);
  }
  throw err;
});
