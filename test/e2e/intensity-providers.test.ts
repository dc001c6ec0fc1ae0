import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tableProvider } from '../../src/intensity/table.js';
import { ukTime } from '../../src/intensity/uk.js';
import { baseEnv as cleanEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';
import { startFakeServer, type FakeReply, type FakeServer, type SeenRequest } from '../intensity/fake-server.js';

const HALF_HOUR = 1_800_000;
const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const node = process.execPath;
let dir: string;
let doctorArgs: string[];
let fake: FakeServer | undefined;
const env = (extra: Record<string, string> = {}) => cleanEnv({ XDG_DATA_HOME: join(dir, 'data'), ...extra });
beforeAll(() => {
  dir = tempDir('e2e-providers');
  // An empty sysfs: no DMI, so no cloud metadata is ever asked for; only the loopback fake is contacted.
  writeTree(dir, { 'sys/class/.keep': '' });
  doctorArgs = ['doctor', '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--json'];
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** National carbonintensity.org.uk shapes around the real now: actual 140 for the past and current 2 h, forecast 160 after. */
function ukNational(req: SeenRequest): FakeReply {
  const range = /^\/intensity\/([^/]+Z)\/([^/]+Z)$/.exec(req.url);
  if (range) {
    // The history endpoint (a restatement asks the run's own span): the same actuals, half hour by half hour.
    const [fromMs, toMs] = [Date.parse(range[1]!.replace('Z', ':00Z')), Date.parse(range[2]!.replace('Z', ':00Z'))];
    const data = [];
    for (let t = fromMs; t < toMs; t += HALF_HOUR) data.push({ from: ukTime(t), to: ukTime(t + HALF_HOUR), intensity: { forecast: 150, actual: 140, index: 'low' } });
    return { json: { data } };
  }
  const m = /^\/intensity\/([^/]+)\/(pt24h|fw24h)$/.exec(req.url);
  if (!m) return { status: 400, json: { error: { code: '400 Bad Request', message: 'Please enter a valid date' } } };
  const fromMs = Date.parse(m[1]!.replace('Z', ':00Z'));
  const starts = m[2] === 'pt24h' ? [-4, -3, -2, -1, 0, 1, 2, 3] : [4, 5, 6];
  return {
    json: {
      data: starts.map((k) => ({
        from: ukTime(fromMs + k * HALF_HOUR), to: ukTime(fromMs + (k + 1) * HALF_HOUR),
        intensity: { forecast: m[2] === 'pt24h' ? 150 : 160, actual: m[2] === 'pt24h' ? 140 : null, index: 'low' },
      })),
    },
  };
}

describe('doctor with fetching intensity sources against loopback fakes', () => {
  it('uk: the national half-hourly actual for now', async () => {
    fake = await startFakeServer(ukNational);
    const r = await runCli([...doctorArgs, '--intensity-source', 'uk', '--intensity-url', fake.baseUrl], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).intensity).toEqual({ intensityGramsPerKwh: 140, source: 'uk: carbonintensity.org.uk national', zone: 'GB' });
    expect(fake.seen.map((s) => s.url.replace(/\d{4}-\d\d-\d\dT\d\d:\d\dZ/, 'T'))).toEqual(['/intensity/T/pt24h', '/intensity/T/fw24h']);
  });

  it('uk: a 5xx falls back to the GB table value and says why', async () => {
    fake = await startFakeServer(() => ({ status: 502, text: 'Bad Gateway' }));
    const r = await runCli([...doctorArgs, '--intensity-source', 'uk', '--intensity-url', fake.baseUrl], env());
    expect(r.code).toBe(0);
    const intensity = JSON.parse(r.stdout).intensity;
    expect(intensity.intensityGramsPerKwh).toBe(tableProvider('GB').lookup(Date.now()).gramsPerKwh);
    expect(intensity.source).toMatch(new RegExp(`^${escapeRe(tableProvider('GB').lookup(Date.now()).source)} \\(fallback: uk: GET ${fake.baseUrl}/intensity/[^ ]+/pt24h: HTTP 502: Bad Gateway\\)$`));
  });

  const TOKEN = 'em-token-never-shown-42';
  const emPoint = () => ({ zone: 'DE', carbonIntensity: 321, datetime: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString(), isEstimated: false });
  const em = (req: SeenRequest): FakeReply => {
    if (req.headers['auth-token'] !== TOKEN) return { status: 401, json: { message: `invalid token ${String(req.headers['auth-token'])}` } };
    if (req.url.startsWith('/v3/carbon-intensity/latest?zone=DE&emissionFactorType=lifecycle')) return { json: emPoint() };
    if (req.url.startsWith('/v3/carbon-intensity/history')) return { json: { zone: 'DE', history: [emPoint()] } };
    return { status: 403, json: { message: 'forecast not in plan' } };
  };

  it('electricitymaps: the latest value with the token from the environment', async () => {
    fake = await startFakeServer(em);
    const r = await runCli([...doctorArgs, '--intensity-source', 'electricitymaps', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`], env({ WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN }));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).intensity).toEqual({ intensityGramsPerKwh: 321, source: 'electricitymaps DE (lifecycle)', zone: 'DE' });
  });

  it('electricitymaps: 401 reports once, falls back to the table, never shows the token', async () => {
    fake = await startFakeServer(em);
    const wrong = 'wrong-token-abc-123';
    const r = await runCli([...doctorArgs, '--intensity-source', 'electricitymaps', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`], env({ WATTPRINT_ELECTRICITYMAPS_TOKEN: wrong }));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`wattprint: electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 401: {"message":"invalid token ***"} (check the token); stopped fetching, using cache, then table\n`);
    expect(JSON.parse(r.stdout).intensity.intensityGramsPerKwh).toBe(tableProvider('DE').lookup(Date.now()).gramsPerKwh);
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it('electricitymaps: 429 backs off to the table, flagged with the status', async () => {
    fake = await startFakeServer(() => ({ status: 429, json: { message: 'rate limited' }, headers: { 'retry-after': '120' } }));
    const r = await runCli([...doctorArgs, '--intensity-source', 'electricitymaps', '--zone', 'DE', '--intensity-url', `${fake.baseUrl}/v3`], env({ WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN }));
    expect(JSON.parse(r.stdout).intensity.source).toBe(`${tableProvider('DE').lookup(Date.now()).source} (fallback: electricitymaps: GET ${fake.baseUrl}/v3/carbon-intensity/latest: HTTP 429: {"message":"rate limited"})`);
  });

  it('watttime: logs in with the environment\'s credentials and answers the marginal MOER in g/kWh', async () => {
    const meta = { data_point_period_seconds: 300, region: 'CAISO_NORTH', signal_type: 'co2_moer', units: 'lbs_co2_per_mwh' };
    const fiveMin = () => Math.floor(Date.now() / 300_000) * 300_000;
    fake = await startFakeServer((req) => {
      if (req.url === '/login') return req.headers.authorization === `Basic ${Buffer.from('ana:pw-secret-77').toString('base64')}` ? { json: { token: 'bearer-xyz-1' } } : { status: 401, json: {} };
      if (req.headers.authorization !== 'Bearer bearer-xyz-1') return { status: 401, json: {} };
      const data = [-1, 0, 1].map((k) => ({ point_time: new Date(fiveMin() + k * 300_000).toISOString(), value: 1000 }));
      return { json: { data, meta } };
    });
    const r = await runCli([...doctorArgs, '--intensity-source', 'watttime', '--zone', 'CAISO_NORTH', '--intensity-url', fake.baseUrl],
      env({ WATTPRINT_WATTTIME_USERNAME: 'ana', WATTPRINT_WATTTIME_PASSWORD: 'pw-secret-77' }));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).intensity).toEqual({ intensityGramsPerKwh: 453.59237, source: 'watttime CAISO_NORTH MOER (marginal)' });
  });

  it('missing credentials and wrong zones are usage errors (exit 2)', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--intensity-source', 'electricitymaps', '--zone', 'DE'], {}, 'wattprint: --intensity-source electricitymaps needs an API token: set WATTPRINT_ELECTRICITYMAPS_TOKEN (free at https://portal.electricitymaps.com)\n'],
      [['--intensity-source', 'electricitymaps'], { WATTPRINT_ELECTRICITYMAPS_TOKEN: TOKEN }, 'wattprint: --intensity-source electricitymaps needs --zone Z (an Electricity Maps zone such as DE or US-CAL-CISO)\n'],
      [['--intensity-source', 'watttime', '--zone', 'CAISO_NORTH'], {}, 'wattprint: --intensity-source watttime needs WATTPRINT_WATTTIME_USERNAME and WATTPRINT_WATTTIME_PASSWORD set (register at https://watttime.org)\n'],
      [['--intensity-source', 'uk', '--zone', 'FR'], {}, 'wattprint: --intensity-source uk covers Great Britain only (zone GB), not FR: use electricitymaps or --intensity-file for FR\n'],
      [['--intensity-source', 'ukk'], {}, "wattprint: unknown --intensity-source 'ukk': choose constant, table, csv, electricitymaps, uk, watttime\n"],
    ];
    for (const [args, extra, stderr] of cases) {
      const r = await runCli([...doctorArgs, ...args], env(extra));
      expect([r.code, r.stderr]).toEqual([2, stderr]);
    }
  });
});

describe('wattprint run with --intensity-source uk', () => {
  it('accounts with the fetched half-hourly value and caches it in the run\'s database', async () => {
    fake = await startFakeServer(ukNational);
    const db = join(dir, 'uk.db');
    const report = join(dir, 'uk.json');
    const r = await runCli(['run', '--db', db, '--sysfs', join(dir, 'sys'), '--collectors', 'cpu,ram', '--interval', '0.2', '--no-listen', '--quiet',
      '--intensity-source', 'uk', '--intensity-url', fake.baseUrl, '--pue', '1', '--report-file', report, '--', node, '-e', 'setTimeout(() => {}, 500)'], env());
    expect([r.code, r.stderr]).toEqual([0, '']);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.intensity).toMatchObject({ source: 'uk: carbonintensity.org.uk national', zone: 'GB', avgGramsPerKwh: expect.closeTo(140, 9) });
    expect(json.hourly.every((h: { periodSeconds: number; quality: string }) => h.periodSeconds === 1800 && h.quality === 'actual')).toBe(true);
    expect(json.co2e.locationKg).toBeCloseTo(json.energy.facilityKwh * 140 / 1000, 15);
    const sqlite = new Database(db, { readonly: true });
    const cached = sqlite.prepare("SELECT provider, zone, period_seconds, grams_per_kwh, quality FROM intensity_cache ORDER BY period_start_ms").all();
    sqlite.close();
    expect(cached).toHaveLength(11);
    expect(cached[0]).toEqual({ provider: 'uk', zone: 'GB', period_seconds: 1800, grams_per_kwh: 140, quality: 'actual' });
    expect(cached.at(-1)).toEqual({ provider: 'uk', zone: 'GB', period_seconds: 1800, grams_per_kwh: 160, quality: 'forecast' });

    // The API revises its actuals: --restate without new flags asks the run's own source again.
    fake.handler = (req) => {
      const reply = ukNational(req);
      return { ...reply, json: JSON.parse(JSON.stringify(reply.json).replaceAll('"actual":140', '"actual":120')) };
    };
    const restated = await runCli(['report', '--db', db, '--restate', '--format', 'json', '--intensity-url', fake.baseUrl], env());
    expect(restated.stderr).toBe('');
    const after = JSON.parse(restated.stdout);
    expect(after.restatement).toMatchObject({
      source: 'uk GB', before: { avgGramsPerKwh: expect.closeTo(140, 9) }, after: { avgGramsPerKwh: expect.closeTo(120, 9), intensitySource: 'uk: carbonintensity.org.uk national' },
    });
    expect(after.restatement.after.co2eLocationKg).toBeCloseTo(json.co2e.locationKg * 120 / 140, 15);
  });
});
