import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeTree } from '../helpers/cli.js';

// Hardening through the built CLI: options reach the server, bad values are one line and exit 2.
let dir: string;
let common: string[];
beforeAll(() => {
  dir = tempDir('e2e-hardening');
  writeTree(dir, { 'sys/class/.keep': '' });
  common = ['--db', join(dir, 'w.db'), '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--intensity', '400', '--pue', '1.1'];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = process.execPath;

/** A job that asks its own tracker for /api/snapshot under each Host given and prints the status codes. */
const HOST_PROBE = `
const http = require('node:http');
const url = new URL(process.env.WATTPRINT_URL);
const ask = (host) => new Promise((resolve) => {
  const req = http.request({ host: url.hostname, port: url.port, path: '/api/snapshot', headers: { host: host.replace('PORT', url.port) }, setHost: false },
    (res) => { res.resume(); resolve(res.statusCode); });
  req.on('error', () => resolve(0));
  req.end();
});
(async () => { const out = []; for (const h of process.argv.slice(1)) out.push(await ask(h)); console.log(out.join(',')); })();
`;

describe('--allowed-host', () => {
  it('reaches the live server: its names are served, a foreign Host gets 403', async () => {
    const r = await runCli(['run', ...common, '--listen', '127.0.0.1:0', '--allowed-host', 'wattprint.lab', '--allowed-host', 'proxy.lab:8080',
      '--run-id', 'allowed-host', '--quiet', '--', node, '-e', HOST_PROBE, 'wattprint.lab:PORT', 'proxy.lab:8080', 'localhost:PORT', 'evil.example:PORT']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '200,200,200,403\n', '']);
  });

  it('refuses a malformed name in one line, exit 2', async () => {
    const r = await runCli(['run', ...common, '--allowed-host', 'http://x/', '--', node, '-e', '']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("--allowed-host takes a host name such as wattprint.example or wattprint.example:8080, got 'http://x/'");
  });
});
