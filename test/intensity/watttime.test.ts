import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWattTimeProvider, parseWattTimeSignal } from '../../src/intensity/watttime.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { startFakeServer, type FakeServer, type SeenRequest } from './fake-server.js';

const PASSWORD = 'pa55-word-xyz';
const NOW = Date.UTC(2024, 5, 1, 12, 7);
const meta = { data_point_period_seconds: 300, region: 'CAISO_NORTH', signal_type: 'co2_moer', units: 'lbs_co2_per_mwh', warnings: [], model: { date: '2024-05-01', type: 'binned_regression' } };
const at = (minute: number): string => new Date(Date.UTC(2024, 5, 1, 12, minute)).toISOString().replace('.000Z', '+00:00');

describe('watttime provider against a loopback fake', () => {
  let fake: FakeServer;
  let tokens: string[];
  const serve = (req: SeenRequest) => {
    if (req.url === '/login') {
      const expected = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return { status: 401, json: { error: 'bad credentials' } };
      const token = `bearer-token-${tokens.length + 1}`;
      tokens.push(token);
      return { json: { token } };
    }
    if (req.headers.authorization !== `Bearer ${tokens.at(-1)}`) return { status: 401, json: { error: 'token expired' } };
    if (req.url.startsWith('/v3/historical?region=CAISO_NORTH&start=')) {
      return { json: { data: [{ point_time: at(0), value: 1000 }, { point_time: at(5), value: 900.5 }], meta } };
    }
    if (req.url.startsWith('/v3/forecast?region=CAISO_NORTH&signal_type=co2_moer')) {
      return { json: { data: [{ point_time: at(10), value: 800 }], meta: { ...meta, generated_at: at(5), generated_at_period_seconds: 300 } } };
    }
    return { status: 400, json: { error: 'bad request' } };
  };
  beforeEach(async () => {
    tokens = [];
    fake = await startFakeServer(serve);
  });
  afterEach(() => fake.close());

  it('logs in, fetches MOER and converts lbs/MWh to g/kWh, marked marginal', async () => {
    const provider = createWattTimeProvider({ baseUrl: fake.baseUrl, username: 'alice', password: PASSWORD, zone: 'CAISO_NORTH', fallback: constantProvider(400) });
    await provider.refresh(NOW);
    expect(provider.status().state).toBe('ok');
    expect(fake.seen.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/login', `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`],
      ['/v3/historical?region=CAISO_NORTH&start=2024-05-31T12:07:00.000Z&end=2024-06-01T12:07:00.000Z&signal_type=co2_moer', 'Bearer bearer-token-1'],
      ['/v3/forecast?region=CAISO_NORTH&signal_type=co2_moer', 'Bearer bearer-token-1'],
    ]);
    expect(provider.lookup(Date.UTC(2024, 5, 1, 12, 4, 59))).toEqual({
      gramsPerKwh: 453.59237, source: 'watttime CAISO_NORTH MOER (marginal)',
      periodStartMs: Date.UTC(2024, 5, 1, 12, 0), periodSeconds: 300, quality: 'actual', marginal: true,
    });
    expect(provider.lookup(Date.UTC(2024, 5, 1, 12, 6)).gramsPerKwh).toBeCloseTo(408.459929185, 9);
    expect(provider.lookup(Date.UTC(2024, 5, 1, 12, 11))).toMatchObject({ gramsPerKwh: 362.873896, quality: 'forecast', marginal: true });
  });

  it('logs in again once when the bearer token expires', async () => {
    const provider = createWattTimeProvider({ baseUrl: fake.baseUrl, username: 'alice', password: PASSWORD, zone: 'CAISO_NORTH', fallback: constantProvider(400), refreshIntervalMs: 1 });
    await provider.refresh(NOW);
    tokens.push('rotated-server-side');
    await provider.refresh(NOW + 1);
    expect(provider.status().state).toBe('ok');
    expect(fake.seen.filter((r) => r.url === '/login')).toHaveLength(2);
  });

  it('stops on bad credentials and never shows the password or the basic header', async () => {
    const reports: string[] = [];
    const provider = createWattTimeProvider({
      baseUrl: fake.baseUrl, username: 'alice', password: 'wrong-password', zone: 'CAISO_NORTH', fallback: constantProvider(400),
      onReport: (line) => reports.push(line),
    });
    await provider.refresh(NOW);
    expect(reports).toEqual([`watttime: GET ${fake.baseUrl}/login: HTTP 401: {"error":"bad credentials"} (check the token); stopped fetching, using cache, then constant`]);
    const basic = Buffer.from('alice:wrong-password').toString('base64');
    expect(JSON.stringify(provider.status())).not.toMatch(new RegExp(`wrong-password|${basic}`));
    expect(provider.lookup(NOW).gramsPerKwh).toBe(400);
  });
});

describe('parseWattTimeSignal', () => {
  it('refuses units it does not know', () => {
    expect(() => parseWattTimeSignal({ data: [], meta: { units: 'kg_co2_per_mwh' } }, 'actual', 's')).toThrow(
      "watttime: unexpected units 'kg_co2_per_mwh', expected lbs_co2_per_mwh",
    );
  });
});
