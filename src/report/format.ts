/** Number and time formatting shared by the report renderers and the estimate: one place for rounding rules. */

/**
 * sig formats x to `digits` significant figures in plain notation with thousands separators and no
 * trailing zeros: sig(1289.4, 4) = '1,289', sig(0.000352, 3) = '0.000352', sig(552951, 3) = '553,000'.
 */
export function sig(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const rounded = Number(x.toPrecision(digits));
  const magnitude = Math.floor(Math.log10(Math.abs(rounded)));
  const decimals = Math.max(0, Math.min(20, digits - 1 - magnitude));
  const [int, frac] = rounded.toFixed(decimals).split('.') as [string, string | undefined];
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const trimmed = frac?.replace(/0+$/, '');
  return trimmed ? `${grouped}.${trimmed}` : grouped;
}

/** SiUnit is one step of a unit ladder: how many base units it holds and its symbol. */
type SiUnit = readonly [factor: number, symbol: string];

/** ENERGY_UNITS are the prefixes an energy in watt-hours is shown with: mWh up to MWh (the paper's unit). */
const ENERGY_UNITS: readonly SiUnit[] = [[1e-3, 'mWh'], [1, 'Wh'], [1e3, 'kWh'], [1e6, 'MWh']];
/** MASS_UNITS are the prefixes a mass in grams is shown with: mg up to tonnes. */
const MASS_UNITS: readonly SiUnit[] = [[1e-3, 'mg'], [1, 'g'], [1e3, 'kg'], [1e6, 't']];
/** POWER_UNITS are the prefixes a power in watts is shown with. */
const POWER_UNITS: readonly SiUnit[] = [[1, 'W'], [1e3, 'kW'], [1e6, 'MW']];

/**
 * siPrefixed shows value (in the ladder's base unit) with the prefix that puts it in [1, 1000) and `digits`
 * significant figures, trailing zeros kept so live figures do not change width: 0.0002087 kWh → '208.7 mWh'
 * (energy ladder), 1500 g → '1.50 kg'. Below the smallest step the smallest is kept; above the largest,
 * thousands are grouped ('1,289 MWh'). The decision is made after rounding, so 999.96 Wh is '1.000 kWh'.
 */
export function siPrefixed(value: number, units: readonly SiUnit[], digits: number): string {
  if (!Number.isFinite(value)) return '—';
  const base = units.find(([factor]) => factor === 1) ?? units[0]!;
  if (value === 0) return `0 ${base[1]}`;
  const abs = Math.abs(value);
  let i = units.length - 1;
  while (i > 0 && abs < units[i]![0]) i--;
  // Rounding can carry a value to 1000 of its unit: show it as 1.000 of the next one.
  if (i < units.length - 1 && Number((abs / units[i]![0]).toPrecision(digits)) >= 1000) i++;
  const [factor, symbol] = units[i]!;
  const scaled = value / factor;
  const rounded = Math.abs(Number(scaled.toPrecision(digits)));
  const plain = rounded >= 1000 || rounded < 1;
  const text = plain ? sig(scaled, digits) : scaled.toPrecision(digits);
  return `${text} ${symbol}`;
}

/** formatEnergyJoules shows an energy given in joules from mWh to MWh with 4 significant figures. */
export function formatEnergyJoules(joules: number): string {
  return siPrefixed(joules / 3600, ENERGY_UNITS, 4);
}

/** formatKwh shows an energy given in kWh from mWh to MWh with 4 significant figures: 0.01568 → '15.68 Wh'. */
export function formatKwh(kwh: number): string {
  return siPrefixed(kwh * 1000, ENERGY_UNITS, 4);
}

/** formatMassGrams shows a mass given in grams from mg to t with 3 significant figures: 0.448 → '448 mg'. */
export function formatMassGrams(grams: number): string {
  return siPrefixed(grams, MASS_UNITS, 3);
}

/** formatCo2eKg shows a mass given in kg from mg to t with 3 significant figures: 553142 → '553 t'. */
export function formatCo2eKg(kg: number): string {
  return siPrefixed(kg * 1000, MASS_UNITS, 3);
}

/** formatWatts shows a power in watts, W to MW, with 3 significant figures: 1446.3 → '1.45 kW'. */
export function formatWatts(watts: number): string {
  return siPrefixed(watts, POWER_UNITS, 3);
}

/**
 * fixed shows a number in a fixed, documented unit (Markdown, the Table 4 block): `digits` significant figures
 * in plain notation, and scientific notation below 0.001, where plain notation is a row of zeros:
 * fixed(0.003977, 4) = '0.003977', fixed(4.48e-10, 3) = '4.48e-10'.
 */
export function fixed(x: number, digits: number): string {
  if (!Number.isFinite(x) || x === 0 || Math.abs(x) >= 0.001) return sig(x, digits);
  const [mantissa, exponent] = x.toExponential(digits - 1).split('e') as [string, string];
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return `${trimmed}e${exponent}`;
}

/** formatPue shows a PUE with two decimals (three when given): 1.1 → '1.10', 1.135 → '1.135'. */
export function formatPue(pue: number): string {
  const three = pue.toFixed(3);
  return three.endsWith('0') ? pue.toFixed(2) : three;
}

/** formatDuration shows seconds as '45s', '12m 05s', '3h 02m 01s' or '2d 03h 04m'. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${p(h)}h ${p(m)}m`;
  if (h > 0) return `${h}h ${p(m)}m ${p(sec)}s`;
  if (m > 0) return `${m}m ${p(sec)}s`;
  return `${sec}s`;
}

/** formatUtc shows an ISO 8601 instant as 'YYYY-MM-DD HH:MM:SSZ' (UTC, whole seconds). */
export function formatUtc(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
