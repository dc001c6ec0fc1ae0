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
    await refused(labels(65), 'more than 64 labels: keep the ones you will filter on');
    await refused(['--label', `${'k'.repeat(101)}=v`], 'has 101 characters: at most 100');
    await refused(['--label', `team=${'v'.repeat(257)}`], "label 'team' has a value of 257 characters: at most 256");
    const ok = await runCli(['run', ...common, '--no-listen', '--quiet', ...labels(63), '--label', `${'k'.repeat(100)}=${'é'.repeat(256)}`, '--', node, '-e', '']);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
  });
});

describe('tokens: --token-file and WATTPRINT_TOKEN for run and agent', () => {
  /** A job that asks its tracker for /api/snapshot with each bearer token given ('-' for none). */
  const TOKEN_PROBE = `
const url = process.env.WATTPRINT_URL;
(async () => {
  const out = [];
  for (const t of process.argv.slice(1)) {
    const res = await fetch(url + '/api/snapshot', t === '-' ? {} : { headers: { authorization: 'Bearer ' + t } });
    out.push(res.status);
  }
  console.log(out.join(','));
})();
`;
  const job = (...tokens: string[]) => ['--listen', '127.0.0.1:0', '--', node, '-e', TOKEN_PROBE, ...tokens];
  const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...extra });

  it('reads the token from the first line of --token-file, trimmed, and prints no warning', async () => {
    writeTree(dir, { 'token.txt': '  s3cret-from-file \r\nsecond line is not the token\n' });
    const r = await runCli(['run', ...common, '--token-file', join(dir, 'token.txt'), '--run-id', 'token-file', '--quiet',
      ...job('s3cret-from-file', '-', 'second line is not the token')], env());
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '200,401,401\n', '']);
  });

  it('takes WATTPRINT_TOKEN and WATTPRINT_TOKEN_FILE from the environment without a warning', async () => {
    const a = await runCli(['run', ...common, '--run-id', 'token-env', ...job('env-token', '-')], env({ WATTPRINT_TOKEN: 'env-token' }));
    expect([a.code, a.stdout]).toEqual([0, '200,401\n']);
    expect(a.stderr).not.toContain('warning');
    writeTree(dir, { 'token2.txt': 'file-token\n' });
    const b = await runCli(['run', ...common, '--run-id', 'token-env-file', '--quiet', ...job('file-token', '-')], env({ WATTPRINT_TOKEN_FILE: join(dir, 'token2.txt') }));
    expect([b.code, b.stdout, b.stderr]).toEqual([0, '200,401\n', '']);
  });

  it('still takes --token T from argv, with one warning line that ps shows it', async () => {
    const r = await runCli(['run', ...common, '--token', 'argv-token', '--run-id', 'token-argv', ...job('argv-token')], env());
    expect([r.code, r.stdout]).toEqual([0, '200\n']);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual(['wattprint: warning: --token is visible to every user of this machine in `ps`; pass --token-file PATH or set WATTPRINT_TOKEN instead']);
  });

  it('refuses an unreadable or empty token file, and two tokens at once, in one line, exit 2, before the job starts', async () => {
    writeTree(dir, { 'empty-token.txt': '\nsecret on line 2\n' });
    const cases: [string[], string][] = [
      [['--token-file', join(dir, 'nope.txt')], `wattprint: cannot read --token-file ${join(dir, 'nope.txt')}: no such file; give a file holding the token on its first line\n`],
      [['--token-file', dir], `wattprint: cannot read --token-file ${dir}: it is a folder; give a file holding the token on its first line\n`],
      [['--token-file', join(dir, 'empty-token.txt')], `wattprint: --token-file ${join(dir, 'empty-token.txt')} has no token on its first line: write the token there\n`],
      [['--token', 'a', '--token-file', join(dir, 'empty-token.txt')], 'wattprint: both a token and a token file are given: keep --token-file PATH (or WATTPRINT_TOKEN) and drop the other\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCli(['run', ...common, '--no-listen', ...args, '--', node, '-e', 'console.log("job ran")'], env());
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', stderr]);
    }
    const agent = await runCli(['agent', ...common, '--no-listen', '--token-file', join(dir, 'nope.txt')], env());
    expect([agent.code, agent.stderr.trim().split('\n').length]).toEqual([2, 1]);
  });
});
