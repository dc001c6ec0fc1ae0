import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CLI, runCli, tempDir, writeTree, type CliResult } from '../helpers/cli.js';

// `report` and `runs` only read, so a database the user may only read must do: a file of mode 0444 in a
// folder of mode 0555 (WAL mode cannot create its -shm file there), and a 0444 file in a writable folder.
// Tests run as root, for whom the kernel ignores modes: the CLI then runs as nobody (uid 65534) via setpriv.

const isRoot = process.getuid?.() === 0;
const canDrop = !isRoot || existsSync('/usr/bin/setpriv');
if (!canDrop) console.warn('skipping read-only database tests: running as root without setpriv');

/** asReader runs the built CLI as a user who may only read the database (nobody, when the test runs as root). */
function asReader(args: string[]): Promise<CliResult> {
  const [cmd, argv] = isRoot
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(cmd, argv, { env: baseEnv({ HOME: '/nonexistent' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

let dir: string;
let reference: string;
const roFolderDb = () => join(dir, 'ro-folder', 'w.db');
const roFileDb = () => join(dir, 'ro-file', 'w.db');

beforeAll(async () => {
  dir = tempDir('e2e-readonly');
  writeTree(dir, { 'sys/class/.keep': '' });
  const db = join(dir, 'rw', 'w.db');
  mkdirSync(join(dir, 'rw'));
  const r = await runCli(['run', '--db', db, '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--quiet',
    '--intensity', '400', '--pue', '1.1', '--run-id', 'ro-run', '--', process.execPath, '-e', 'setTimeout(() => {}, 600)']);
  expect([r.code, r.stderr]).toEqual([0, '']);
  reference = (await runCli(['report', 'ro-run', '--db', db, '--format', 'json'])).stdout;
  for (const [folder, folderMode] of [['ro-folder', 0o555], ['ro-file', 0o1777]] as const) {
    mkdirSync(join(dir, folder));
    copyFileSync(db, join(dir, folder, 'w.db'));
    chmodSync(join(dir, folder, 'w.db'), 0o444);
    chmodSync(join(dir, folder), folderMode);
  }
  chmodSync(dir, 0o755);
}, 60_000);
afterAll(() => {
  chmodSync(join(dir, 'ro-folder'), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!canDrop)('report and runs on a database the user can only read', () => {
  for (const [what, path] of [['a 0444 file in a 0555 folder', roFolderDb], ['a 0444 file in a writable folder', roFileDb]] as const) {
    it(`report reads ${what}: the same report as its owner gets`, async () => {
      const r = await asReader(['report', 'ro-run', '--db', path(), '--format', 'json']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(reference));
    });

    it(`runs lists ${what}`, async () => {
      const r = await asReader(['runs', '--db', path(), '--json']);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect((JSON.parse(r.stdout) as { runId: string }[]).map((x) => x.runId)).toEqual(['ro-run']);
    });
  }

  it('report --restate on it says in one line that restating writes, exit 2, and changes nothing', async () => {
    const before = readFileSync(roFolderDb());
    for (const path of [roFolderDb(), roFileDb()]) {
      const r = await asReader(['report', 'ro-run', '--db', path, '--restate', '--intensity', '100']);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `wattprint: cannot restate: database ${path} is read-only to you, and --restate ` +
        'stores the new figures in it; run it with write access, or leave out --restate to read the run as it is\n']);
    }
    expect(readFileSync(roFolderDb()).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'ro-folder'))).toEqual(['w.db']);
  });

  it('leaves no private copy behind in the temp folder', async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('wattprint-ro-')).length;
    await asReader(['report', 'ro-run', '--db', roFolderDb()]);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('wattprint-ro-')).length).toBe(before);
  });
});
