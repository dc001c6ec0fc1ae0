import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveServer, type LiveServer } from '../../src/exporters/http.js';
import { formatEnergyJoules, formatMassGrams, formatWatts } from '../../src/report/format.js';
import type { Snapshot } from '../../src/snapshot.js';
import { sampleSnapshot } from '../exporters/snapshots.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping dashboard browser test: ${CHROMIUM} not found (apt-get install chromium)`);

const TMP = fileURLToPath(new URL('../.tmp/', import.meta.url));
const TOKEN = 'dash/token+1';
const START_MS = Date.parse('2026-03-01T12:00:00.000Z');

/** intensityAt is the demo grid: 400 g/kWh for the first 15 ticks, then 250 (an hourly source's next hour). */
const intensityAt = (t: number): number => (t <= 15 ? 400 : 250);

/**
 * make is the sample's state after t ticks (3 devices, 330 W of IT power, PUE 1.5), with CO2e accumulated
 * tick by tick at the intensity of each tick; only the displayed power wobbles, so the chart has a shape.
 */
function make(t: number): Snapshot {
  const s = sampleSnapshot({
    tick: t, deviceCount: 3, labels: { team: 'ml', project: 'llm' }, intensityGramsPerKwh: intensityAt(t),
    projected: { fraction: t / 1000, energyJoules: 330 * 1000, co2eGrams: 55, source: 'api' },
  });
  let location = 0;
  for (let k = 1; k <= t; k++) location += (495 / 3.6e6) * intensityAt(k);
  const devices = s.devices.map((d, i) => ({ ...d, powerWatts: d.powerWatts + Math.round(15 * Math.sin(t / 4 + i * 2)) }));
  return { ...s, devices, totalPowerWatts: devices.reduce((a, d) => a + d.powerWatts, 0), co2eGrams: { location, market: location / 2 } };
}

/**
 * colourPixels decodes a PNG screenshot in the page (the browser is the PNG decoder) and counts the pixels
 * within a small distance of each colour: how much of each series a chart actually drew.
 */
async function colourPixels(page: Page, target: Locator, colours: string[]): Promise<number[]> {
  const png = (await target.screenshot()).toString('base64');
  return page.evaluate(async ({ png, colours }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${png}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, img.width, img.height);
    const rgb = colours.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
    const counts = colours.map(() => 0);
    for (let p = 0; p < data.length; p += 4) {
      rgb.forEach(([r, g, b], i) => {
        if (Math.abs(data[p]! - r!) + Math.abs(data[p + 1]! - g!) + Math.abs(data[p + 2]! - b!) < 40) counts[i]!++;
      });
    }
    return counts;
  }, { png, colours });
}

describe.skipIf(!hasChromium)('live dashboard in headless Chromium', () => {
  let server: LiveServer;
  let context: BrowserContext;
  let profile: string;
  let timer: NodeJS.Timeout | undefined;
  let tick = 30;
  let current: Snapshot;
  const errors: string[] = [];
  const requestLines: string[] = [];
  const onRequest = (m: unknown): void => { requestLines.push((m as { request: IncomingMessage }).request.url ?? ''); };

  beforeAll(async () => {
    subscribe('http.server.request.start', onRequest);
    current = make(tick);
    server = await startLiveServer({ host: '127.0.0.1', port: 0, token: TOKEN, getSnapshot: () => current });
    for (let t = 1; t <= tick; t++) server.publish(make(t));
    timer = setInterval(() => { tick++; current = make(tick); server.publish(current); }, 200);
    profile = mkdtempSync(join(tmpdir(), 'wattprint-chromium-'));
    // The viewer is in India (UTC+05:30): the page shows their local time with UTC beside it.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 1100 }, timezoneId: 'Asia/Kolkata',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--no-first-run', '--disable-sync', '--disable-quic',
        // Chromium's own services (sign-in, component updates) look names up even with background networking off:
        // no name resolves, so not even a DNS query leaves the machine (the page only ever asks for 127.0.0.1).
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', `--log-net-log=${join(profile, 'netlog.json')}`],
    });
  }, 60_000);

  afterAll(async () => {
    clearInterval(timer);
    unsubscribe('http.server.request.start', onRequest);
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function newPage(): Promise<{ page: Page; wsUrls: string[] }> {
    const page = await context.newPage();
    const wsUrls: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/401|WebSocket connection/.test(m.text())) errors.push(m.text()); });
    page.on('websocket', (ws) => wsUrls.push(ws.url()));
    // Nothing but the agent may be contacted: the page works offline.
    await page.route((url) => url.hostname !== '127.0.0.1', (route) => { errors.push(`external request ${route.request().url()}`); return route.abort(); });
    return { page, wsUrls };
  }

  it('opens from the printed URL (token in the fragment), shows every figure with fitting units, and draws the charts', async () => {
    const { page, wsUrls } = await newPage();
    expect(server.dashboardUrl).toBe(`${server.url}/#token=dash%2Ftoken%2B1`);
    await page.goto(server.dashboardUrl);
    await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
    await expect.poll(() => page.textContent('#run-id')).toBe('run-42');
    // The token left the address bar; it never was in a request line the server saw, nor in the feed's URL.
    expect(page.url()).toBe(`${server.url}/`);
    await expect.poll(() => page.locator('#devices tbody tr').count()).toBe(3);
    await page.waitForTimeout(600); // a few more ticks on top of the history
    clearInterval(timer);
    timer = undefined;
    const last = current;
    await expect.poll(() => page.textContent('#energy-it')).toBe(formatEnergyJoules(last.itEnergyJoules));
    // 3 devices at 330 W: IT energy = tick × 330 J, facility × 1.5; both labelled, IT first as in the status line.
    expect(last.itEnergyJoules).toBe(last.tick * 330);
    expect(await page.textContent('#energy-it')).toMatch(/^\d+\.\d+ (m?Wh)$/);
    expect(await page.textContent('#energy-facility')).toBe(`facility ${formatEnergyJoules(last.tick * 495)} (× PUE 1.50)`);
    expect(await page.textContent('#power-total')).toBe(formatWatts(last.totalPowerWatts));
    expect(await page.textContent('#co2e-location')).toBe(formatMassGrams(last.co2eGrams.location));
    expect(await page.textContent('#co2e-location')).toMatch(/ (mg|g)$/);
    expect(await page.textContent('#intensity')).toBe('250 g/kWh');
    // The projection with its ETA: fraction t/1000 after t seconds → done at 12:16:40 UTC, 17:46:40 in Kolkata.
    expect(await page.textContent('#projected')).toBe('91.67 Wh');
    expect(await page.textContent('#projected-co2e')).toBe(`CO2e 55.0 g · ${(last.tick / 10).toFixed(1)}% done (api)`);
    const left = 1000 - last.tick;
    expect(await page.textContent('#projected-eta')).toBe(`ETA 17:46:40 (12:16:40 UTC), in 0:${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')}`);
    expect(await page.textContent('#run-info')).toContain('Started2026-03-01 17:30:00 (2026-03-01 12:00:00 UTC)');
    expect(await page.textContent('#run-info')).toContain('label projectllm');
    // Legends show the latest point, never uPlot's empty "Time: --"; time is local with UTC beside it.
    const legends = await page.locator('.u-legend').allTextContents();
    expect(legends).toHaveLength(3);
    const lastClock = new Date(Date.parse(last.at) + 5.5 * 3600_000).toISOString().slice(11, 19);
    for (const legend of legends) {
      expect(legend).not.toContain('--');
      expect(legend).toContain(`Time${lastClock} (${last.at.slice(11, 19)} UTC)`);
    }
    expect(legends[1]).toContain(`IT energy${formatEnergyJoules(last.itEnergyJoules)}`);
    expect(legends[1]).toContain(`CO2e (location)${formatMassGrams(last.co2eGrams.location)}`);
    expect(legends[2]).toContain('Grid intensity250 g/kWh');
    // The screenshot shows what the legends claim: each chart drew its series in its own colour.
    const [it, facility, co2e] = await colourPixels(page, page.locator('#totals-chart'), ['#58a6ff', '#39c5cf', '#e5a50a']);
    const [intensity] = await colourPixels(page, page.locator('#intensity-chart'), ['#d2a8ff']);
    const [gpu0] = await colourPixels(page, page.locator('#chart'), ['#4cc38a']);
    for (const [name, n] of Object.entries({ it, facility, co2e, intensity, gpu0 })) expect(n, `${name} pixels`).toBeGreaterThan(150);
    mkdirSync(TMP, { recursive: true });
    await page.screenshot({ path: join(TMP, 'dashboard.png'), fullPage: true });
    // The README's screenshot is this one: UPDATE_SCREENSHOTS=1 refreshes docs/dashboard.png.
    if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(join(TMP, 'dashboard.png'), fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url)));

    expect(requestLines.length).toBeGreaterThan(3);
    expect(requestLines.filter((l) => l.includes('token=') || l.includes(encodeURIComponent(TOKEN)) || l.includes('dash/token'))).toEqual([]);
    expect(wsUrls).toEqual([`${server.url.replace('http', 'ws')}/ws`]);
    server.publishEvent({ type: 'run_end', runId: 'run-42', at: last.at });
    await expect.poll(() => page.textContent('#run-status')).toBe('ended');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for the token when the feed is refused, says when it is wrong, and connects with the right one', async () => {
    const { page } = await newPage();
    await page.goto(`${server.url}/`);
    const form = page.locator('#token-form');
    await expect.poll(() => form.isVisible()).toBe(true);
    expect(await page.textContent('#token-error')).toBe('This agent requires a token (it was started with --token): enter it to see the run.');
    expect(await page.textContent('#run-status')).toBe('token needed');
    await page.fill('#token-input', 'not-it');
    await page.click('#token-form button');
    await expect.poll(() => page.textContent('#token-error')).toBe('The agent refused this token: enter the one it was started with (--token).');
    await expect.poll(() => form.isVisible()).toBe(true);
    mkdirSync(TMP, { recursive: true });
    const shot = await form.screenshot({ path: join(TMP, 'dashboard-token.png') });
    expect(shot.length).toBeGreaterThan(1000);
    // The form is drawn, not just present in the DOM: its warning border shows in the screenshot.
    expect((await colourPixels(page, form, ['#e5a50a']))[0]).toBeGreaterThan(100);
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button');
    await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
    await expect.poll(() => page.textContent('#run-id')).toBe('run-42');
    expect(await form.isVisible()).toBe(false);
    // The tab remembers it: a reload connects without asking again.
    await page.reload();
    await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
    expect(await form.isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says the power is the whole devices\' and how much of their energy the run was charged, when it shares them', async () => {
    // gpu0 shared: the run was charged a quarter of it; the others are wholly the run's. The card names the share.
    const shared = (t: number): Snapshot => {
      const s = make(t);
      const devices = s.devices.map((d, i) => (i === 0 ? { ...d, energyJoules: d.energyJoules / 4, deviceEnergyJoules: d.energyJoules } : d));
      return { ...s, devices, itEnergyJoules: devices.reduce((a, d) => a + d.energyJoules, 0) };
    };
    let t = 10;
    const sharedServer = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => make(t) });
    for (let k = 1; k <= t; k++) sharedServer.publish(make(k));
    const { page } = await newPage();
    try {
      await page.goto(`${sharedServer.url}/`);
      await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
      expect(await page.textContent('#power-scope')).toBe('all devices, before PUE');
      // The share appears with the next tick: 100 W × 10 s of gpu0, a quarter charged; 110 W and 120 W whole.
      t = 11;
      sharedServer.publish(shared(t));
      const s = shared(t);
      const pct = Number((100 * s.itEnergyJoules / (11 * 330)).toPrecision(3));
      await expect.poll(() => page.textContent('#power-scope')).toBe(`whole devices, shared: this run was charged ${pct}% of their energy`);
      expect(pct).toBeCloseTo(100 * (11 * 330 - 0.75 * 11 * 100) / (11 * 330), 1);
      expect(await page.textContent('#energy-it')).toBe(formatEnergyJoules(s.itEnergyJoules));
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await sharedServer.close();
    }
  });

  it('shows the job\'s phases as bands and a table, and its efficiency per token', async () => {
    const base = make(40);
    const at = Date.parse(base.at);
    const iso = (ms: number) => new Date(ms).toISOString();
    const withJob: Snapshot = {
      ...base, work: { steps: 400, samples: 12_800, tokens: 6_553_600 },
      phases: [
        { id: 'a', name: 'train', startedAt: iso(at - 30_000), endedAt: iso(at - 10_000), itEnergyJoules: 6600, co2eGrams: 0.3 },
        { id: 'b', name: 'eval', startedAt: iso(at - 10_000), itEnergyJoules: 3300, co2eGrams: 0.15 },
      ],
    };
    const jobServer = await startLiveServer({ host: '127.0.0.1', port: 0, getSnapshot: () => withJob });
    for (let t = 1; t <= 40; t++) jobServer.publish({ ...make(t), ...(t === 40 ? { work: withJob.work, phases: withJob.phases } : {}) });
    const { page } = await newPage();
    try {
      await page.goto(`${jobServer.url}/`);
      await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'open');
      await expect.poll(() => page.locator('#phases tbody tr').count()).toBe(2);
      const rows = await page.locator('#phases tbody tr').allTextContents();
      expect(rows[0]).toContain('eval (open)');
      expect(rows[1]).toContain('train');
      expect(rows[1]).toContain(formatEnergyJoules(6600));
      expect(await page.textContent('#phase-legend')).toBe('(bands: eval, train)');
      expect(await page.isVisible('#efficiency-card')).toBe(true);
      // 40 ticks × 330 J over 6,553,600 tokens
      expect(await page.textContent('#efficiency')).toBe(`${Number((withJob.itEnergyJoules / 6_553_600).toPrecision(3))} J/token`);
      expect(await page.textContent('#efficiency-sub')).toContain('6,554,000 tokens');
      mkdirSync(TMP, { recursive: true });
      await page.locator('#chart').screenshot({ path: join(TMP, 'dashboard-phases.png') });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await jobServer.close();
    }
  });
  it('looked up no host name: not even a DNS query left the machine (Chromium\'s own NetLog)', async () => {
    // Last in the file: closing the browser writes the NetLog out. Chromium's own services (update checks, sign-in)
    // resolve names even with background networking off; the resolver rule stops them before any lookup. What may
    // remain is the IPv6 reachability check, a UDP connect() that sends nothing.
    await context.close();
    const log = JSON.parse(readFileSync(join(profile, 'netlog.json'), 'utf8')) as {
      constants: { logEventTypes: Record<string, number> }; events: { type: number; params?: { host?: string } }[];
    };
    const typeName = new Map(Object.entries(log.constants.logEventTypes).map(([name, id]) => [id, name]));
    const lookups = log.events.map((e) => `${typeName.get(e.type)} ${e.params?.host ?? ''}`)
      .filter((e) => /^HOST_RESOLVER_(DNS_TASK|SYSTEM_TASK|MANAGER_JOB)\b/.test(e) && !/\b127\.0\.0\.1\b/.test(e));
    expect(log.events.length).toBeGreaterThan(100); // the page's own requests are in it
    expect(lookups).toEqual([]);
  });
});
