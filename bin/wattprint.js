#!/usr/bin/env -S node --max-semi-space-size=2
// The entry point is bin/wattprint.cjs (package.json "bin"). This file stays for what still points here: a
// checkout's npx cache made before the entry moved links `wattprint` to bin/wattprint.js and is not refreshed.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./wattprint.cjs');
