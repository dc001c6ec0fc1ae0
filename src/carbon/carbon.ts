import { joulesToKwh } from '../units.js';

/**
 * The accounting formula of Patterson et al. 2021, written once, with GHG Protocol Scope 2 dual reporting:
 *   facility energy  = IT energy × PUE
 *   CO2e (location)  = facility kWh × grid intensity (gCO2e/kWh)
 *   CO2e (market)    = facility kWh × market intensity, where the market intensity is
 *                      --market-intensity G, else (1 − contracted CFE) × residual mix
 *                      (contracted CFE: --cfe F, else the user's hourly `cfe` column, else 0;
 *                       residual mix: --residual-mix G, else the location intensity, marked assumed).
 * Only instruments the user holds count: a grid's own carbon-free share (Electricity Maps' CFE%) is already
 * inside its intensity and is never one.
 */
/** facilityJoules is IT energy scaled by the datacenter's power usage effectiveness. */
export function facilityJoules(itEnergyJoules: number, pue: number): number {
  return itEnergyJoules * pue;
}

/** co2eGrams is the location-based emissions of an energy at an intensity in gCO2e/kWh. */
export function co2eGrams(energyJoules: number, intensityGramsPerKwh: number): number {
  return joulesToKwh(energyJoules) * intensityGramsPerKwh;
}

/** MarketInstruments are what a user holds: a contractual intensity, contracted carbon-free supply, a residual mix. */
export interface MarketInstruments {
  /** Contractual intensity of all consumption in gCO2e/kWh (`--market-intensity`; the paper's "net" figures). */
  marketIntensityGramsPerKwh?: number;
  /** Contracted carbon-free energy fraction 0..1 (`--cfe`): PPAs, certificates on the same grid. */
  cfe?: number;
  /** Residual mix in gCO2e/kWh for the share no contract covers (`--residual-mix`); default the location intensity. */
  residualMixGramsPerKwh?: number;
}

/**
 * marketGramsPerKwh is the market-based intensity of one period (gCO2e/kWh); contractedCfe is the user's own
 * hourly contracted CFE for the period (the plain CSV's `cfe` column), if any. Without instruments it equals
 * the location intensity.
 */
export function marketGramsPerKwh(
  locationGramsPerKwh: number,
  market: MarketInstruments,
  contractedCfe?: number,
): number {
  if (market.marketIntensityGramsPerKwh !== undefined) return market.marketIntensityGramsPerKwh;
  const covered = market.cfe ?? contractedCfe ?? 0;
  return (1 - covered) * (market.residualMixGramsPerKwh ?? locationGramsPerKwh);
}

/** marketBasis describes in words how market-based CO2e is derived; sourceHasCfe: the periods carry the user's hourly CFE. */
export function marketBasis(market: MarketInstruments, sourceHasCfe: boolean): string {
  if (market.marketIntensityGramsPerKwh !== undefined) {
    return `market intensity ${market.marketIntensityGramsPerKwh} gCO2e/kWh (--market-intensity)`;
  }
  const residual = market.residualMixGramsPerKwh !== undefined
    ? `the residual mix ${market.residualMixGramsPerKwh} gCO2e/kWh (--residual-mix)`
    : 'the location intensity (no --residual-mix: assumed)';
  if (market.cfe !== undefined) {
    const over = sourceHasCfe ? ', overriding the intensity file\'s hourly cfe column' : '';
    return `contracted carbon-free fraction ${market.cfe} (--cfe${over}); the uncovered share at ${residual}`;
  }
  if (sourceHasCfe) return `contracted hourly carbon-free fraction from the intensity file's cfe column; the uncovered share at ${residual}`;
  if (market.residualMixGramsPerKwh !== undefined) return `no contracts: every kWh at the residual mix ${market.residualMixGramsPerKwh} gCO2e/kWh (--residual-mix)`;
  return 'no market instruments given: market-based equals location-based';
}
