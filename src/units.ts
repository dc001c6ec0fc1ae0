/** Unit conversions. Everything inside wattprint is SI (joules, watts, seconds, grams); these sit at the edges. */

/** JOULES_PER_KWH is the number of joules in one kilowatt-hour. */
export const JOULES_PER_KWH = 3_600_000;

/** joulesToKwh converts joules to kilowatt-hours. */
export function joulesToKwh(energyJoules: number): number {
  return energyJoules / JOULES_PER_KWH;
}

/** MS_PER_HOUR is the length of one hour in milliseconds. */
export const MS_PER_HOUR = 3_600_000;

/** periodStartMs returns the start (ms since epoch, UTC) of the period of periodSeconds that holds atMs. */
export function periodStartMs(atMs: number, periodSeconds: number): number {
  const periodMs = periodSeconds * 1000;
  return Math.floor(atMs / periodMs) * periodMs;
}

/** millijoulesToJoules converts NVML's mJ to joules. */
export function millijoulesToJoules(energyMillijoules: number): number {
  return energyMillijoules / 1000;
}

/** microjoulesToJoules converts RAPL/hwmon µJ to joules. */
export function microjoulesToJoules(energyMicrojoules: number): number {
  return energyMicrojoules / 1_000_000;
}

/** milliwattsToWatts converts NVML's mW to watts. */
export function milliwattsToWatts(powerMilliwatts: number): number {
  return powerMilliwatts / 1000;
}

/** microwattsToWatts converts hwmon's µW to watts. */
export function microwattsToWatts(powerMicrowatts: number): number {
  return powerMicrowatts / 1_000_000;
}

/** lbsPerMwhToGramsPerKwh converts WattTime's MOER (lbs CO2/MWh) to g/kWh. */
export function lbsPerMwhToGramsPerKwh(lbsPerMwh: number): number {
  return (lbsPerMwh * 453.59237) / 1000;
}
