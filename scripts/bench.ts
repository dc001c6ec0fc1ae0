// Each part is imported when it runs, so the memory figures of the month are not inflated by modules
// (koffi, the live server, the load generators) that only later parts load.

/**
 * `npm run bench`: the figures the README records. Targets: ≤ 0.25 ms CPU per tick with 10
 * devices at 1 Hz, everything included; report of a 30-day 8-device run ≤ 200 ms; ≤ 1 MB per device-day;
 * agent RSS ≤ 80 MB and flat. BENCH_DAYS sets how many days run through the real tracker (default 2).
 */
async function main(): Promise<void> {
  const days = Number(process.env.BENCH_DAYS ?? 2);
  const { benchMonth } = await import('./bench-month.js');
  const month = await benchMonth(8, days, 30);
  line(`storage: ${days} simulated days at 1 Hz, 8 devices, through the real tracker`,
    `${(month.dbBytesPerDeviceDay / 1024).toFixed(1)} KiB per device-day (target ≤ 1024); ${Math.round(month.ticksPerSecondSimulated)} ticks/s`);
  line('memory: RSS of the tracking process at the end of each simulated day (after a GC)', `${month.rssMbByDay.join(', ')} MiB (target ≤ 80, flat)`);
  line('memory: V8 heap in use at the end of each simulated day (after a GC)', `${month.heapMbByDay.join(', ')} MiB`);
  line('report: 30-day 8-device run (per-minute rows for the whole month)', `${month.reportMs.toFixed(1)} ms (target ≤ 200); ${month.reportEnergyKwh.toFixed(1)} kWh`);
  const { benchCollectors, formatCollectorBench } = await import('./bench-collectors.js');
  process.stdout.write(formatCollectorBench(await benchCollectors(3000)));
  await live();
  const { benchTick } = await import('./bench-tick.js');
  for (const scrapeEvery of [1, 15]) {
    const tick = await benchTick(10, 3000, scrapeEvery);
    line(`tick: 10 sim devices, SQLite commit, snapshot, 1 WebSocket client, /metrics scraped every ${scrapeEvery === 1 ? 'tick (1 s)' : `${scrapeEvery} ticks (Prometheus default 15 s)`}`,
      `${tick.cpuMsPerTick.toFixed(3)} ms CPU/tick (target ≤ 0.25): user ${tick.userMsPerTick.toFixed(3)} + system ${tick.systemMsPerTick.toFixed(3)}; wall p50 ${tick.wallMsPerTickP50.toFixed(3)} ms, p99 ${tick.wallMsPerTickP99.toFixed(3)} ms`);
  }
}

async function live(): Promise<void> {
  const { benchLive, formatLiveBench } = await import('./bench-live.js');
  for (const l of formatLiveBench(await benchLive())) process.stdout.write(`${l}\n`);
}

function line(what: string, figure: string): void {
  process.stdout.write(`${what}\n    ${figure}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
