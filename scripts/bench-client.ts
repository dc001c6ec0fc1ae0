import { request } from 'node:http';
import { Agent } from 'node:http';
import WebSocket from 'ws';

/**
 * The bench's client, in its own process so its CPU is not the agent's: it keeps one WebSocket open and, for
 * every tick message, scrapes /metrics once (keep-alive) and then prints "ack" so the bench can tick again.
 */
const base = process.argv[2]!;
/** Scrape on every Nth tick (1: Prometheus at a 1 s interval; 15: its default 15 s at 1 Hz). */
const scrapeEvery = Number(process.argv[3] ?? 1);
let ticks = 0;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);

function scrape(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${process.env.BENCH_PATH ?? '/metrics'}`, { agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

ws.on('open', () => process.stdout.write('ready\n'));
ws.on('message', async (data) => {
  if (!String(data).startsWith('{"type":"tick"')) return;
  if (++ticks % scrapeEvery === 0) await scrape();
  process.stdout.write('ack\n');
});
ws.on('close', () => process.exit(0));
