// wattprint live dashboard: one page fed by /ws (protocol v1, see src/exporters/PROTOCOL.md).
// Plain browser script, no build step, no CDN: uPlot is served by the agent from node_modules; format.js,
// charts.js and token.js are loaded before this file.
(function () {
  'use strict';

  const fmt = window.wattprintFormat;
  const charts = window.wattprintCharts;
  const tokens = window.wattprintToken;
  const MAX_POINTS = 900;
  const COLORS = ['#4cc38a', '#58a6ff', '#e5a50a', '#d2a8ff', '#ff7b72', '#39c5cf', '#f778ba', '#a5d6ff',
    '#7ee787', '#ffa657'];
  // Totals chart colours: IT energy, facility energy, CO2e; the intensity chart's line.
  const TOTAL_COLORS = ['#58a6ff', '#39c5cf', '#e5a50a'];
  const INTENSITY_COLOR = '#d2a8ff';

  // Phase bands on the power chart: one translucent colour per phase name.
  const PHASE_COLORS = ['rgba(88,166,255,0.14)', 'rgba(229,165,10,0.16)', 'rgba(210,168,255,0.16)', 'rgba(76,195,138,0.14)', 'rgba(255,123,114,0.14)'];

  const state = {
    snapshot: null, deviceIds: [], power: [[]], totals: [[], [], [], []], intensity: [[], []],
    chart: {}, retryMs: 500, token: tokens.initial(), phases: [], phaseNames: [], nowMs: 0,
  };

  function phaseColor(name) {
    if (!state.phaseNames.includes(name)) state.phaseNames.push(name);
    return PHASE_COLORS[state.phaseNames.indexOf(name) % PHASE_COLORS.length];
  }

  // drawPhaseBands shades each phase window behind the power lines (an open phase runs to the latest tick).
  function drawPhaseBands(u) {
    if (!state.phases.length) return;
    const { ctx } = u;
    const top = u.bbox.top;
    const height = u.bbox.height;
    ctx.save();
    for (const p of state.phases) {
      const from = Date.parse(p.startedAt) / 1000;
      const to = (p.endedAt ? Date.parse(p.endedAt) : state.nowMs) / 1000;
      const x0 = Math.max(u.bbox.left, u.valToPos(from, 'x', true));
      const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(to, 'x', true));
      if (!(x1 > x0)) continue;
      ctx.fillStyle = phaseColor(p.name);
      ctx.fillRect(x0, top, x1 - x0, height);
    }
    ctx.restore();
  }

  const $ = (id) => document.getElementById(id);
  const setText = (id, text) => { $(id).textContent = text; };
  // setValue shows '<number> <unit>' with the unit smaller; the element's text stays '<number> <unit>'.
  const setValue = (id, text) => {
    const cut = text.lastIndexOf(' ');
    const unitEl = document.createElement('span');
    unitEl.className = 'u';
    unitEl.textContent = cut > 0 ? text.slice(cut) : '';
    $(id).replaceChildren(document.createTextNode(cut > 0 ? text.slice(0, cut) : text), unitEl);
  };

  function deviceMeta(id) {
    const d = state.snapshot && state.snapshot.devices.find((x) => x.id === id);
    return d || { id, kind: 'other', name: id, method: '' };
  }

  function buildPowerChart() {
    const axis = charts.AXIS;
    const power = [charts.timeSeries()].concat(state.deviceIds.map((id, i) => ({
      label: `${id} (${deviceMeta(id).kind})`, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false },
      value: (_u, v) => (v == null ? '—' : fmt.powerWatts(v)),
    })));
    if (state.chart.power) state.chart.power.destroy();
    state.chart.power = charts.create($('chart'), {
      height: 260, series: power, scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      hooks: { drawClear: [drawPhaseBands] },
      axes: [axis, Object.assign({}, axis, { size: 70, values: charts.axisValues(fmt.powerWatts) })],
    }, state.power);
  }

  // buildTotalsCharts draws cumulative energy and CO2e, and the grid intensity (stepped: hourly sources).
  function buildTotalsCharts() {
    const axis = charts.AXIS;
    if (state.chart.totals) {
      state.chart.totals.setData(state.totals);
      state.chart.intensity.setData(state.intensity);
      return;
    }
    // Energy is charted in Wh so the axis ticks fall on round numbers of the unit shown.
    const energyWh = (wh) => fmt.energyJoules(wh * 3600);
    const energy = (label, i) => ({ label, scale: 'Wh', stroke: TOTAL_COLORS[i], width: 1.5, points: { show: false }, value: (_u, v) => (v == null ? '—' : energyWh(v)) });
    state.chart.totals = charts.create($('totals-chart'), {
      series: [charts.timeSeries(), energy('IT energy', 0), energy('Facility energy', 1),
        { label: 'CO2e (location)', scale: 'g', stroke: TOTAL_COLORS[2], width: 2, points: { show: false }, value: (_u, v) => (v == null ? '—' : fmt.massGrams(v)) }],
      scales: { Wh: { range: (_u, _min, max) => [0, Math.max(1e-3, max * 1.1)] }, g: { range: (_u, _min, max) => [0, Math.max(1e-3, max * 1.1)] } },
      axes: [axis, Object.assign({}, axis, { scale: 'Wh', size: 80, values: charts.axisValues(energyWh) }),
        Object.assign({}, axis, { scale: 'g', side: 1, size: 70, grid: { show: false }, values: charts.axisValues(fmt.massGrams) })],
    }, state.totals);
    state.chart.intensity = charts.create($('intensity-chart'), {
      series: [charts.timeSeries(), {
        label: 'Grid intensity', stroke: INTENSITY_COLOR, width: 2, points: { show: false },
        paths: window.uPlot && window.uPlot.paths.stepped ? window.uPlot.paths.stepped({ align: 1 }) : undefined,
        value: (_u, v) => (v == null ? '—' : fmt.intensity(v)),
      }],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] } },
      axes: [axis, Object.assign({}, axis, { size: 80, values: charts.axisValues(fmt.intensity) })],
    }, state.intensity);
  }

  function setHistory(h) {
    state.deviceIds = h.deviceIds.slice();
    state.power = [h.t.slice()].concat(h.powerWatts.map((col) => col.slice()));
    // Agents before protocol revision 2 send power only: the totals charts then start with this page.
    const col = (name, scale) => (Array.isArray(h[name]) ? h[name].map((v) => v * scale) : h.t.map(() => null));
    state.totals = [h.t.slice(), col('itEnergyJoules', 1 / 3600), col('facilityEnergyJoules', 1 / 3600), col('co2eGrams', 1)];
    state.intensity = [h.t.slice(), col('intensityGramsPerKwh', 1)];
    buildPowerChart();
    buildTotalsCharts();
  }

  function push(data, row) {
    row.forEach((v, i) => data[i].push(v));
    if (data[0].length > MAX_POINTS) for (const c of data) c.shift();
  }

  function appendPoint(msg) {
    const ids = msg.devices.map((d) => d.id);
    const unknown = ids.filter((id) => !state.deviceIds.includes(id));
    if (unknown.length > 0) {
      // A device appeared mid-run: add a column of gaps behind it and rebuild the series.
      for (const id of unknown) { state.deviceIds.push(id); state.power.push(state.power[0].map(() => null)); }
      buildPowerChart();
    }
    const t = Date.parse(msg.at) / 1000;
    const byId = new Map(msg.devices.map((d) => [d.id, d.powerWatts]));
    push(state.power, [t].concat(state.deviceIds.map((id) => (byId.has(id) ? byId.get(id) : null))));
    push(state.totals, [t, msg.itEnergyJoules / 3600, msg.facilityEnergyJoules / 3600, msg.co2eGrams.location]);
    push(state.intensity, [t, msg.intensityGramsPerKwh]);
    if (state.chart.power) state.chart.power.setData(state.power);
    if (state.chart.totals) state.chart.totals.setData(state.totals);
    if (state.chart.intensity) state.chart.intensity.setData(state.intensity);
  }

  function renderTotals(m) {
    setValue('power-total', fmt.powerWatts(m.totalPowerWatts));
    // Power is each whole device's; a run charged a share of shared devices says how much of their energy it has.
    let deviceJoules = 0;
    let shared = false;
    for (const d of m.devices) {
      deviceJoules += d.deviceEnergyJoules == null ? d.energyJoules : d.deviceEnergyJoules;
      if (d.deviceEnergyJoules != null) shared = true;
    }
    setText('power-scope', shared && deviceJoules > 0
      ? `whole devices, shared: this run was charged ${Number((100 * m.itEnergyJoules / deviceJoules).toPrecision(3))}% of their energy`
      : 'all devices, before PUE');
    setValue('energy-it', fmt.energyJoules(m.itEnergyJoules));
    setText('energy-facility', `facility ${fmt.energyJoules(m.facilityEnergyJoules)} (× PUE ${m.pue.toFixed(2)})`);
    setValue('co2e-location', fmt.massGrams(m.co2eGrams.location));
    setText('co2e-market', `market-based ${fmt.massGrams(m.co2eGrams.market)}`);
    setValue('intensity', fmt.intensity(m.intensityGramsPerKwh));
    renderProjection(m);
    setStatus(m.status);
    const elapsed = $('elapsed');
    if (elapsed) elapsed.textContent = fmt.duration(m.elapsedSeconds);
  }

  // renderProjection shows energy and CO2e at completion and when that is: now + elapsed × (1 − f) / f.
  function renderProjection(m) {
    const p = m.projected;
    if (!p) return;
    setValue('projected', fmt.energyJoules(p.energyJoules));
    setText('projected-co2e', `CO2e ${fmt.massGrams(p.co2eGrams)} · ${(p.fraction * 100).toFixed(1)}% done (${p.source})`);
    $('projected-bar').style.width = `${Math.min(100, p.fraction * 100).toFixed(1)}%`;
    // Whole seconds: 42 × (1 − 0.042) / 0.042 is 957.99999…, which is 958 s, not 957.
    const remainingSeconds = p.fraction >= 1 ? 0 : Math.round((m.elapsedSeconds * (1 - p.fraction)) / p.fraction);
    const eta = Date.parse(m.at) + remainingSeconds * 1000;
    setText('projected-eta', p.fraction >= 1 ? 'complete' : `ETA ${fmt.clock(eta)}, in ${fmt.duration(remainingSeconds)}`);
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
      const cells = [d.id, meta.kind, meta.name, meta.method, fmt.powerWatts(d.powerWatts), fmt.energyJoules(d.energyJoules)];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        if (i === 0) {
          const sw = document.createElement('span');
          sw.className = 'swatch';
          sw.style.background = COLORS[Math.max(0, state.deviceIds.indexOf(d.id)) % COLORS.length];
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
      ['Host', s.hostname], ['Started', fmt.clock(Date.parse(s.startedAt), true)], ['Elapsed', fmt.duration(s.elapsedSeconds)],
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

  // renderJob shows the job's phases (table, bands, the chart's legend of names) and its efficiency.
  function renderJob(m) {
    state.nowMs = Date.parse(m.at);
    if (m.phases) {
      state.phases = m.phases;
      $('phases-panel').hidden = false;
      const body = $('phases').tBodies[0];
      body.textContent = '';
      for (const p of m.phases.slice().reverse()) {
        const from = Date.parse(p.startedAt);
        const seconds = ((p.endedAt ? Date.parse(p.endedAt) : state.nowMs) - from) / 1000;
        const tr = document.createElement('tr');
        const cells = [`${p.name}${p.endedAt ? '' : ' (open)'}`, fmt.clock(from), fmt.duration(seconds), fmt.energyJoules(p.itEnergyJoules), fmt.massGrams(p.co2eGrams)];
        cells.forEach((text, i) => {
          const td = document.createElement('td');
          if (i === 0) {
            const sw = document.createElement('span');
            sw.className = 'swatch';
            sw.style.background = phaseColor(p.name).replace(/[\d.]+\)$/, '0.9)');
            td.append(sw);
          }
          td.append(text);
          if (i >= 2) td.className = 'num';
          tr.append(td);
        });
        body.append(tr);
      }
      setText('phase-legend', `(bands: ${state.phaseNames.join(', ')})`);
      if (state.chart.power) state.chart.power.redraw(false, false);
    }
    const w = m.work;
    const joules = m.itEnergyJoules;
    const per = w && (w.tokens > 0 ? ['token', w.tokens] : w.samples > 0 ? ['sample', w.samples] : w.steps > 0 ? ['step', w.steps] : null);
    if (per) {
      $('efficiency-card').hidden = false;
      setValue('efficiency', `${fmt.sig(joules / per[1], 3)} J/${per[0]}`);
      const words = ['steps', 'samples', 'tokens'].filter((k) => w[k] !== undefined).map((k) => `${fmt.sig(w[k], 4)} ${k}`);
      setText('efficiency-sub', `${words.join(' · ')}${w.tokens > 0 ? ` · ${fmt.massGrams((m.co2eGrams.location / w.tokens) * 1e6)} CO2e per 1M tokens` : ''}`);
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
    renderJob(s);
  }

  function onMessage(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.v !== 1) return;
    if (msg.type === 'snapshot') onSnapshot(msg);
    else if (msg.type === 'tick' && state.snapshot) { appendPoint(msg); renderTotals(msg); renderDevices(msg.devices); renderJob(msg); }
    else if (msg.type === 'run_end') setStatus('ended');
    else if (msg.type === 'run_start') { setStatus('running'); setText('run-id', msg.runId); }
  }

  function setConn(stateName, text) {
    $('conn').dataset.state = stateName;
    setText('conn', text);
  }

  function connect() {
    setConn('connecting', 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, tokens.protocols(state.token));
    let opened = false;
    ws.onopen = () => { opened = true; state.retryMs = 500; setConn('open', 'live'); };
    ws.onmessage = onMessage;
    ws.onclose = async () => {
      // A feed that never opened may have been refused for its token: ask for one instead of retrying blindly.
      if (!opened && await tokens.refused(state.token)) {
        setConn('closed', 'token needed');
        setStatus('token needed');
        tokens.ask(Boolean(state.token), (token) => { state.token = token; connect(); });
        return;
      }
      setConn('closed', 'disconnected — retrying');
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(10000, state.retryMs * 2);
    };
  }

  window.addEventListener('resize', () => {
    charts.resize(state.chart.power, $('chart'));
    charts.resize(state.chart.totals, $('totals-chart'));
    charts.resize(state.chart.intensity, $('intensity-chart'));
  });
  connect();
})();
