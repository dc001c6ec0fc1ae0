import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** REPO is the repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** CLI is the bin users run, which runs the bundled CLI (npm test builds it first): the end-to-end tests run what users run. */
export const CLI = join(REPO, 'bin', 'wattprint.cjs');

/** CliResult is a finished CLI process. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** baseEnv is a clean environment: no real job ids, no GPUs, loopback only. */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...extra };
  return env;
}

/** startCli starts `wattprint ARGS` and collects its output. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = baseEnv()): ChildProcess & { result: Promise<CliResult> } {
  if (!existsSync(join(REPO, 'dist', 'bundle', 'wattprint.cjs'))) throw new Error('the CLI is not built: run `npm run build` (npm test does it)');
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const result = new Promise<CliResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return Object.assign(child, { result });
}

/** runCli runs `wattprint ARGS` to completion. */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).result;
}

/** waitFor polls until check() returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** tempDir makes a temporary directory under test/.tmp or the OS temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wattprint-${prefix}-`));
}

/** writeTree writes files (path → content) under root. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}
