import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoFile } from './nvml-stub.js';

/** OneShot is a command timed from spawn to exit, as a user's shell would see it. */
export interface OneShot {
  label: string;
  args: string[];
  env?: Record<string, string>;
  /** Target wall time, ms. */
  targetMs: number;
}

/** OneShotRun is one timed run: wall ms, peak RSS (MiB, from wait4's ru_maxrss), stdout bytes. */
export interface OneShotRun {
  wallMs: number;
  maxRssMb: number;
  stdoutBytes: number;
}

/**
 * timeOneShot runs `bin/wattprint.cjs ARGS` (the bin, with its V8 flags) to completion. Peak RSS comes from
 * /usr/bin/time when installed (GNU time's %M), else it is NaN.
 */
export function timeOneShot(cmd: OneShot, useTime: boolean): Promise<OneShotRun> {
  const bin = repoFile(join('bin', 'wattprint.cjs'));
  const file = useTime ? '/usr/bin/time' : bin;
  const args = useTime ? ['-f', '%M', bin, ...cmd.args] : cmd.args;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdoutBytes = 0;
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdoutBytes += d.length));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`wattprint ${cmd.args.join(' ')} exited ${code}: ${stderr.trim().slice(-400)}`));
      const kb = useTime ? Number(/(\d+)\s*$/.exec(stderr)?.[1]) : NaN;
      resolve({ wallMs, maxRssMb: kb / 1024, stdoutBytes });
    });
  });
}
