// wattprint dashboard charts: thin helpers over uPlot (served by the agent from node_modules). Loaded after
// format.js and before app.js.
(function (root) {
  'use strict';

  const fmt = root.wattprintFormat;
  const AXIS = { stroke: '#8b98a5', grid: { stroke: '#2a3440' }, ticks: { stroke: '#2a3440' } };

  // The x series: its legend value is the hovered (or latest) time, local with UTC beside it.
  function timeSeries() {
    return { label: 'Time', value: (_u, v) => (v == null ? '—' : fmt.clock(v * 1000)) };
  }

  // A legend away from the cursor shows the latest point instead of uPlot's empty "--".
  function pinLegend(u) {
    const n = u.data[0] ? u.data[0].length : 0;
    if (n > 0 && u.cursor.idx == null) u.setLegend({ idx: n - 1 });
  }

  // axisValues formats an axis's ticks with one of format.js's unit formatters, without trailing zeros
  // (ticks fall on round numbers: '6 Wh', not '6.000 Wh').
  function axisValues(format) {
    const trim = (text) => text.replace(/(\.\d*?)0+(?= )/, '$1').replace(/\.(?= )/, '');
    return (_u, ticks) => ticks.map((v) => (v == null ? '' : trim(format(v))));
  }

  function create(el, opts, data) {
    el.textContent = '';
    if (typeof root.uPlot !== 'function') {
      el.textContent = 'chart library failed to load';
      return null;
    }
    const hooks = { ready: [pinLegend], setData: [pinLegend], setCursor: [pinLegend] };
    for (const [name, fns] of Object.entries(opts.hooks || {})) hooks[name] = (hooks[name] || []).concat(fns);
    return new root.uPlot(Object.assign({ width: Math.max(300, el.clientWidth), height: 240 }, opts, { hooks }), data, el);
  }

  function resize(chart, el) {
    if (chart) chart.setSize({ width: Math.max(300, el.clientWidth), height: chart.height });
  }

  root.wattprintCharts = { AXIS, timeSeries, axisValues, create, resize };
})(window);
