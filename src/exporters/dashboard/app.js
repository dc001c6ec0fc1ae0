// wattprint live dashboard: one page fed by /ws (protocol v1, see src/exporters/PROTOCOL.md).
// Plain browser script, no build step, no CDN: uPlot is served by the agent from node_modules.
(function () {
  'use strict';

  const JOULES_PER_KWH = 3600000;
  const MAX_POINTS = 900;
  const COLORS = ['#4cc38a', '#58a6ff', '#e5a50a', '#d2a8ff', '#ff7b72', '#39c5cf', '#f778ba', '#a5d6ff',
    '#7ee787', '#ffa657'];

  const state = { snapshot: null, deviceIds: [], data: [[]], chart: null, retryMs: 500 };

  const $ = (id) => document.getElementById(id);
  const setText = (id, text) => { $(id).textContent = text; };
  // setValue shows a number with a smaller unit after it; the element's text stays "<number> <unit>".
  const setValue = (id, number, unit) => {
    const unitEl = document.createElement('span');
    unitEl.className = 'u';
    unitEl.textContent = ` ${unit}`;
    $(id).replaceChildren(document.createTextNode(number), unitEl);
  };

  // fmt shows four significant digits below 1000 (whole numbers above), never more than six decimals.
  function fmt(n) {
    if (!Number.isFinite(n)) return '—';
    if (n === 0) return '0';
    const digits = Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(n)))));
    return n.toFixed(digits);
  }

  function fmtDuration(seconds) {
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (x) => String(x).padStart(2, '0');
    return `${h}:${pad(m)}:${pad(s % 60)}`;
  }

  function feedUrl() {
    const token = new URLSearchParams(location.search).get('token');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.host}/ws` + (token ? `?token=${encodeURIComponent(token)}` : '');
  }

  function deviceMeta(id) {
    const d = state.snapshot && state.snapshot.devices.find((x) => x.id === id);
    return d || { id, kind: 'other', name: id, method: '' };
  }

  function buildChart() {
    const el = $('chart');
    if (state.chart) state.chart.destroy();
    el.textContent = '';
    if (typeof uPlot !== 'function') { el.textContent = 'chart library failed to load'; return; }
    const series = [{}].concat(state.deviceIds.map((id, i) => ({
      label: `${id} (${deviceMeta(id).kind})`, stroke: COLORS[i % COLORS.length], width: 1.5,
      points: { show: false },
      value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)} W`),
    })));
    const axis = { stroke: '#8b98a5', grid: { stroke: '#2a3440' }, ticks: { stroke: '#2a3440' } };
    state.chart = new uPlot({
      width: Math.max(300, el.clientWidth), height: 300, series,
      scales: { y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [axis, Object.assign({}, axis, { size: 60, values: (_u, vals) => vals.map((v) => `${v} W`) })],
    }, state.data, el);
  }

  function setHistory(history) {
    state.deviceIds = history.deviceIds.slice();
    state.data = [history.t.slice()].concat(history.powerWatts.map((col) => col.slice()));
    buildChart();
  }

  function appendPoint(msg) {
    const ids = msg.devices.map((d) => d.id);
    const unknown = ids.filter((id) => !state.deviceIds.includes(id));
    if (unknown.length > 0) {
      // A device appeared mid-run: add a column of gaps behind it and rebuild the series.
      for (const id of unknown) { state.deviceIds.push(id); state.data.push(state.data[0].map(() => null)); }
      buildChart();
    }
    const byId = new Map(msg.devices.map((d) => [d.id, d.powerWatts]));
    state.data[0].push(Date.parse(msg.at) / 1000);
    state.deviceIds.forEach((id, i) => state.data[i + 1].push(byId.has(id) ? byId.get(id) : null));
    if (state.data[0].length > MAX_POINTS) for (const col of state.data) col.shift();
    if (state.chart) state.chart.setData(state.data);
  }

  function renderTotals(m) {
    setValue('power-total', fmt(m.totalPowerWatts), 'W');
    setValue('energy-kwh', fmt(m.itEnergyJoules / JOULES_PER_KWH), 'kWh');
    setText('facility-kwh', `facility ${fmt(m.facilityEnergyJoules / JOULES_PER_KWH)} kWh (PUE ${m.pue.toFixed(2)})`);
    setValue('co2e-kg', fmt(m.co2eGrams.location / 1000), 'kgCO2e');
    setText('co2e-market', `market-based ${fmt(m.co2eGrams.market / 1000)} kgCO2e`);
    setValue('intensity', fmt(m.intensityGramsPerKwh), 'g/kWh');
    const p = m.projected;
    if (p) {
      setValue('projected', fmt(p.energyJoules / JOULES_PER_KWH), 'kWh');
      setText('projected-sub', `${fmt(p.co2eGrams / 1000)} kgCO2e · ${(p.fraction * 100).toFixed(1)}% done (${p.source})`);
    }
    setStatus(m.status);
    const elapsed = $('elapsed');
    if (elapsed) elapsed.textContent = fmtDuration(m.elapsedSeconds);
  }

  function setStatus(status) {
    const el = $('run-status');
    el.dataset.status = status;
    el.textContent = status;
  }

  function renderDevices(devices) {
    const body = $('devices').tBodies[0];
    body.textContent = '';
    devices.forEach((d) => {
      const meta = deviceMeta(d.id);
      const tr = document.createElement('tr');
      tr.dataset.device = d.id;
      const color = COLORS[Math.max(0, state.deviceIds.indexOf(d.id)) % COLORS.length];
      const cells = [d.id, meta.kind, meta.name, meta.method, d.powerWatts.toFixed(1), fmt(d.energyJoules / JOULES_PER_KWH)];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        if (i === 0) {
          const sw = document.createElement('span');
          sw.className = 'swatch';
          sw.style.background = color;
          td.appendChild(sw);
        }
        td.appendChild(document.createTextNode(text));
        if (i >= 4) td.className = 'num';
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function renderRunInfo(s) {
    const rows = [
      ['Host', s.hostname], ['Started', s.startedAt], ['Elapsed', fmtDuration(s.elapsedSeconds)],
      ['Interval', `${s.intervalSeconds} s`], ['Zone', s.zone || '—'], ['PUE', `${s.pue.toFixed(2)} (${s.pueSource})`],
      ['Intensity source', s.intensitySource],
    ];
    for (const [k, v] of Object.entries(s.labels || {})) rows.push([`label ${k}`, v]);
    const dl = $('run-info');
    dl.textContent = '';
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      if (k === 'Elapsed') dd.id = 'elapsed';
      dl.append(dt, dd);
    }
  }

  function onSnapshot(msg) {
    const s = msg.snapshot;
    state.snapshot = s;
    setText('run-id', s.runId);
    setText('intensity-source', s.intensitySource);
    renderRunInfo(s);
    setHistory(msg.history);
    renderTotals(s);
    renderDevices(s.devices);
  }

  function onTick(msg) {
    appendPoint(msg);
    renderTotals(msg);
    renderDevices(msg.devices);
  }

  function onMessage(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.v !== 1) return;
    if (msg.type === 'snapshot') onSnapshot(msg);
    else if (msg.type === 'tick' && state.snapshot) onTick(msg);
    else if (msg.type === 'run_end') setStatus('ended');
    else if (msg.type === 'run_start') { setStatus('running'); setText('run-id', msg.runId); }
  }

  function connect() {
    const conn = $('conn');
    conn.dataset.state = 'connecting';
    conn.textContent = 'connecting';
    const ws = new WebSocket(feedUrl());
    ws.onopen = () => { state.retryMs = 500; conn.dataset.state = 'open'; conn.textContent = 'live'; };
    ws.onmessage = onMessage;
    ws.onclose = () => {
      conn.dataset.state = 'closed';
      conn.textContent = 'disconnected — retrying';
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(10000, state.retryMs * 2);
    };
  }

  window.addEventListener('resize', () => {
    if (state.chart) state.chart.setSize({ width: Math.max(300, $('chart').clientWidth), height: 300 });
  });
  connect();
})();
