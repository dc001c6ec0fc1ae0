import { co2eGrams, facilityJoules, marketBasis, marketGramsPerKwh, type MarketInstruments } from './carbon.js';
import { formatCo2eKg, formatKwh, formatPue, sig } from '../report/format.js';
import { joulesToKwh } from '../units.js';

/**
 * ESTIMATE_DEFAULT_PUE is the PUE used when none is given: the industry average of the Uptime Institute
 * Global Data Center Survey 2023 (1.58), reported as assumed.
 */
export const ESTIMATE_DEFAULT_PUE = 1.58;

/** EstimateInput is the paper's calculator input: accelerators × average system W per accelerator × hours. */
export interface EstimateInput {
  accelerators: number;
  /** Average system power per accelerator in watts (chip, memory, NIC, fans, host share), as in Table 4. */
  wattsPerAccelerator: number;
  hours: number;
  /** Datacenter PUE; default ESTIMATE_DEFAULT_PUE, flagged pueAssumed. */
  pue?: number;
  /** Location-based grid intensity in gCO2e/kWh. */
  intensityGramsPerKwh: number;
  /** Where the intensity came from ('--intensity', 'table: … zone DE'), shown with it. */
  intensitySource?: string;
  /** Market-based (contractual/residual) intensity in gCO2e/kWh: the paper's "net" column. */
  marketIntensityGramsPerKwh?: number;
  /** Contracted carbon-free energy fraction 0..1: market intensity = (1 − cfe) × residual mix. */
  cfe?: number;
  /** Residual mix in gCO2e/kWh for the uncovered share (default: the location intensity). */
  residualMixGramsPerKwh?: number;
}

/** EstimateResult carries the inputs back with the energy (kWh) and CO2e (kg) they imply. */
export interface EstimateResult {
  accelerators: number;
  wattsPerAccelerator: number;
  hours: number;
  pue: number;
  pueAssumed: boolean;
  intensity: { gramsPerKwh: number; marketGramsPerKwh: number; marketBasis: string; source?: string };
  energy: { itKwh: number; facilityKwh: number };
  co2e: { locationKg: number; marketKg: number };
}

/**
 * estimate applies Patterson et al. 2021 §2.5 through src/carbon.ts: IT energy = N × W × hours,
 * facility = IT × PUE, CO2e = facility kWh × gCO2e/kWh (location) and × market intensity (market).
 * Throws RangeError on a negative, zero or non-finite input (cfe outside 0..1 included).
 */
export function estimate(input: EstimateInput): EstimateResult {
  const pue = input.pue ?? ESTIMATE_DEFAULT_PUE;
  positive('accelerators', input.accelerators);
  positive('wattsPerAccelerator', input.wattsPerAccelerator);
  positive('hours', input.hours);
  if (!Number.isFinite(pue) || pue < 1) throw new RangeError(`pue must be a number ≥ 1, got ${pue}`);
  nonNegative('intensityGramsPerKwh', input.intensityGramsPerKwh);
  const market: MarketInstruments = {};
  if (input.marketIntensityGramsPerKwh !== undefined) {
    nonNegative('marketIntensityGramsPerKwh', input.marketIntensityGramsPerKwh);
    market.marketIntensityGramsPerKwh = input.marketIntensityGramsPerKwh;
  }
  if (input.cfe !== undefined) {
    if (!(input.cfe >= 0 && input.cfe <= 1)) throw new RangeError(`cfe must be a fraction from 0 to 1, got ${input.cfe}`);
    market.cfe = input.cfe;
  }
  if (input.residualMixGramsPerKwh !== undefined) {
    nonNegative('residualMixGramsPerKwh', input.residualMixGramsPerKwh);
    market.residualMixGramsPerKwh = input.residualMixGramsPerKwh;
  }
  const itJoules = input.accelerators * input.wattsPerAccelerator * input.hours * 3600;
  const facility = facilityJoules(itJoules, pue);
  const marketGrams = marketGramsPerKwh(input.intensityGramsPerKwh, market);
  return {
    accelerators: input.accelerators,
    wattsPerAccelerator: input.wattsPerAccelerator,
    hours: input.hours,
    pue,
    pueAssumed: input.pue === undefined,
    intensity: {
      gramsPerKwh: input.intensityGramsPerKwh, marketGramsPerKwh: marketGrams, marketBasis: marketBasis(market, false),
      ...(input.intensitySource ? { source: input.intensitySource } : {}),
    },
    energy: { itKwh: joulesToKwh(itJoules), facilityKwh: joulesToKwh(facility) },
    co2e: { locationKg: co2eGrams(facility, input.intensityGramsPerKwh) / 1000, marketKg: co2eGrams(facility, marketGrams) / 1000 },
  };
}

/** renderEstimate returns the estimate as a short text block, or as JSON (the EstimateResult object). */
export function renderEstimate(result: EstimateResult, json: boolean): string {
  if (json) return `${JSON.stringify(result, null, 2)}\n`;
  const days = result.hours / 24;
  const rows: [string, string][] = [
    ['Accelerators', `${sig(result.accelerators, 6)} × ${sig(result.wattsPerAccelerator, 4)} W average system power`],
    ['Training time', `${sig(result.hours, 4)} h (${sig(days, 3)} ${days === 1 ? 'day' : 'days'})`],
    ['IT energy', formatKwh(result.energy.itKwh)],
    ['PUE', `${formatPue(result.pue)}${result.pueAssumed ? ' (assumed: industry average, Uptime Institute 2023)' : ''}`],
    ['Facility energy', formatKwh(result.energy.facilityKwh)],
    ['Grid intensity', `${sig(result.intensity.gramsPerKwh, 3)} gCO2e/kWh${result.intensity.source ? ` (${result.intensity.source})` : ''}`],
    ['CO2e location-based', formatCo2eKg(result.co2e.locationKg)],
    ['CO2e market-based', `${formatCo2eKg(result.co2e.marketKg)} (${result.intensity.marketBasis})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const body = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
  // Table 4 prints its inputs rounded (330 W, 14.8 days), so a recomputation differs from its printed totals
  // in the last digit (GPT-3: 1,289 vs 1,287 MWh): test/estimate.test.ts derives that tolerance row by row.
  return `Estimate (Patterson et al. 2021: N × W × hours × PUE × gCO2e/kWh)\n${body}\n`;
}

function positive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a positive number, got ${v}`);
}

function nonNegative(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${name} must be a number ≥ 0, got ${v}`);
}
