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

/** formatKwh shows an energy given in kWh with 4 significant figures: MWh from 1,000 kWh, Wh below 0.1 kWh. */
export function formatKwh(kwh: number): string {
  if (Math.abs(kwh) >= 1000) return `${sig(kwh / 1000, 4)} MWh`;
  if (kwh !== 0 && Math.abs(kwh) < 0.1) return `${sig(kwh * 1000, 4)} Wh`;
  return `${sig(kwh, 4)} kWh`;
}

/** formatCo2eKg shows a mass given in kg with 3 significant figures: tonnes added from 1,000 kg, grams below 0.1 kg. */
export function formatCo2eKg(kg: number): string {
  if (Math.abs(kg) >= 1000) return `${sig(kg, 3)} kg (${sig(kg / 1000, 3)} t)`;
  if (kg !== 0 && Math.abs(kg) < 0.1) return `${sig(kg * 1000, 3)} g`;
  return `${sig(kg, 3)} kg`;
}

/** formatWatts shows a power in watts with 3 significant figures. */
export function formatWatts(watts: number): string {
  return `${sig(watts, 3)} W`;
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
