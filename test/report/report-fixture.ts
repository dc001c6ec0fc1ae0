import type { Report, ReportPeriod } from '../../src/report/types.js';
import { computeUncertainty } from '../../src/report/uncertainty.js';
import { embodiedEmissions } from '../../src/carbon/embodied.js';

/**
 * demoReport is a hand-built 2.5 h run: two H100s on energy counters, a modelled CPU and RAM, three UTC
 * periods (a half hour, then two whole hours), a 30 % CFE contract, one unbridged gap and one recovered gap.
 * Figures are computed here with the paper's formula so every rendering can be checked by hand.
 */
export function demoReport(): Report {
  const startMs = Date.parse('2026-03-01T10:30:00Z');
  const durationSeconds = 9000;
  const devices = [
    { id: 'gpu0', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', watts: 650, method: 'counter', collector: 'nvml' },
    { id: 'gpu1', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', watts: 640, method: 'counter', collector: 'nvml' },
    { id: 'cpu', kind: 'cpu', name: 'AMD EPYC (1 socket, 2 threads)', watts: 150, method: 'modelled', collector: 'cpu' },
    { id: 'ram', kind: 'dram', name: 'RAM 16.0 GiB', watts: 6.272, method: 'modelled', collector: 'ram' },
  ] as const;
  const totalWatts = devices.reduce((s, d) => s + d.watts, 0); // 1446.272 W
  const pue = 1.1;
  const cfe = 0.3;
  const periods: [string, number, number][] = [
    ['2026-03-01T10:30:00.000Z', 1800, 400],
    ['2026-03-01T11:00:00.000Z', 3600, 380],
    ['2026-03-01T12:00:00.000Z', 3600, 360],
  ];
  const hourly: ReportPeriod[] = periods.map(([startAt, periodSeconds, g]) => {
    const itKwh = (totalWatts * periodSeconds) / 3_600_000;
    const facilityKwh = itKwh * pue;
    return {
      startAt, periodSeconds, itKwh, facilityKwh, intensityGramsPerKwh: g, source: 'table:ember-2024', quality: 'annual',
      co2eLocationKg: (facilityKwh * g) / 1000, co2eMarketKg: (facilityKwh * g * (1 - cfe)) / 1000,
    };
  });
  const itKwh = (totalWatts * durationSeconds) / 3_600_000;
  const facilityKwh = itKwh * pue;
  const locationKg = hourly.reduce((s, p) => s + p.co2eLocationKg, 0);
  const marketKg = hourly.reduce((s, p) => s + p.co2eMarketKg, 0);
  const avgGramsPerKwh = (locationKg * 1000) / facilityKwh;
  return {
    runId: 'demo-run',
    hostname: 'trainer-01',
    labels: { team: 'nlp', model: 'llama-mini' },
    status: 'ended',
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(startMs + durationSeconds * 1000).toISOString(),
    durationSeconds,
    energy: {
      itKwh,
      facilityKwh,
      nodeItKwh: itKwh,
      byDevice: devices.map((d) => ({
        id: d.id, kind: d.kind, name: d.name, kwh: (d.watts * durationSeconds) / 3_600_000, nodeKwh: (d.watts * durationSeconds) / 3_600_000, avgWatts: d.watts,
        method: d.method, collector: d.collector,
      })),
    },
    pue,
    pueSource: '--pue',
    intensity: { avgGramsPerKwh, source: 'table:ember-2024', zone: 'DE', marketBasis: 'carbon-free energy fraction 0.3 (--cfe)' },
    co2e: { locationKg, marketKg },
    embodied: embodiedEmissions(devices, durationSeconds / 3600),
    uncertainty: computeUncertainty({
      devices: devices.map((d) => ({ ...d, energyJoules: d.watts * durationSeconds })), durationSeconds, pue, market: { cfe },
      gaps: [{ deviceId: 'gpu1', startMs: Date.parse('2026-03-01T11:15:00Z'), endMs: Date.parse('2026-03-01T11:16:30Z') }],
      periods: hourly.map((p) => ({ co2eLocationGrams: p.co2eLocationKg * 1000, co2eMarketGrams: p.co2eMarketKg * 1000, quality: p.quality, source: p.source })),
    }),
    disclosure: {
      processor: 'NVIDIA H100 80GB HBM3', count: 2, avgWattsPerAccelerator: totalWatts / 2, hours: durationSeconds / 3600,
      mwh: facilityKwh / 1000, pue, kgCo2ePerKwh: avgGramsPerKwh / 1000, tCo2e: locationKg / 1000, tCo2eMarket: marketKg / 1000,
    },
    measured: [
      'gpu0 NVIDIA H100 80GB HBM3: hardware energy counter (nvml)',
      'gpu1 NVIDIA H100 80GB HBM3: hardware energy counter (nvml)',
    ],
    modelled: ['cpu AMD EPYC (1 socket, 2 threads): modelled power (cpu)', 'ram RAM 16.0 GiB: modelled power (ram)'],
    gaps: [
      { deviceId: 'gpu1', startAt: '2026-03-01T11:15:00.000Z', endAt: '2026-03-01T11:16:30.000Z', reason: 'no readings for 90 s (> 5 intervals)' },
      { deviceId: 'gpu0', startAt: '2026-03-01T12:00:00.000Z', endAt: '2026-03-01T12:05:00.000Z', reason: 'agent down; energy recovered from counter', recoveredJoules: 195_000 },
    ],
    hourly,
    powerSeries: Array.from({ length: 150 }, (_, i) => ({
      at: new Date(startMs + i * 60_000).toISOString(),
      watts: Math.round((totalWatts + 300 * Math.sin(i / 12) - (i >= 45 && i < 47 ? 640 : 0)) * 1000) / 1000,
    })),
    notes: [
      'cpu: unknown CPU model "AMD EPYC": 3.5 W per thread assumed; pass --cpu-tdp W to set it',
      'ram: DRAM power = 16.0 GiB (MemTotal) × 0.392 W/GiB (Cloud Carbon Footprint memory coefficient)',
    ],
  };
}

/** longReport is demoReport stretched to n hourly periods, for the row cap. */
export function longReport(n: number): Report {
  const r = demoReport();
  const base = Date.parse('2026-03-01T00:00:00Z');
  r.hourly = Array.from({ length: n }, (_, i) => ({
    startAt: new Date(base + i * 3_600_000).toISOString(), periodSeconds: 3600, itKwh: 1, facilityKwh: 1.1,
    intensityGramsPerKwh: 400, source: 'constant', quality: 'assumed', co2eLocationKg: 0.44, co2eMarketKg: 0.44,
  }));
  return r;
}

/**
 * scaledReport is demoReport run for `factor` of its time at the same power (1e-4: 0.9 s instead of 2.5 h):
 * every energy, CO2e and duration scales, power and intensity do not — the tiny figures a short test run gives.
 */
export function scaledReport(r: Report, factor: number): Report {
  const d = r.disclosure;
  // The uncertainty and embodied sections are not scaled: the scaled report leaves them out.
  const { uncertainty: _u, embodied: _e, ...rest } = r;
  return {
    ...rest,
    durationSeconds: r.durationSeconds * factor,
    energy: {
      itKwh: r.energy.itKwh * factor, facilityKwh: r.energy.facilityKwh * factor, nodeItKwh: r.energy.nodeItKwh * factor,
      byDevice: r.energy.byDevice.map((x) => ({ ...x, kwh: x.kwh * factor, nodeKwh: x.nodeKwh * factor })),
    },
    co2e: { locationKg: r.co2e.locationKg * factor, marketKg: r.co2e.marketKg * factor },
    disclosure: { ...d, hours: d.hours * factor, mwh: d.mwh * factor, tCo2e: d.tCo2e * factor, tCo2eMarket: d.tCo2eMarket * factor },
    hourly: r.hourly.map((p) => ({
      ...p, itKwh: p.itKwh * factor, facilityKwh: p.facilityKwh * factor, co2eLocationKg: p.co2eLocationKg * factor, co2eMarketKg: p.co2eMarketKg * factor,
    })),
    gaps: [],
  };
}
