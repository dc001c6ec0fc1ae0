import WebSocket from 'ws';
import { startCli, waitFor, type CliResult } from '../helpers/cli.js';

/** TickRecord is one total the agent published on its /ws feed (the same snapshot /metrics serves). */
export interface TickRecord {
  tick: number;
  /** Tick wall time, Unix seconds. */
  atSeconds: number;
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  co2eLocationGrams: number;
}

/** LiveAgent is a running `wattprint agent` with its feed recorded from the first snapshot on. */
export interface LiveAgent {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every published total, oldest first; after stop() the last one is the run's final tick. */
  ticks: TickRecord[];
  /** stop sends SIGTERM and waits for the agent to exit and its feed to close. */
  stop(): Promise<CliResult>;
}

/**
 * startLiveAgent starts `wattprint agent ARGS --listen 127.0.0.1:0` and records its /ws feed. The feed is
 * the agent's own per-tick record: Prometheus can only ever hold values from it, and its final tick is
 * what the agent stores as the run's totals.
 */
export async function startLiveAgent(args: string[]): Promise<LiveAgent> {
  const child = startCli([...args, '--listen', '127.0.0.1:0']);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await waitFor(() => /live at (http:\/\/[^/\s]+)\//.exec(stderr)?.[1], 20_000, `listen line (stderr: ${stderr})`)
    .catch((err: Error) => { child.kill('SIGKILL'); throw err; });
  const ticks: TickRecord[] = [];
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as Record<string, unknown>;
    const s = (msg.type === 'snapshot' ? msg.snapshot : msg.type === 'tick' ? msg : undefined) as Record<string, unknown> | undefined;
    if (!s) return;
    const record: TickRecord = {
      tick: s.tick as number, atSeconds: Date.parse(s.at as string) / 1000, itEnergyJoules: s.itEnergyJoules as number,
      facilityEnergyJoules: s.facilityEnergyJoules as number, co2eLocationGrams: (s.co2eGrams as { location: number }).location,
    };
    // The final snapshot is published twice (last tick, then again at run end): keep one record per tick.
    if (ticks.at(-1)?.tick === record.tick) ticks[ticks.length - 1] = record;
    else ticks.push(record);
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  await waitFor(() => ticks.length > 0, 10_000, 'first snapshot on /ws');
  return {
    url, ticks,
    async stop() {
      child.kill('SIGTERM');
      const result = await child.result;
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      ws.terminate();
      return result;
    },
  };
}

/** sameValue is equality up to float summation order (a relative 1e-9). */
export function sameValue(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-12);
}

/** tickWith returns the index of the published tick whose `key` total equals value, or -1. */
export function tickWith(ticks: TickRecord[], key: 'itEnergyJoules' | 'facilityEnergyJoules' | 'co2eLocationGrams', value: number): number {
  return ticks.findIndex((t) => sameValue(t[key], value));
}

/** relativeError is |a − b| / |b|. */
export function relativeError(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}
