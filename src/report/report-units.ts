import { fixed, formatCo2eKg, formatKwh, formatWatts } from './format.js';

/**
 * ReportUnits is how a rendering writes quantities. The terminal table picks the SI prefix that fits each
 * value (mWh…MWh, mg…t, W…MW, the unit in every cell); Markdown keeps the fixed units its columns are
 * documented in (kWh, kg, W) so a paper's table can be pasted as is, switching to scientific notation below
 * 0.001 rather than printing a row of zeros.
 */
export interface ReportUnits {
  /** kwh writes an energy given in kWh, with its unit. */
  kwh(kwh: number): string;
  /** kg writes a CO2e mass given in kg, with its unit. */
  kg(kg: number): string;
  /** watts writes a power given in W, with its unit. */
  watts(watts: number): string;
  /** kwhCell, kgCell and wattsCell write a table cell: with its unit (SI) or bare under a unit header (fixed). */
  kwhCell(kwh: number): string;
  kgCell(kg: number): string;
  wattsCell(watts: number): string;
  /** column picks the header: `si` names the quantity, `fixedUnits` names it with its unit. */
  column(si: string, fixedUnits: string): string;
}

/** SI_UNITS is the terminal table's style: prefixes that fit each value. */
export const SI_UNITS: ReportUnits = {
  kwh: formatKwh, kg: formatCo2eKg, watts: formatWatts,
  kwhCell: formatKwh, kgCell: formatCo2eKg, wattsCell: formatWatts,
  column: (si) => si,
};

/** FIXED_UNITS is the Markdown style: kWh, kg and W throughout, as the README documents. */
export const FIXED_UNITS: ReportUnits = {
  kwh: (x) => `${fixed(x, 4)} kWh`, kg: (x) => `${fixed(x, 3)} kg`, watts: (x) => `${fixed(x, 3)} W`,
  kwhCell: (x) => fixed(x, 4), kgCell: (x) => fixed(x, 3), wattsCell: (x) => fixed(x, 3),
  column: (_si, fixedUnits) => fixedUnits,
};
