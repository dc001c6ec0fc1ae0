import { describe, expect, it } from 'vitest';
import { createSimCollector, simFactory } from '../../collectors/sim.js';
import type { CollectorContext } from '../../collectors/types.js';

const ctx: CollectorContext = {
  sysfsRoot: '/nonexistent', procfsRoot: '/nonexistent', nvidiaSmiPath: 'x', nvmlLibraryPath: 'x', intervalSeconds: 1, env: {},
};

describe('simulated GPUs', () => {
  it('counters are the exact integral of a 300 W ± 50 W sine', async () => {
    let t = 1000; // any monotonic origin: time counts from creation
    const c = createSimCollector({ devices: 2, now: () => t, epoch: 'e1' });
    expect(c.devices.map((d) => [d.id, d.kind, d.method, d.collector])).toEqual([
      ['sim0', 'gpu', 'counter', 'sim'],
      ['sim1', 'gpu', 'counter', 'sim'],
    ]);
    const r0 = (await c.read()).readings;
    expect(r0.map((r) => r.counterJoules)).toEqual([0, 0]);
    expect(r0[0]!.powerWatts).toBe(300);
    expect(r0[0]!.counterEpoch).toBe('e1');

    t = 1015; // a quarter period: device 0 at the crest, device 1 (phase π) at the trough
    const r1 = (await c.read()).readings;
    const area = (50 * 60) / (2 * Math.PI); // ∫ of the sine over a half-wave / 2 = A·T/2π = 477.46 J
    expect(r1[0]!.counterJoules).toBeCloseTo(4500 + area, 9);
    expect(r1[0]!.powerWatts).toBeCloseTo(350, 9);
    expect(r1[1]!.counterJoules).toBeCloseTo(4500 - area, 9);
    expect(r1[1]!.powerWatts).toBeCloseTo(250, 9);

    t = 1060; // a whole period: the sine integrates to zero
    const r2 = (await c.read()).readings;
    expect(r2[0]!.counterJoules).toBeCloseTo(18000, 9);
    expect(r2[1]!.counterJoules).toBeCloseTo(18000, 9);
  });

  it('honours power, amplitude and period options', async () => {
    let t = 0;
    const c = createSimCollector({ devices: 1, powerWatts: 100, amplitudeWatts: 0, periodSeconds: 10, now: () => t });
    t = 3.5;
    expect((await c.read()).readings[0]).toMatchObject({ deviceId: 'sim0', counterJoules: 350, powerWatts: 100 });
  });

  it('each collector instance has its own counter epoch', () => {
    const a = createSimCollector({ devices: 1, now: () => 0 });
    const b = createSimCollector({ devices: 1, now: () => 0 });
    expect(a.read()).not.toEqual(b.read());
  });

  it('the factory is explicit-only and takes ctx.simDevices (default 4)', async () => {
    expect(simFactory).toMatchObject({ name: 'sim', role: 'measure', kinds: ['gpu'], explicitOnly: true });
    const d4 = await simFactory.probe(ctx);
    expect(d4.devices.map((d) => d.id)).toEqual(['sim0', 'sim1', 'sim2', 'sim3']);
    const d10 = await simFactory.probe({ ...ctx, simDevices: 10 });
    expect(d10.devices).toHaveLength(10);
    expect((await d10.collector!.read()).readings).toHaveLength(10);
  });
});
