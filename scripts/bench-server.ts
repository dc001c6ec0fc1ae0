import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { procCpu, rssMbOf, type ProcCpu } from './bench-proc.js';

/**
 * PROMETHEUS_ACCEPT is the Accept header Prometheus 2.x sends on a scrape; with `Accept-Encoding: gzip` it
 * makes each exporter answer as it answers Prometheus (node_exporter compresses, wattprint does not).
 */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** ServerMeasurement is a served process's cost over a measured window. */
export interface ServerMeasurement {
  seconds: number;
  /** CPU of the process over the window (all threads), ms: /proc/PID/stat and schedstat. */
  cpu: ProcCpu;
  /** CPU of the process from its start to the end of the warm-up (start-up, JIT compilation, first GCs), ms. */
  warmupCpu: ProcCpu;
  warmupSeconds: number;
  rssStartMb: number;
  rssEndMb: number;
  scrapes: number;
  scrapeErrors: number;
  bodyBytes: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Scraper GETs /metrics every `everySeconds` over one keep-alive connection, with Prometheus's headers, and
 * reads each body whole. Its own CPU is this process's, not the measured one's.
 */
export class Scraper {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private timer?: NodeJS.Timeout;
  scrapes = 0;
  errors = 0;
  bodyBytes = 0;

  constructor(private readonly url: string, private readonly everySeconds: number) {}

  start(): void {
    const tick = (): void => {
      this.scrapeOnce().then(() => this.scrapes++, () => this.errors++);
    };
    tick();
    this.timer = setInterval(tick, this.everySeconds * 1000);
  }

  scrapeOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.url}/metrics`, {
        agent: this.agent, headers: { Accept: PROMETHEUS_ACCEPT, 'Accept-Encoding': 'gzip', 'User-Agent': 'Prometheus/2.42.0' },
      }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => {
          this.bodyBytes = bytes;
          if (res.statusCode === 200) resolve();
          else reject(new Error(`HTTP ${res.statusCode}`));
        });
        res.on('error', reject);
      });
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.agent.destroy();
  }
}

/**
 * measureServer warms a started server up for `warmupSeconds` (scraped already, when scraped), then measures
 * `seconds` of its CPU and memory; `scrapeEverySeconds` undefined is an idle server that nobody scrapes.
 */
export async function measureServer(pid: number, url: string, opts: { seconds: number; warmupSeconds: number; scrapeEverySeconds?: number }): Promise<ServerMeasurement> {
  const scraper = opts.scrapeEverySeconds !== undefined ? new Scraper(url, opts.scrapeEverySeconds) : undefined;
  scraper?.start();
  try {
    await sleep(opts.warmupSeconds * 1000);
    const cpu0 = procCpu(pid);
    const rssStartMb = rssMbOf(pid);
    const t0 = performance.now();
    const scrapes0 = scraper?.scrapes ?? 0;
    await sleep(opts.seconds * 1000);
    const cpu1 = procCpu(pid);
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds, cpu: { statMs: cpu1.statMs - cpu0.statMs, schedMs: cpu1.schedMs - cpu0.schedMs }, warmupCpu: cpu0, warmupSeconds: opts.warmupSeconds,
      rssStartMb, rssEndMb: rssMbOf(pid),
      scrapes: (scraper?.scrapes ?? 0) - scrapes0, scrapeErrors: scraper?.errors ?? 0, bodyBytes: scraper?.bodyBytes ?? 0,
    };
  } finally {
    scraper?.stop();
  }
}

/** waitForOutput resolves with the first match of pattern in the child's stderr+stdout, or rejects at the deadline. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${text.trim().slice(-500)}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      text += d;
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before ${pattern}: ${text.trim().slice(-500)}`));
    });
  });
}

/** stopChild sends SIGTERM, waits up to 10 s, then SIGKILLs; resolves with the exit code. */
export async function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** spawnQuiet starts a process with piped output that is drained (so it never blocks on a full pipe). */
export function spawnQuiet(file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}
