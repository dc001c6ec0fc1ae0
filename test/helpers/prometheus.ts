import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Real Prometheus and Pushgateway servers for tests, on 127.0.0.1 only, with temp config and storage.
 * Binaries come from the Debian packages `prometheus` and `prometheus-pushgateway`; override with
 * PROMETHEUS_BIN / PUSHGATEWAY_BIN. Use findBinary() to skip a suite when one is absent.
 */

/** PromSample is one series of an instant-query result. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
  /** Sample time, Unix seconds. */
  timestamp: number;
}

/** RunningPrometheus is a started server. */
export interface RunningPrometheus {
  url: string;
  /** query runs an instant query and returns its vector (scalars come back as one sample with no labels). */
  query(expr: string): Promise<PromSample[]>;
  /** waitFor polls query(expr) until `ok` holds, or throws with the last result after timeoutMs. */
  waitFor(expr: string, ok: (r: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  stop(): Promise<void>;
}

/** PROMETHEUS_BIN / PUSHGATEWAY_BIN defaults: the Debian package names. */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? 'prometheus';
export const PUSHGATEWAY_BIN = process.env.PUSHGATEWAY_BIN ?? 'prometheus-pushgateway';

/** findBinary resolves a command on PATH (or an absolute path), undefined when it is not installed. */
export function findBinary(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}

/** freePort asks the kernel for an unused loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** hostPort turns 'http://127.0.0.1:9477' or '127.0.0.1:9477' into '127.0.0.1:9477'. */
function hostPort(target: string): string {
  return target.includes('://') ? new URL(target).host : target;
}

/** startPrometheus scrapes `targets` (loopback host:port or URLs) every scrapeIntervalSeconds. */
export async function startPrometheus(opts: {
  targets: string[]; scrapeIntervalSeconds?: number; bearerToken?: string; binary?: string;
  /** Rule files (recording and alerting rules) to load, evaluated every scrape interval. */
  ruleFiles?: string[];
  /** A whole prometheus.yml to use instead of the generated one, with files beside it (rules, token files). */
  config?: string; files?: Record<string, string>;
}): Promise<RunningPrometheus> {
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-prom-'));
  const targets = opts.targets.map((t) => `'${hostPort(t)}'`).join(', ');
  const auth = opts.bearerToken ? `    authorization:\n      credentials: '${opts.bearerToken}'\n` : '';
  const rules = (opts.ruleFiles ?? []).map((file, i) => {
    const copy = join(dir, `rules-${i}.yml`);
    copyFileSync(file, copy);
    return `  - '${copy}'\n`;
  });
  writeFileSync(join(dir, 'prometheus.yml'), opts.config ??
    `global:\n  scrape_interval: ${interval}\n  evaluation_interval: ${interval}\n` +
    (rules.length ? `rule_files:\n${rules.join('')}` : '') +
    `scrape_configs:\n  - job_name: wattprint\n    scrape_interval: ${interval}\n    scrape_timeout: ${interval}\n` +
    `${auth}    static_configs:\n      - targets: [${targets}]\n`);
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const child = spawn(opts.binary ?? PROMETHEUS_BIN, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  const server = await whenReady(child, url, dir);
  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`prometheus query ${expr} failed: ${body.error}`);
    if (body.data.resultType === 'scalar') {
      const [ts, v] = body.data.result as [number, string];
      return [{ metric: {}, value: Number(v), timestamp: ts }];
    }
    return (body.data.result as { metric: Record<string, string>; value: [number, string] }[])
      .map((r) => ({ metric: r.metric, value: Number(r.value[1]), timestamp: r.value[0] }));
  };
  const waitFor = async (expr: string, ok: (r: PromSample[]) => boolean, timeoutMs = 15_000): Promise<PromSample[]> => {
    const deadline = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    while (Date.now() < deadline) {
      last = await query(expr);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`prometheus: ${expr} did not reach the expected value in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  };
  return { url, query, waitFor, stop: server.stop };
}

/** startPushgateway runs a Pushgateway on a free loopback port without persistence. */
export async function startPushgateway(opts: { binary?: string } = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-pushgw-'));
  const port = await freePort();
  const child = spawn(opts.binary ?? PUSHGATEWAY_BIN, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--persistence.file='], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  const server = await whenReady(child, url, dir);
  return { url, stop: server.stop };
}

/** whenReady polls /-/ready (both servers have it) and gives back a stop() that kills and cleans up. */
async function whenReady(child: ChildProcess, url: string, dir: string): Promise<{ stop(): Promise<void> }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => { spawnError = err; });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null) {
      await stop();
      throw new Error(`${String(child.spawnfile)} exited before ready: ${spawnError?.message ?? stderr.trim()}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${String(child.spawnfile)} not ready at ${url} within 20 s: ${stderr.trim()}`);
}
