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

describe('bounds on --interval and --label', () => {
  const refused = async (extra: string[], message: string, env?: NodeJS.ProcessEnv) => {
    const r = await runCli(['run', ...common, '--no-listen', ...extra, '--', node, '-e', ''], env);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr.split('\n')).toEqual([expect.stringContaining(message), '']);
    expect(r.stderr).not.toMatch(/internal error|TimeoutOverflowWarning|\bat .*\.js:\d+/);
  };

  it('refuses an interval outside [0.05, 3600] s from a flag, the environment or a config file, in one line, exit 2', async () => {
    await refused(['--interval', '1e9'], "--interval must be a number of seconds from 0.05 to 3600, got '1e9'");
    await refused(['--interval', '1e-9'], "--interval must be a number of seconds from 0.05 to 3600, got '1e-9'");
    await refused(['--interval', '0.049'], "got '0.049'");
    await refused(['--interval', '3601'], "got '3601'");
    const withoutInterval = common.filter((a, i) => a !== '--interval' && common[i - 1] !== '--interval');
    const r = await runCli(['run', ...withoutInterval, '--no-listen', '--', node, '-e', ''], { ...process.env, PATH: process.env.PATH, WATTPRINT_INTERVAL: '0' });
    expect([r.code, r.stderr.trim().split('\n').length]).toEqual([2, 1]);
    writeTree(dir, { 'interval.json': '{"interval": 100000}' });
    const c = await runCli(['run', ...withoutInterval, '--no-listen', '--config', join(dir, 'interval.json'), '--', node, '-e', '']);
    expect([c.code, c.stderr]).toEqual([2, "wattprint: config file " + join(dir, 'interval.json') +
      ": 'interval': --interval must be a number of seconds from 0.05 to 3600, got '100000'.\n"]);
  });

  it('accepts the bounds themselves', async () => {
    for (const interval of ['0.05', '3600']) {
      const r = await runCli(['run', ...common, '--interval', interval, '--no-listen', '--quiet', '--', node, '-e', 'setTimeout(() => {}, 200)']);
      expect([interval, r.code, r.stderr]).toEqual([interval, 0, '']);
    }
  });

  it('refuses more than 64 labels, a key over 100 and a value over 256 characters, in one line, exit 2', async () => {
    const labels = (n: number) => Array.from({ length: n }, (_, i) => ['--label', `k${i}=v`]).flat();
    await refused(labels(65), 'more than 64 labels: keep the ones you will filter on.');
    await refused(['--label', `${'k'.repeat(101)}=v`], 'has 101 characters: at most 100.');
    await refused(['--label', `team=${'v'.repeat(257)}`], "label 'team' has a value of 257 characters: at most 256.");
    const ok = await runCli(['run', ...common, '--no-listen', '--quiet', ...labels(63), '--label', `${'k'.repeat(100)}=${'é'.repeat(256)}`, '--', node, '-e', '']);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
  });
});
