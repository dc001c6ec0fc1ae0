import type { DeviceKind, EnergyMethod } from '../types.js';
import type { IntensityQuality } from '../intensity/types.js';
import type { MarketInstruments } from '../carbon/carbon.js';

/**
 * Uncertainty of a run's figures: worst-case bounds, not a statistical interval — every error is taken at
 * its extreme at once, so the true figure lies inside unless a bound below is itself wrong. The central
 * figures are what they always were; the bounds sit beside them. Every bound is named with its basis:
 * a sensor's documented behaviour, a measurement on real data, or an assumption said to be one.
 */

/** Spread is a relative bound: the figure may be (1 − low)…(1 + high) of the central one. */
export interface Spread {
  low: number;
  high: number;
  /** Why: the method, its source, or 'assumed'. */
  basis: string;
}

/** COUNTER_SPREAD: a hardware energy counter is exact between reads up to its resolution (NVML 1 mJ, RAPL and hwmon 1 µJ); ±0.1% bounds that with room. The sensor's own calibration is not included. */
export const COUNTER_SPREAD = 0.001;

/**
 * NVIDIA_SMI_SPREAD: nvidia-smi's power.draw on A100/H100 averages about 25 ms of every 100 ms (Yang, Adamek
 * and Armour 2024, "Accurate and Convenient Energy Measurements for GPUs", SC24, arXiv:2312.02741): load that
 * changes faster than that can be missed. ±10% is assumed for energy integrated from it (trapezoid rule).
 */
export const NVIDIA_SMI_SPREAD = 0.1;

/** SAMPLED_SPREAD: other sampled power (NVML power pre-Volta, hwmon power1_average, recorded traces), trapezoid rule between samples: ±5%, assumed. */
export const SAMPLED_SPREAD = 0.05;

/**
 * MODEL_SPREADS: modelled power. CPU: TDP × utilisation (the Cloud Carbon Footprint / Green Algorithms
 * approach, TDPs from vendor sheets): ±40%, assumed — real package power at a given utilisation depends on
 * frequency, instruction mix and idle states the model does not see. RAM: W per GB of installed memory (CCF
 * 0.392 W/GB) ignores activity: ±50%, assumed. TPU: published average power per chip (Patterson et al. 2021,
 * Table 3): ±30%, assumed; other models ±50%.
 */
export const MODEL_SPREADS: Readonly<Record<string, number>> = { cpu: 0.4, ram: 0.5, tpu: 0.3, other: 0.5 };

/**
 * INTENSITY_SPREADS by the period's quality. An annual average used for an hour: ±50% — in the Electricity
 * Maps hourly exports of January 2022 for DE, ES and US-CAL-CISO, 90% of hours lie within ±37–47% of the
 * month's mean, NO within ±50% (measured on those exports). A forecast not yet replaced by an actual: ±15%,
 * assumed. The world average, used when no zone is known: from the 5th to the 95th percentile of the
 * embedded zones' annual averages (30 and 700 gCO2e/kWh against 472.94: −94%, +48%). An hourly actual or a
 * figure the user gave (--intensity, a file): 0 — their own uncertainty is not modelled.
 */
export const INTENSITY_SPREADS: Readonly<Record<IntensityQuality, { low: number; high: number }>> = {
  actual: { low: 0, high: 0 },
  forecast: { low: 0.15, high: 0.15 },
  annual: { low: 0.5, high: 0.5 },
  mixed: { low: 0.5, high: 0.5 },
  assumed: { low: 0.94, high: 0.48 },
};

/** UncertaintyDevice is what the bounds need of a device: its energy (J), method, collector and kind. */
export interface UncertaintyDevice {
  id: string;
  kind: DeviceKind;
  method: EnergyMethod;
  collector: string;
  energyJoules: number;
}

/** UncertaintyPeriod is what the bounds need of an accounting period. */
export interface UncertaintyPeriod {
  co2eLocationGrams: number;
  co2eMarketGrams: number;
  quality: IntensityQuality;
  source: string;
}

/** UncertaintyInputs are a run's facts (SI units) as the report has them. */
export interface UncertaintyInputs {
  devices: readonly UncertaintyDevice[];
  /** Gaps not bridged: a device's silence (ms), and the energy recovered from a counter, if any. */
  gaps: readonly { deviceId: string; startMs: number; endMs: number; recoveredJoules?: number }[];
  periods: readonly UncertaintyPeriod[];
  durationSeconds: number;
  pue: number;
  market: MarketInstruments;
}

/** Range is a central figure's low and high bound, in the figure's unit. */
export interface Range {
  low: number;
  high: number;
}

/** Uncertainty is the report's `uncertainty`: ranges in kWh and kg CO2e, and the basis of each part. */
export interface Uncertainty {
  itKwh: Range;
  facilityKwh: Range;
  co2eLocationKg: Range;
  co2eMarketKg: Range;
  /** IT energy of the unbridged gaps, estimated (duration × the device's average power): in the high bounds only. */
  gapEstimateKwh: number;
  byDevice: { id: string; method: EnergyMethod; lowKwh: number; highKwh: number; gapEstimateKwh: number; basis: string }[];
  intensity: { quality: IntensityQuality; periods: number; low: number; high: number; basis: string }[];
  method: string;
}

/** deviceSpread names the bound of one device's energy by how it was obtained. */
export function deviceSpread(d: Pick<UncertaintyDevice, 'method' | 'collector' | 'kind'>): Spread {
  const pct = (x: number) => `±${Number((x * 100).toPrecision(3))}%`;
  if (d.method === 'counter') {
    const counter = d.collector === 'nvml' ? 'NVML energy counter, 1 mJ resolution' : d.collector === 'rapl' ? 'RAPL energy_uj, 1 µJ resolution'
      : d.collector === 'amdgpu' ? 'hwmon energy1_input, 1 µJ resolution' : 'energy counter';
    return { low: COUNTER_SPREAD, high: COUNTER_SPREAD, basis: `${pct(COUNTER_SPREAD)}: ${counter} (exact between reads; sensor calibration not included)` };
  }
  if (d.method === 'sampled') {
    if (d.collector === 'nvidia-smi') {
      return { low: NVIDIA_SMI_SPREAD, high: NVIDIA_SMI_SPREAD, basis: `${pct(NVIDIA_SMI_SPREAD)}, assumed: nvidia-smi power.draw averages ~25% of the time on A100/H100 (Yang et al. 2024, arXiv:2312.02741)` };
    }
    return { low: SAMPLED_SPREAD, high: SAMPLED_SPREAD, basis: `${pct(SAMPLED_SPREAD)}, assumed: sampled power, trapezoid rule between samples` };
  }
  const key = d.collector === 'cpu' || d.collector === 'ram' || d.collector === 'tpu' ? d.collector : 'other';
  const spread = MODEL_SPREADS[key]!;
  const model = key === 'cpu' ? 'CPU TDP × utilisation model' : key === 'ram' ? 'W per GB of installed memory (CCF)' : key === 'tpu' ? 'published average power per TPU chip (Patterson et al. 2021)' : 'power model';
  return { low: spread, high: spread, basis: `${pct(spread)}, assumed: ${model}` };
}

/** intensitySpread names the bound of one period's intensity. */
export function intensitySpread(p: Pick<UncertaintyPeriod, 'quality' | 'source'>): Spread {
  if (p.source.startsWith('constant')) return { low: 0, high: 0, basis: 'the figure given (--intensity): not varied' };
  const s = INTENSITY_SPREADS[p.quality];
  const basis = p.quality === 'actual' ? 'hourly actual: not varied'
    : p.quality === 'forecast' ? '±15%, assumed: a forecast not yet replaced by the actual'
      : p.quality === 'assumed' ? '−94%/+48%: world average for an unknown zone (5th–95th percentile of the embedded zones\' annual averages)'
        : '±50%: an annual average used for an hour (90% of hours within ±37–50% of the month\'s mean in Electricity Maps 2022 hourly exports for DE, ES, NO, US-CAL-CISO)';
  return { ...s, basis };
}

/**
 * computeUncertainty bounds IT energy, facility energy and CO2e. IT energy: Σ devices E(1 ± spread), the
 * high end plus each unbridged gap's estimate (its duration × the device's average power over the rest of
 * the run). CO2e: the energy factors (low/central, high/central) times Σ periods CO2e(1 ± the period's
 * intensity spread); market-based takes the intensity spreads only where it follows the location intensity
 * (no --market-intensity, no --residual-mix). Pure.
 */
export function computeUncertainty(input: UncertaintyInputs): Uncertainty {
  const kwh = (j: number) => j / 3.6e6;
  let itJoules = 0;
  let lowJoules = 0;
  let highJoules = 0;
  let gapJoules = 0;
  const byDevice = input.devices.map((d) => {
    const spread = deviceSpread(d);
    const silentSeconds = input.gaps.filter((g) => g.deviceId === d.id && !g.recoveredJoules).reduce((s, g) => s + Math.max(0, g.endMs - g.startMs) / 1000, 0);
    const measuredSeconds = input.durationSeconds - silentSeconds;
    const gap = silentSeconds > 0 && measuredSeconds > 0 ? (d.energyJoules / measuredSeconds) * silentSeconds : 0;
    itJoules += d.energyJoules;
    lowJoules += d.energyJoules * (1 - spread.low);
    highJoules += d.energyJoules * (1 + spread.high) + gap;
    gapJoules += gap;
    return {
      id: d.id, method: d.method, lowKwh: kwh(d.energyJoules * (1 - spread.low)), highKwh: kwh(d.energyJoules * (1 + spread.high) + gap),
      gapEstimateKwh: kwh(gap), basis: spread.basis,
    };
  });
  const lowFactor = itJoules > 0 ? lowJoules / itJoules : 1;
  const highFactor = itJoules > 0 ? highJoules / itJoules : 1;
  const marketFollowsLocation = input.market.marketIntensityGramsPerKwh === undefined && input.market.residualMixGramsPerKwh === undefined;
  let locLow = 0, locHigh = 0, mktLow = 0, mktHigh = 0;
  const byQuality = new Map<IntensityQuality, { quality: IntensityQuality; periods: number; low: number; high: number; basis: string }>();
  for (const p of input.periods) {
    const s = intensitySpread(p);
    locLow += p.co2eLocationGrams * (1 - s.low);
    locHigh += p.co2eLocationGrams * (1 + s.high);
    mktLow += p.co2eMarketGrams * (marketFollowsLocation ? 1 - s.low : 1);
    mktHigh += p.co2eMarketGrams * (marketFollowsLocation ? 1 + s.high : 1);
    const key = p.source.startsWith('constant') ? 'actual' : p.quality;
    const entry = byQuality.get(key) ?? { quality: p.quality, periods: 0, low: s.low, high: s.high, basis: s.basis };
    entry.periods++;
    byQuality.set(key, entry);
  }
  return {
    itKwh: { low: kwh(lowJoules), high: kwh(highJoules) },
    facilityKwh: { low: kwh(lowJoules * input.pue), high: kwh(highJoules * input.pue) },
    co2eLocationKg: { low: (locLow * lowFactor) / 1000, high: (locHigh * highFactor) / 1000 },
    co2eMarketKg: { low: (mktLow * lowFactor) / 1000, high: (mktHigh * highFactor) / 1000 },
    gapEstimateKwh: kwh(gapJoules),
    byDevice,
    intensity: [...byQuality.values()],
    method: 'worst-case bounds: every device and every period at the extreme of its range at once; unbridged gaps estimated at the device\'s average power and counted in the high end only',
  };
}
