import { joulesToKwh } from '../units.js';

/**
 * The accounting formula of Patterson et al. 2021, written once:
 *   facility energy = IT energy × PUE
 *   CO2e (location) = facility kWh × grid intensity (gCO2e/kWh)
 *   CO2e (market)   = facility kWh × market intensity, or × intensity × (1 − CFE)
 */

/** facilityJoules is IT energy scaled by the datacenter's power usage effectiveness. */
export function facilityJoules(itEnergyJoules: number, pue: number): number {
  return itEnergyJoules * pue;
}

/** co2eGrams is the location-based emissions of an energy at an intensity in gCO2e/kWh. */
export function co2eGrams(energyJoules: number, intensityGramsPerKwh: number): number {
  return joulesToKwh(energyJoules) * intensityGramsPerKwh;
}

/** MarketInstruments are what a user bought: a contractual intensity, or a carbon-free energy fraction. */
export interface MarketInstruments {
  /** Residual/contractual intensity in gCO2e/kWh (the paper's "net" figures use these). */
  marketIntensityGramsPerKwh?: number;
  /** Fixed carbon-free energy fraction 0..1 (`--cfe`). */
  cfe?: number;
}

/** marketGramsPerKwh is the market-based intensity for a period; periodCfe is the source's hourly CFE, if any. */
export function marketGramsPerKwh(
  locationGramsPerKwh: number,
  market: MarketInstruments,
  periodCfe?: number,
): number {
  if (market.marketIntensityGramsPerKwh !== undefined) return market.marketIntensityGramsPerKwh;
  const cfe = market.cfe ?? periodCfe;
  if (cfe !== undefined) return locationGramsPerKwh * (1 - cfe);
  return locationGramsPerKwh;
}

/** marketBasis describes in words how market-based CO2e is derived. */
export function marketBasis(market: MarketInstruments, sourceHasCfe: boolean): string {
  if (market.marketIntensityGramsPerKwh !== undefined) {
    return `market intensity ${market.marketIntensityGramsPerKwh} gCO2e/kWh (--market-intensity)`;
  }
  if (market.cfe !== undefined) return `carbon-free energy fraction ${market.cfe} (--cfe)`;
  if (sourceHasCfe) return 'hourly carbon-free energy fraction from the intensity source';
  return 'no market instruments given: market-based equals location-based';
}
