import { co2eGrams, facilityJoules, marketGramsPerKwh, type MarketInstruments } from '../carbon/carbon.js';
import type { IntensityProvider, IntensityValue } from '../intensity/types.js';
import type { PeriodWrite } from '../store/rows.js';

/** MinuteEnergy is IT energy (all devices) that fell in one UTC minute. */
export interface MinuteEnergy {
  minuteStartMs: number;
  itJoules: number;
}

/** AccountingSettings are the factors applied to IT energy. */
export interface AccountingSettings {
  pue: number;
  market: MarketInstruments;
  intensity: IntensityProvider;
}

/**
 * accountMinutes applies PUE and the intensity of each minute's period: CO2e = Σ_p facility kWh(p) × CI(p).
 * Minutes nest inside hours and half hours, so per-minute energy assigns exactly to the source's periods.
 * Pure apart from the provider's in-memory lookup; used live per tick, for restatement and for replay.
 */
export function accountMinutes(minutes: readonly MinuteEnergy[], settings: AccountingSettings): PeriodWrite[] {
  const periods = new Map<number, PeriodWrite>();
  for (const m of minutes) {
    const value = settings.intensity.lookup(m.minuteStartMs);
    const facility = facilityJoules(m.itJoules, settings.pue);
    const marketIntensity = marketGramsPerKwh(value.gramsPerKwh, settings.market, value.cfe);
    const existing = periods.get(value.periodStartMs);
    if (existing) {
      existing.itJoules += m.itJoules;
      existing.facilityJoules += facility;
      existing.co2eLocationGrams += co2eGrams(facility, value.gramsPerKwh);
      existing.co2eMarketGrams += co2eGrams(facility, marketIntensity);
    } else {
      periods.set(value.periodStartMs, periodOf(value, m.itJoules, facility, marketIntensity));
    }
  }
  return [...periods.values()];
}

function periodOf(value: IntensityValue, itJoules: number, facility: number, marketIntensity: number): PeriodWrite {
  return {
    periodStartMs: value.periodStartMs,
    periodSeconds: value.periodSeconds,
    itJoules,
    facilityJoules: facility,
    intensityGramsPerKwh: value.gramsPerKwh,
    cfe: value.cfe,
    co2eLocationGrams: co2eGrams(facility, value.gramsPerKwh),
    co2eMarketGrams: co2eGrams(facility, marketIntensity),
    source: value.source,
    quality: value.quality,
  };
}

/** sumPeriods totals a list of periods. */
export function sumPeriods(periods: readonly PeriodWrite[]): { itJoules: number; facilityJoules: number; co2eLocationGrams: number; co2eMarketGrams: number } {
  let itJoules = 0, facility = 0, loc = 0, mkt = 0;
  for (const p of periods) {
    itJoules += p.itJoules;
    facility += p.facilityJoules;
    loc += p.co2eLocationGrams;
    mkt += p.co2eMarketGrams;
  }
  return { itJoules, facilityJoules: facility, co2eLocationGrams: loc, co2eMarketGrams: mkt };
}
