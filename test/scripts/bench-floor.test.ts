// The bench's floor process (scripts/bench-floor.ts) must do what the README says it does: each tick reads every
// stub GPU's energy counter and power, every RAPL energy_uj, and commits one SQLite UPDATE — a real process, on the
// same stub NVML library and fake RAPL tree as the benchmarked agents.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchFixture } from '../../scripts/bench-fixture.js';
import { repoFile } from '../../scripts/nvml-stub.js';

const script = repoFile(join('dist', 'scripts', 'bench-floor.js'));

describe('bench floor process', () => {
  const fixture = new BenchFixture();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  const start = (args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH, NVML_LIBRARY: fixture.libraryPath, SYSFS: fixture.sysfsRoot, NVML_STUB_SCRIPT: fixture.gpuScript(2) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    return { child, output: () => text, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  };

  const until = async (what: () => boolean, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('commits a state blob every tick with the GPUs\' counters and the RAPL counters in it', async () => {
    const { child, output } = start(['io', '2', '10', fixture.dir]);
    await until(() => output().includes('ready'), 20_000);
    const dbDir = readdirSync(fixture.dir).find((n) => n.startsWith('floor-'))!;
    const db = new Database(join(fixture.dir, dbDir, 'floor.db'), { readonly: true });
    try {
      const read = () => db.prepare('SELECT last_tick_ms, state_blob FROM runs').get() as { last_tick_ms: number; state_blob: Buffer };
      const first = read();
      await until(() => read().last_tick_ms > first.last_tick_ms, 5_000);
      const row = read();
      const state = new Float64Array(row.state_blob.buffer.slice(row.state_blob.byteOffset, row.state_blob.byteOffset + row.state_blob.byteLength));
      // Two GPUs (energy mJ, power mW each), then the tree's four energy_uj files, then the tick's time.
      expect(state[1]).toBeGreaterThanOrEqual(300_000);
      expect(state[0]).toBeGreaterThan(0);
      expect(state.slice(4, 8).every((uj) => uj > 0)).toBe(true);
      expect(state[8]).toBeCloseTo(row.last_tick_ms, -3);
    } finally {
      db.close();
      child.kill('SIGTERM');
    }
  });

  it('refuses an unknown mode with a usage line and exit code 2', async () => {
    const { output, exited } = start(['fast', '1', '1', fixture.dir]);
    expect(await exited).toBe(2);
    expect(output()).toBe('usage: bench-floor.js io|idle <gpus> <hz> <dir>\n');
  });
});
