import { join } from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, startCli, tempDir, waitFor, writeTree } from '../helpers/cli.js';

let dir: string;
let common: string[];
beforeAll(() => {
  dir = tempDir('e2e-run');
  // An empty sysfs (no DMI, no GPUs, no RAPL) keeps the test independent of the machine it runs on.
  writeTree(dir, { 'sys/class/.keep': '' });
  common = ['--db', join(dir, 'w.db'), '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--intensity', '400', '--pue', '1.1'];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = process.execPath;

describe('wattprint run', () => {
  it('runs a real child, passes its exit code through and prints the report to stderr', async () => {
    const r = await runCli(['run', ...common, '--run-id', 'exit3', '--', node, '-e', 'let x=0; const t=Date.now(); while (Date.now()-t < 700) x++; console.log("child says hi"); process.exit(3)']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('child says hi\n');
    expect(r.stderr).toContain('exit3');
    expect(r.stderr).toMatch(/kWh/);
    const db = new Database(join(dir, 'w.db'), { readonly: true });
    const run = db.prepare("SELECT status, exit_code, command FROM runs WHERE run_id = 'exit3'").get() as Record<string, unknown>;
    db.close();
    expect(run).toMatchObject({ status: 'ended', exit_code: 3 });
    expect(String(run.command)).toContain('-e');
  });

  it('forwards SIGTERM to the child and exits 128+15 when the signal kills it', async () => {
    const child = startCli(['run', ...common, '--run-id', 'sigterm', '--', node, '-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('ready'), 15_000, 'child start');
    child.kill('SIGTERM');
    const r = await child.result;
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('sigterm');
  });

  it('lets the child handle a forwarded SIGINT and returns its own exit code', async () => {
    const script = 'process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(7); }); console.log("ready"); setInterval(() => {}, 1000)';
    const child = startCli(['run', ...common, '--run-id', 'sigint', '--', node, '-e', script]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor(() => out.includes('ready'), 15_000, 'child start');
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.code).toBe(7);
    expect(out).toContain('got SIGINT');
  });

  it('exits 128+9 when the child is killed by SIGKILL', async () => {
    const r = await runCli(['run', ...common, '--run-id', 'killed', '--', node, '-e', 'setTimeout(() => process.kill(process.pid, "SIGKILL"), 300)']);
    expect(r.code).toBe(137);
  });

  it('refuses a command that does not exist with one line and exit 127, creating no run', async () => {
    const r = await runCli(['run', ...common, '--run-id', 'nope', '--', 'no-such-command-xyz']);
    expect(r.code).toBe(127);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("command not found: 'no-such-command-xyz'");
    const db = new Database(join(dir, 'w.db'), { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM runs WHERE run_id = 'nope'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('answers bad input with one line on stderr, exit 2, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['run', '--interval', 'abc', '--', 'true'], /--interval must be a number of seconds from 0.05 to 3600, got 'abc'/],
      [['run', '--frobnicate', '--', 'true'], /unknown option '--frobnicate'/],
      // common sets --intensity: the zone case goes without it (both together is its own error, option-conflicts.test.ts).
      [['run', ...common.filter((x, i, all) => x !== '--intensity' && all[i - 1] !== '--intensity'), '--zone', 'DEE', '--', 'true'], /unknown zone 'DEE': did you mean/],
      [['run', ...common, '--collectors', 'gpu-magic', '--', 'true'], /unknown collector 'gpu-magic'/],
      [['run', ...common, '--db', join(dir, 'no-such-dir', 'w.db'), '--', 'true'], /cannot open database .*no-such-dir.*does not exist/],
      [['run', ...common, '--db', join(dir, 'sys'), '--', 'true'], /cannot open database .*sys: .*--db/],
      [['report', '--db', join(dir, 'w.db'), 'no-such-run'], /unknown run 'no-such-run': `wattprint runs` lists/],
      [['report', '--db', join(dir, 'missing.db')], /no wattprint database at/],
      [['estimate', '--accelerators', '8', '--watts', '300'], /exactly one of --hours H or --days D/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help')).length, args.join(' ')).toBe(1);
    }
  });

  it('refuses a port in use with one line naming the fix', async () => {
    const first = startCli(['agent', ...common.filter((a) => a !== '--no-listen'), '--run-id', 'port-a', '--listen', '127.0.0.1:0']);
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const r = await runCli(['run', ...common.filter((a) => a !== '--no-listen'), '--run-id', 'port-b', '--listen', `127.0.0.1:${port}`, '--', 'true']);
    blocker.close();
    first.kill('SIGTERM');
    await first.result;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${port}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('wattprint run with progress', () => {
  it('projects the totals at completion from the job\'s progress when it stops early', async () => {
    // The job reports 25% done, then ends: the report projects 4x its energy and CO2e.
    const script = `(async () => {
      const r = await fetch(process.env.WATTPRINT_URL + '/api/progress', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ step: 25, totalSteps: 100 }) });
      console.log('progress', r.status);
      const t = Date.now(); while (Date.now() - t < 600) {}
    })()`;
    const listen = ['--listen', '127.0.0.1:0'];
    const args = ['run', ...common.filter((a) => a !== '--no-listen'), ...listen, '--run-id', 'early', '--report-file', join(dir, 'early.json'), '--', node, '-e', script];
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('progress 200');
    const { readFileSync } = await import('node:fs');
    const report = JSON.parse(readFileSync(join(dir, 'early.json'), 'utf8'));
    expect(report.projected).toMatchObject({ fraction: 0.25, source: 'POST /api/progress steps' });
    expect(report.projected.itKwh).toBeCloseTo(report.energy.itKwh * 4, 12);
    expect(report.projected.co2eLocationKg).toBeCloseTo(report.co2e.locationKg * 4, 12);
    expect(r.stderr).toContain('Projected at completion');
  });
});

describe('one tracker per run', () => {
  it('never lets two live trackers write one run: an explicit id is refused, a scheduler id gets its own', async () => {
    const env = baseEnv({ SLURM_JOB_ID: '4242' });
    const agent = startCli(['agent', ...common, '--quiet'], env);
    const db = join(dir, 'w.db');
    await waitFor(() => {
      try {
        const d = new Database(db, { readonly: true });
        const row = d.prepare("SELECT owner_pid FROM runs WHERE run_id = 'slurm-4242' AND status = 'running'").get();
        d.close();
        return row;
      } catch { return undefined; }
    }, 15_000, 'node agent running');
    const explicit = await runCli(['run', ...common, '--run-id', 'slurm-4242', '--', 'true'], env);
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toMatch(/run 'slurm-4242' is being tracked by process \d+ on this host/);
    const implicit = await runCli(['run', ...common, '--', 'true'], env);
    expect(implicit.code).toBe(0);
    expect(implicit.stderr).toMatch(/run slurm-4242 is tracked by process \d+ on this host; tracking this command as slurm-4242\.\d+/);
    agent.kill('SIGTERM');
    expect((await agent.result).code).toBe(0);
  });
});

describe('checks before the job starts', () => {
  it('refuses an unwritable --report-file and a bad switch in the environment before running the command', async () => {
    const marker = join(dir, 'ran.txt');
    const job = ['--', node, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`];
    const badFile = await runCli(['run', ...common, '--report-file', join(dir, 'missing', 'r.json'), ...job]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/cannot write --report-file .*missing.*folder .* does not exist/);
    const badSwitch = await runCli(['run', ...common, ...job], baseEnv({ WATTPRINT_QUIET: 'maybe' }));
    expect(badSwitch.code).toBe(2);
    expect(badSwitch.stderr).toBe("wattprint: WATTPRINT_QUIET='maybe' is not a switch: use 1/true/yes to turn it on, 0/false/no to turn it off\n");
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
    const offSwitch = await runCli(['run', ...common, ...job], baseEnv({ WATTPRINT_QUIET: 'false' }));
    expect(offSwitch.code).toBe(0);
    expect(offSwitch.stderr).toContain('wattprint report');
    const onSwitch = await runCli(['run', ...common, '--', 'true'], baseEnv({ WATTPRINT_QUIET: '1' }));
    expect(onSwitch.stderr).toBe('');
  });
});
