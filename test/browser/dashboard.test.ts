import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveServer, type LiveServer } from '../../src/exporters/http.js';
import type { Snapshot } from '../../src/snapshot.js';
import { sampleSnapshot } from '../exporters/snapshots.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping dashboard browser test: ${CHROMIUM} not found (apt-get install chromium)`);

const TMP = fileURLToPath(new URL('../.tmp/', import.meta.url));
const TOKEN = 'dash-token';

/** fmt is the dashboard's number rule: four significant digits below 1000, at most six decimals. */
function fmt(n: number): string {
  return n.toFixed(Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(n))))));
}

describe.skipIf(!hasChromium)('live dashboard in headless Chromium', () => {
  let server: LiveServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let timer: NodeJS.Timeout;
  let tick = 30;
  let current: Snapshot;
  const errors: string[] = [];

  // Energy is the sample's exact tick × 330 J; only the displayed power wobbles so the chart has a shape.
  const make = (t: number): Snapshot => {
    const s = sampleSnapshot({
      tick: t, deviceCount: 3, labels: { team: 'ml', project: 'llm' },
      projected: { fraction: t / 1000, energyJoules: 330 * 1000, co2eGrams: 55, source: 'api' },
    });
    const devices = s.devices.map((d, i) => ({ ...d, powerWatts: d.powerWatts + Math.round(15 * Math.sin(t / 4 + i * 2)) }));
    return { ...s, devices, totalPowerWatts: devices.reduce((a, d) => a + d.powerWatts, 0) };
  };

  beforeAll(async () => {
    current = make(tick);
    server = await startLiveServer({ host: '127.0.0.1', port: 0, token: TOKEN, getSnapshot: () => current });
    for (let t = 1; t <= tick; t++) server.publish(make(t));
    timer = setInterval(() => { tick++; current = make(tick); server.publish(current); }, 200);
    profile = mkdtempSync(join(tmpdir(), 'wattprint-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    // Nothing but the agent may be contacted: the page works offline.
    await page.route((url) => url.hostname !== '127.0.0.1', (route) => { errors.push(`external request ${route.request().url()}`); return route.abort(); });
  }, 60_000);

  afterAll(async () => {
    clearInterval(timer);
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('connects with the page\'s token, shows the run, and its numbers follow the ticks', async () => {
    await page.goto(`${server.url}/?token=${TOKEN}`);
    await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
    await expect.poll(() => page.textContent('#run-id')).toBe('run-42');
    await expect.poll(() => page.locator('#devices tbody tr').count()).toBe(3);
    const before = await page.textContent('#energy-kwh');
    // Wait for several more ticks, then read all numbers against the snapshot the page last saw.
    await page.waitForFunction((b) => document.getElementById('energy-kwh')?.textContent !== b, before);
    clearInterval(timer);
    const last = current;
    // 30+ ticks of 330 W: IT energy = tick × 330 J; facility × 1.5; CO2e at 400 g/kWh.
    expect(last.itEnergyJoules).toBe(last.tick * 330);
    await expect.poll(() => page.textContent('#energy-kwh')).toBe(`${fmt((last.tick * 330) / 3_600_000)} kWh`);
    expect(Number(before!.replace(' kWh', ''))).toBeLessThan((last.tick * 330) / 3_600_000);
    expect(await page.textContent('#power-total')).toBe(`${fmt(last.totalPowerWatts)} W`);
    expect(await page.textContent('#facility-kwh')).toBe(`facility ${fmt((last.tick * 495) / 3_600_000)} kWh (PUE 1.50)`);
    expect(await page.textContent('#co2e-kg')).toBe(`${fmt((last.tick * 495 / 3_600_000) * 400 / 1000)} kgCO2e`);
    expect(await page.textContent('#intensity')).toBe('400.0 g/kWh');
    expect(await page.textContent('#projected')).toBe('0.09167 kWh');
    expect(await page.textContent('#projected-sub')).toBe(`0.05500 kgCO2e · ${(last.tick / 10).toFixed(1)}% done (api)`);
    expect(await page.textContent('#run-status')).toBe('running');
    expect(await page.textContent('#run-info')).toContain('label projectllm');
    // The chart holds the history sent on connect plus every tick since.
    expect(await page.locator('#chart canvas').count()).toBe(1);
    expect(await page.locator('.u-legend .u-series').count()).toBe(4);
    mkdirSync(TMP, { recursive: true });
    await page.screenshot({ path: join(TMP, 'dashboard.png'), fullPage: true });
    server.publishEvent({ type: 'run_end', runId: 'run-42', at: last.at });
    await expect.poll(() => page.textContent('#run-status')).toBe('ended');
    expect(errors).toEqual([]);
  });
});
