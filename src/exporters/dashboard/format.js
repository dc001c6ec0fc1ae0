// wattprint dashboard number and time formatting. A plain browser script (no build step), so it cannot import
// src/report/format.ts: it repeats the same rules, and test/exporters/dashboard-format.test.ts holds the two to
// the same outputs on a list of values. Loaded before app.js; also runs in Node's vm for that test.
(function (root) {
  'use strict';

  const ENERGY_UNITS = [[1e-3, 'mWh'], [1, 'Wh'], [1e3, 'kWh'], [1e6, 'MWh']];
  const MASS_UNITS = [[1e-3, 'mg'], [1, 'g'], [1e3, 'kg'], [1e6, 't']];
  const POWER_UNITS = [[1, 'W'], [1e3, 'kW'], [1e6, 'MW']];

  // sig: `digits` significant figures, plain notation, thousands grouped, trailing zeros dropped (format.ts sig).
  function sig(x, digits) {
    if (!Number.isFinite(x)) return String(x);
    if (x === 0) return '0';
    const rounded = Number(x.toPrecision(digits));
    const magnitude = Math.floor(Math.log10(Math.abs(rounded)));
    const decimals = Math.max(0, Math.min(20, digits - 1 - magnitude));
    const parts = rounded.toFixed(decimals).split('.');
    const grouped = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const trimmed = parts[1] ? parts[1].replace(/0+$/, '') : '';
    return trimmed ? `${grouped}.${trimmed}` : grouped;
  }

  // siPrefixed: the prefix that puts the value in [1, 1000), chosen after rounding (format.ts siPrefixed).
  function siPrefixed(value, units, digits) {
    if (!Number.isFinite(value)) return '—';
    const base = units.find((u) => u[0] === 1) || units[0];
    if (value === 0) return `0 ${base[1]}`;
    const abs = Math.abs(value);
    let i = units.length - 1;
    while (i > 0 && abs < units[i][0]) i--;
    if (i < units.length - 1 && Number((abs / units[i][0]).toPrecision(digits)) >= 1000) i++;
    const scaled = value / units[i][0];
    const rounded = Math.abs(Number(scaled.toPrecision(digits)));
    const text = rounded >= 1000 || rounded < 1 ? sig(scaled, digits) : scaled.toPrecision(digits);
    return `${text} ${units[i][1]}`;
  }

  const pad = (n) => String(n).padStart(2, '0');

  const fmt = {
    sig,
    energyJoules: (joules) => siPrefixed(joules / 3600, ENERGY_UNITS, 4),
    massGrams: (grams) => siPrefixed(grams, MASS_UNITS, 3),
    powerWatts: (watts) => siPrefixed(watts, POWER_UNITS, 3),
    intensity: (g) => (Number.isFinite(g) ? `${sig(g, 3)} g/kWh` : '—'),
    // duration: H:MM:SS, as the terminal status line shows elapsed time.
    duration(seconds) {
      const s = Math.max(0, Math.floor(seconds));
      return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    },
    // clock: the viewer's local time with UTC beside it ('14:30:05 (12:30:05 UTC)'); UTC alone when they agree.
    clock(ms, withDate) {
      const d = new Date(ms);
      if (!Number.isFinite(d.getTime())) return '—';
      const date = (y, m, day) => (withDate ? `${y}-${pad(m + 1)}-${pad(day)} ` : '');
      const utc = `${date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())}${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
      if (d.getTimezoneOffset() === 0) return utc;
      const local = `${date(d.getFullYear(), d.getMonth(), d.getDate())}${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      return `${local} (${utc})`;
    },
  };

  root.wattprintFormat = fmt;
})(typeof window !== 'undefined' ? window : globalThis);
