/**
 * SmiStream keeps ONE long-lived `nvidia-smi ... -lms N` child producing lines, restarting it with exponential
 * backoff when it exits, fails to start, or goes silent (a hung driver call must not freeze the readings).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** SmiStreamTiming sets the watchdog and backoff, in seconds. */
export interface SmiStreamTiming {
  /** silenceSeconds without a line before the child is killed and restarted. */
  silenceSeconds: number;
  /** startupSeconds a new child may take before its first line (nvidia-smi initialises every GPU first). */
  startupSeconds: number;
  /** backoffBaseSeconds is the first restart delay; it doubles per failure up to backoffMaxSeconds. */
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
}

/** SmiStream runs `command args` and hands each stdout line to onLine. */
export class SmiStream {
  /** restarts counts children started after the first. */
  restarts = 0;
  /** lastError is the latest reason the child stopped (stderr line, exit code, silence). */
  lastError?: string;
  private child?: ChildProcess;
  private started = 0;
  private failures = 0;
  private lastLineMs = 0;
  private lastCheckMs = 0;
  private gotLine = false;
  private restartTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly onLine: (line: string) => void,
    private readonly timing: SmiStreamTiming,
  ) {}

  /** start spawns the first child and the silence watchdog. */
  start(): void {
    const periodMs = Math.max(10, (this.timing.silenceSeconds * 1000) / 4);
    this.lastCheckMs = Date.now();
    this.watchdog = setInterval(() => this.checkSilence(periodMs), periodMs);
    this.watchdog.unref();
    this.spawnChild();
  }

  private spawnChild(): void {
    this.restartTimer = undefined;
    if (this.closed) return;
    if (this.started++ > 0) this.restarts++;
    this.lastLineMs = Date.now();
    this.gotLine = false;
    const child = spawn(this.command, this.args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.child !== child) return;
      this.lastLineMs = Date.now();
      this.gotLine = true;
      this.failures = 0;
      this.onLine(line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim() !== '') this.lastError = `nvidia-smi: ${line.trim()}`;
    });
    child.on('error', (err) => this.childDied(child, `cannot run ${this.command}: ${err.message}`));
    child.on('exit', (code, signal) => this.childDied(child, `nvidia-smi exited (${signal ?? `code ${code}`})`));
  }

  private checkSilence(periodMs: number): void {
    const now = Date.now();
    const stalled = now - this.lastCheckMs > 2 * periodMs;
    this.lastCheckMs = now;
    // If this process itself was stalled (event loop blocked), lines may be waiting unread in the pipe:
    // judge the child on the next check, not now.
    if (stalled) return;
    const child = this.child;
    const limitSeconds = this.gotLine ? this.timing.silenceSeconds : this.timing.startupSeconds;
    if (!child || now - this.lastLineMs <= limitSeconds * 1000) return;
    this.childDied(child, `nvidia-smi silent for ${limitSeconds} s, restarted`);
  }

  /** childDied abandons a child (killed, not awaited: a child stuck in the driver may never exit) and restarts. */
  private childDied(child: ChildProcess, reason: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (!this.lastError || !reason.startsWith('nvidia-smi exited')) this.lastError = reason;
    stop(child);
    if (this.closed) return;
    const delaySeconds = Math.min(this.timing.backoffBaseSeconds * 2 ** this.failures, this.timing.backoffMaxSeconds);
    this.failures++;
    this.restartTimer = setTimeout(() => this.spawnChild(), delaySeconds * 1000);
    this.restartTimer.unref();
  }

  /** close stops the child and every timer. */
  close(): void {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child) stop(child);
  }
}

function stop(child: ChildProcess): void {
  child.stdout?.destroy();
  child.stderr?.destroy();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child.unref();
}
