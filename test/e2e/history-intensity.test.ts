import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Tracker } from '../../agent/tracker.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { tableProvider } from '../../src/intensity/table.js';
import { lbsPerMwhToGramsPerKwh } from '../../src/units.js';
import { minutesOf } from '../../src/store/queries.js';
import { Store } from '../../src/store/store.js';
import { baseEnv as cleanEnv, runCli, tempDir } from '../helpers/cli.js';
import { manualClock, scriptedCollector } from '../helpers/scripted.js';
import { startFakeServer, type FakeServer } from '../intensity/fake-server.js';
import { electricityMapsHistoryFake, ukHistoryFake, wattTimeHistoryFake } from '../intensity/history-fakes.js';

/**
 * Issue 10, defect 1: a replay or restatement of a past period with a fetching source asked for "now"
 * (pt24h/fw24h), got nothing for the past, and accounted every period at the annual figure. Here the fakes
 * answer only the history endpoints, log what was asked, and the CO2e must equal the hand computation.
 */

const HALF_HOUR = 1_800_000;
const HOUR = 3_600_000;
const START = Date.UTC(2024, 2, 14, 10, 17);
const STEPS = 386; // one reading a minute, 10:17 .. 16:43
const watts = (i: number) => 300 + (i % 13) * 17;

let dir: string;
let fake: FakeServer | undefined;
const env = (extra: Record<string, string> = {}) => cleanEnv({ XDG_DATA_HOME: join(dir, 'data'), ...extra });
beforeAll(() => {
  dir = tempDir('e2e-history');
  const rows = Array.from({ length: STEPS + 1 }, (_, i) => `${(START + i * 60_000) / 1000},gpu0,${watts(i)}`);
  writeFileSync(join(dir, 'march.csv'), `timestamp,device,watts\n${rows.join('\n')}\n`);
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** handGrams: each minute's trapezoid energy × PUE 1.2 × the intensity of the period holding that minute. */
function handGrams(periodMs: number, gramsAt: (periodStartMs: number) => number): number {
  let grams = 0;
  for (let i = 0; i < STEPS; i++) {
    const joules = ((watts(i) + watts(i + 1)) / 2) * 60 * 1.2;
    const t = START + i * 60_000;
    grams += (joules / 3.6e6) * gramsAt(Math.floor(t / periodMs) * periodMs);
  }
  return grams;
}

const replay = async (args: string[], extraEnv: Record<string, string> = {}) => {
  const r = await runCli(['replay', join(dir, 'march.csv'), '--pue', '1.2', '--json', ...args], env(extraEnv));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('replay of a past trace with a fetching source uses its history endpoint', () => {
  it('uk: half-hourly actuals of March, not the annual table', async () => {
    const grams = (t: number) => 100 + ((t / HALF_HOUR) % 9) * 25;
    fake = await startFakeServer(ukHistoryFake(grams));
    const r = await replay(['--intensity-source', 'uk', '--intensity-url', fake.baseUrl]);
    expect(fake.seen.map((s) => s.url)).toEqual(['/intensity/2024-03-14T10:00Z/2024-03-14T17:00Z']);
    expect(r.hourly).toHaveLength(14);
    expect(r.hourly.every((h: { source: string; quality: string }) => h.source === 'uk: carbonintensity.org.uk national' && h.quality === 'actual')).toBe(true);
    expect(relative(r.co2e.locationKg * 1000, handGrams(HALF_HOUR, grams))).toBeLessThan(1e-9);
    expect(r.notes.join('\n')).not.toContain('annual table');
  });

  it('electricitymaps: hourly past-range', async () => {
    const grams = (t: number) => 250 + ((t / HOUR) % 5) * 61;
    fake = await startFakeServer(electricityMapsHistoryFake(grams, 'em-tok-5'));
    const r = await replay(['--intensity-source', 'electricitymaps', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`], { WATTPRINT_ELECTRICITYMAPS_TOKEN: 'em-tok-5' });
    expect(fake.seen.map((s) => s.url)).toEqual(['/v3/carbon-intensity/past-range?zone=DE&emissionFactorType=lifecycle&start=2024-03-14T10:00:00.000Z&end=2024-03-14T17:00:00.000Z']);
    expect(relative(r.co2e.locationKg * 1000, handGrams(HOUR, grams))).toBeLessThan(1e-9);
  });

  it('watttime: 5-minute historical MOER', async () => {
    const lbs = (t: number) => 700 + ((t / 300_000) % 11) * 13;
    fake = await startFakeServer(wattTimeHistoryFake(lbs, 'ana', 'pw-9'));
    const r = await replay(['--intensity-source', 'watttime', '--zone', 'CAISO_NORTH', '--intensity-url', fake.baseUrl], { WATTPRINT_WATTTIME_USERNAME: 'ana', WATTPRINT_WATTTIME_PASSWORD: 'pw-9' });
    expect(fake.seen.map((s) => s.url)).toEqual(['/login', '/v3/historical?region=CAISO_NORTH&start=2024-03-14T10:15:00.000Z&end=2024-03-14T16:45:00.000Z&signal_type=co2_moer']);
    expect(relative(r.co2e.locationKg * 1000, handGrams(300_000, (t) => lbsPerMwhToGramsPerKwh(lbs(t))))).toBeLessThan(1e-9);
  });

  it('half hours the API lacks are counted and named in the notes', async () => {
    const missing = new Set([Date.UTC(2024, 2, 14, 12), Date.UTC(2024, 2, 14, 12, 30)]);
    fake = await startFakeServer(ukHistoryFake((t) => (missing.has(t) ? undefined : 200)));
    const r = await replay(['--intensity-source', 'uk', '--intensity-url', fake.baseUrl]);
    const gb = tableProvider('GB').lookup(START).source;
    expect(r.notes).toContain(`intensity: 2 of 14 half hours from the annual table (${gb}), not the intensity source: uk has no value for this period`);
  });
});

describe('report --restate of a past run asks the run\'s own span', () => {
  /** A run tracked on 2024-03-14 10:17–16:43 at a flat 400 g/kWh, PUE 1.2, stored like any other. */
  function recordPastRun(db: string): Promise<void> {
    const store = Store.open(db);
    const clock = manualClock(START);
    let joules = 0;
    const queue = Array.from({ length: STEPS + 1 }, (_, i) => {
      if (i > 0) joules += ((watts(i - 1) + watts(i)) / 2) * 60;
      return { readings: [{ deviceId: 'gpu0', counterJoules: joules }] };
    });
    const tracker = new Tracker({
      store, runId: 'march', hostname: 'h', labels: {}, intervalSeconds: 60, pue: { value: 1.2, source: 'set with --pue' }, zone: 'GB',
      intensity: constantProvider(400), market: {}, sampleRetentionSeconds: 600, clock,
      collectors: [scriptedCollector([{ id: 'gpu0', kind: 'gpu', name: 'Test GPU', method: 'counter', collector: 'sim' }], queue)],
    });
    return (async () => {
      for (let i = 0; i <= STEPS; i++) {
        await tracker.tick();
        if (i < STEPS) clock.advance(60);
      }
      await tracker.stop(0);
      store.close();
    })();
  }

  it('uk: equals the half-hourly hand computation; an API that answers nothing is not named as the source', async () => {
    const db = join(dir, 'restate.db');
    await recordPastRun(db);
    const grams = (t: number) => 100 + ((t / HALF_HOUR) % 9) * 25;
    fake = await startFakeServer(ukHistoryFake(grams));
    const r = await runCli(['report', 'march', '--db', db, '--restate', '--intensity-source', 'uk', '--intensity-url', fake.baseUrl, '--format', 'json'], env());
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(fake.seen.map((s) => s.url)).toEqual(['/intensity/2024-03-14T10:00Z/2024-03-14T17:00Z']);
    const report = JSON.parse(r.stdout);
    const store = Store.open(db);
    const stored = minutesOf(store.db, store.findRun('march')!.runKey);
    store.close();
    const expected = stored.reduce((s, m) => s + ((m.itJoules * 1.2) / 3.6e6) * grams(Math.floor(m.minuteStartMs / HALF_HOUR) * HALF_HOUR), 0);
    expect(relative(report.restatement.after.co2eLocationKg * 1000, expected)).toBeLessThan(1e-9);
    expect(relative(report.co2e.locationKg * 1000, handGrams(HALF_HOUR, grams))).toBeLessThan(1e-9);
    expect(report.restatement.source).toBe('uk GB');

    // The API down: the periods cached by the first restatement still answer, and say so by their source.
    fake.handler = () => ({ status: 503, text: 'Service Unavailable' });
    const cached = JSON.parse((await runCli(['report', 'march', '--db', db, '--restate', '--intensity-source', 'uk', '--intensity-url', fake.baseUrl, '--format', 'json'], env())).stdout);
    expect(cached.restatement.source).toBe('uk GB');
    expect(cached.co2e.locationKg).toBeCloseTo(report.co2e.locationKg, 15);

    // The API down and nothing cached: every half hour from the table, and the restatement says so.
    const bare = join(dir, 'restate-bare.db');
    await recordPastRun(bare);
    const down = await runCli(['report', 'march', '--db', bare, '--restate', '--intensity-source', 'uk', '--intensity-url', fake.baseUrl, '--format', 'json'], env());
    const fellBack = JSON.parse(down.stdout);
    const gb = tableProvider('GB').lookup(START);
    expect(fellBack.restatement.source).toBe(`fallback only: ${gb.source} (the source asked answered no period)`);
    expect(fellBack.notes.some((n: string) => n.startsWith('intensity: 14 of 14 half hours from the annual table'))).toBe(true);
    expect(relative(fellBack.co2e.locationKg * 1000, handGrams(HALF_HOUR, () => gb.gramsPerKwh))).toBeLessThan(1e-9);
  });
});
