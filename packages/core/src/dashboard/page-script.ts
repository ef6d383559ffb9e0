/**
 * The dashboard's browser script, plain ES2017. Charts are drawn with uPlot, served by the
 * monitoring routes beside the page (no CDN, no request outside the origin). On load it reads the
 * recent past from `/metrics/history`, then polls the monitoring JSON and appends new history
 * points as intervals end. Every value from the server is written with textContent, never as HTML.
 */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('autom8-config').textContent);
  var params = new URLSearchParams(location.search);
  var pollMs = Math.max(250, Number(params.get('poll')) || cfg.pollMs);
  var SVG = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#2563eb', '#d97706', '#dc2626', '#059669', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
  var state = {
    t: [], totals: null, routes: {}, features: {}, capacity: 0, intervalMs: cfg.intervalMs,
    metrics: null, system: null, slo: null, sort: { key: 'rate', dir: -1 }, selected: null, detail: null, charts: {}
  };

  // ---------- small helpers ----------
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function num(v, digits) {
    if (typeof v !== 'number' || !isFinite(v)) return '–';
    var a = Math.abs(v);
    if (digits === undefined) digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }
  function pct(v, digits) { return typeof v === 'number' && isFinite(v) ? num(v * 100, digits === undefined ? (Math.abs(v) < 0.01 && v !== 0 ? 2 : 1) : digits) + ' %' : '–'; }
  function ms(v) { return typeof v === 'number' && isFinite(v) ? num(v, v >= 100 ? 0 : v >= 10 ? 1 : 2) + ' ms' : '–'; }
  function bytes(b) {
    if (typeof b !== 'number' || !isFinite(b)) return '–';
    var u = ['B', 'KiB', 'MiB', 'GiB'], i = 0;
    while (Math.abs(b) >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return num(b, i === 0 ? 0 : 1) + ' ' + u[i];
  }
  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function get(path) {
    return fetch(cfg.prefix + path, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  function intervalSec() { return state.intervalMs / 1000; }
  function secs() { return state.t.map(function (t) { return t / 1000; }); }
  function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) if (typeof a[i] === 'number') s += a[i]; return s; }
  function last(a) { for (var i = a.length - 1; i >= 0; i--) if (typeof a[i] === 'number') return a[i]; return null; }
  // Per-interval increase of a cumulative counter (null across a restart or a gap).
  // A gap (intervals not sampled) shares the increase evenly over its intervals.
  function delta(a) {
    var out = [], prev = -1;
    for (var i = 0; i < a.length; i++) {
      out.push(null);
      if (typeof a[i] !== 'number') continue;
      if (prev >= 0 && a[i] >= a[prev]) { var d = (a[i] - a[prev]) / (i - prev); for (var k = prev + 1; k <= i; k++) out[k] = d; }
      prev = i;
    }
    return out;
  }
  function perSec(a) { var s = intervalSec(); return a.map(function (v) { return v === null ? null : v / s; }); }
  function feature(path) { return state.features[path] || null; }
  function featurePaths(prefix) { return Object.keys(state.features).filter(function (p) { return p.indexOf(prefix) === 0; }); }
  function span() {
    var n = state.t.length;
    if (n === 0) return 'no history yet';
    var m = Math.round((n * state.intervalMs) / 60000);
    return m >= 90 ? 'the last ' + num(m / 60, 1) + ' h' : m >= 1 ? 'the last ' + m + ' min' : 'the last ' + Math.round((n * state.intervalMs) / 1000) + ' s';
  }

  // ---------- charts (uPlot) ----------
  function fmtAxis(unit) {
    return function (u, vals) {
      return vals.map(function (v) {
        if (v === null) return '';
        if (unit === 'bytes') return bytes(v);
        if (unit === '%') return num(v, Math.abs(v) < 10 ? 1 : 0) + '%';
        if (unit === 'ms' && Math.abs(v) >= 1000) return num(v / 1000, Math.abs(v) >= 10000 ? 0 : 1) + ' s';
        var a = Math.abs(v), s = a >= 1e6 ? num(v / 1e6, 1) + 'M' : a >= 1e4 ? num(v / 1e3, 0) + 'k' : num(v, a >= 100 ? 0 : a >= 10 ? 1 : 2);
        return unit ? s + ' ' + unit : s;
      });
    };
  }
  function axis(scale, unit, side) {
    var fg = css('--muted'), grid = css('--grid');
    var a = { scale: scale, stroke: fg, grid: { stroke: grid, width: 1, show: side !== 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif', values: fmtAxis(unit), size: unit === 'bytes' ? 68 : 56 };
    if (side !== undefined) a.side = side;
    return a;
  }
  // Creates (or refills) the uPlot chart kept under 'id' in 'box'. series: [{label, values, color, scale?, step?}].
  function chart(id, box, series, scales, height) {
    var data = [secs()].concat(series.map(function (s) { return s.values; }));
    var existing = state.charts[id];
    var sig = series.map(function (s) { return s.label; }).join('|');
    if (existing && existing.sig === sig && existing.box === box) { existing.u.setData(data); return existing.u; }
    if (existing) { existing.u.destroy(); existing.ro.disconnect(); }
    clear(box);
    var axes = [{ stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 }, font: '11px system-ui, sans-serif' }];
    var scaleOpts = { x: { time: true } };
    scales.forEach(function (sc, i) {
      scaleOpts[sc.name] = sc.range ? { range: sc.range } : { auto: true, range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.1 : 1]; } };
      axes.push(axis(sc.name, sc.unit, i === 0 ? undefined : 1));
      if (sc.values) axes[axes.length - 1].values = sc.values;
      if (sc.splits) axes[axes.length - 1].splits = sc.splits;
      if (sc.size) axes[axes.length - 1].size = sc.size;
    });
    var opts = {
      width: Math.max(200, box.clientWidth), height: height || 180,
      scales: scaleOpts, axes: axes,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [{ value: '{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}' }].concat(series.map(function (s, i) {
        var o = { label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: 1.6, scale: s.scale || scales[0].name, spanGaps: true, points: { show: false } };
        if (s.step) o.paths = uPlot.paths.stepped({ align: 1 });
        if (s.dash) o.dash = [5, 4];
        if (s.fmt) o.value = function (u, v) { return v === null ? '–' : s.fmt(v); };
        return o;
      }))
    };
    var u = new uPlot(opts, data, box);
    var ro = new ResizeObserver(function () { var w = Math.max(200, box.clientWidth); if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height }); });
    ro.observe(box);
    state.charts[id] = { u: u, ro: ro, sig: sig, box: box };
    box.setAttribute('data-points', String(state.t.length));
    return u;
  }

  function sparkline(values) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 100 24');
    svg.setAttribute('preserveAspectRatio', 'none');
    var max = 0;
    values.forEach(function (v) { if (v > max) max = v; });
    var n = values.length;
    var pts = values.map(function (v, i) { return (n <= 1 ? 100 : (i / (n - 1)) * 100).toFixed(2) + ',' + (22 - (max > 0 ? (v / max) * 20 : 0)).toFixed(2); });
    var line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(line);
    svg.setAttribute('data-points', String(n));
    return svg;
  }

  // ---------- history ----------
  function applyHistory(h, append) {
    if (!h) return;
    state.intervalMs = h.intervalMs; state.capacity = h.capacity;
    function merge(dst, src) {
      Object.keys(src).forEach(function (k) {
        var v = src[k];
        if (Array.isArray(v)) dst[k] = append && dst[k] ? dst[k].concat(v) : v.slice();
        else if (v && typeof v === 'object') { if (!append || !dst[k]) dst[k] = {}; merge(dst[k], v); }
      });
    }
    var pad = function (a, n) { var z = []; for (var i = 0; i < n; i++) z.push(a === 'null' ? null : 0); return z; };
    var before = append ? state.t.length : 0;
    state.t = append ? state.t.concat(h.t) : h.t.slice();
    if (!state.totals || !append) state.totals = {};
    merge(state.totals, h.totals);
    var routes = append ? state.routes : {};
    Object.keys(h.routes).forEach(function (k) {
      var r = routes[k] || (routes[k] = { count: pad(0, before), errors: pad(0, before), p99: pad(0, before) });
      merge(r, h.routes[k]);
    });
    // Routes missing from this answer get zeros so that every row stays aligned with t.
    Object.keys(routes).forEach(function (k) {
      if (!h.routes[k]) ['count', 'errors', 'p99'].forEach(function (f) { routes[k][f] = routes[k][f].concat(pad(0, h.t.length)); });
    });
    state.routes = routes;
    var feats = append ? state.features : {};
    Object.keys(h.features || {}).forEach(function (k) {
      if (!feats[k]) feats[k] = pad('null', before);
      feats[k] = feats[k].concat(h.features[k]);
    });
    Object.keys(feats).forEach(function (k) { if (!h.features || !h.features[k]) feats[k] = feats[k].concat(pad('null', h.t.length)); });
    state.features = feats;
    // Keep the page's memory as bounded as the server's.
    var extra = state.t.length - state.capacity;
    if (extra > 0) {
      state.t = state.t.slice(extra);
      var cut = function (o) { Object.keys(o).forEach(function (k) { if (Array.isArray(o[k])) o[k] = o[k].slice(extra); else if (o[k] && typeof o[k] === 'object') cut(o[k]); }); };
      cut(state.totals); cut(state.features); cut(state.routes);
    }
    document.body.setAttribute('data-history-points', String(state.t.length));
  }
  function lastT() { return state.t.length ? state.t[state.t.length - 1] : null; }
  // By the server's clock (the browser's may be off): a point is due once its interval has ended.
  function historyDue() {
    var t = lastT();
    var now = state.metrics ? Date.parse(state.metrics.generatedAt) : Date.now();
    return t === null || now >= t + 2 * state.intervalMs;
  }

  // ---------- overview ----------
  function windowName() { return state.metrics ? state.metrics.windows[0].name : ''; }
  function renderOverview() {
    var m = state.metrics;
    if (!m) return;
    var w = m.totals.windows[windowName()];
    var box = $('kpis');
    clear(box);
    [['requests', num(w.ratePerSec) + '/s'], ['5xx', pct(w.errorRate)], ['p50', ms(w.p50Ms)], ['p99', ms(w.p99Ms)], ['in flight', num(m.inFlight, 0)]].forEach(function (k) {
      var d = el('div', 'kpi'); d.appendChild(el('span', 'label', k[0])); d.appendChild(el('b', '', k[1])); box.appendChild(d);
    });
    $('window-note').textContent = 'current figures over the ' + windowName() + ' window · charts: ' + span() + ' at ' + num(intervalSec(), 1) + ' s';
    var t = state.totals || { count: [], errors: [], p99: [] };
    chart('traffic', $('traffic-chart'), [
      { label: 'requests/s', values: perSec(t.count), color: PALETTE[0], scale: 'rate', fmt: function (v) { return num(v) + '/s'; } },
      { label: '5xx/s', values: perSec(t.errors), color: PALETTE[2], scale: 'rate', fmt: function (v) { return num(v) + '/s'; } },
      { label: 'p99', values: t.p99, color: PALETTE[1], scale: 'ms', fmt: ms }
    ], [{ name: 'rate', unit: '/s' }, { name: 'ms', unit: 'ms' }]);
  }

  // ---------- routes table ----------
  function sloFor(key) {
    var objs = state.slo && state.slo.objectives ? state.slo.objectives : [];
    var mine = objs.filter(function (o) { return o.route && (o.route === key || key.slice(key.indexOf(' ') + 1) === o.route); });
    if (mine.length === 0) return { text: '–', rank: 0, cls: '' };
    var breached = mine.filter(function (o) { return o.status === 'breached'; });
    if (breached.length) return { text: 'breached', rank: 3, cls: 'bad', title: breached.map(function (o) { return o.name + ': ' + o.objective; }).join(', ') };
    if (mine.every(function (o) { return o.status === 'no-data'; })) return { text: 'no data', rank: 1, cls: '' };
    return { text: 'ok', rank: 2, cls: 'good', title: mine.map(function (o) { return o.name + ': ' + o.objective; }).join(', ') };
  }
  function rows() {
    var m = state.metrics;
    if (!m) return [];
    var w = windowName();
    return Object.keys(m.routes).map(function (key) {
      var s = m.routes[key].windows[w];
      var slo = sloFor(key);
      return { key: key, rate: s.ratePerSec, errors: s.errorRate, p50: s.p50Ms, p95: s.p95Ms, p99: s.p99Ms, slo: slo, total: m.routes[key].total.count };
    });
  }
  function renderRoutes() {
    var list = rows();
    var sk = state.sort.key, dir = state.sort.dir;
    list.sort(function (a, b) {
      var x = sk === 'slo' ? a.slo.rank : a[sk], y = sk === 'slo' ? b.slo.rank : b[sk];
      if (sk === 'key') return dir * (x < y ? -1 : x > y ? 1 : 0);
      return dir * ((x || 0) - (y || 0)) || b.total - a.total;
    });
    var body = $('routes-body');
    clear(body);
    list.forEach(function (r) {
      var tr = el('tr', 'route' + (state.selected === r.key ? ' selected' : ''));
      tr.setAttribute('data-route', r.key);
      tr.tabIndex = 0;
      var name = el('td', 'name c-name'); name.appendChild(el('span', 'method', r.key.slice(0, r.key.indexOf(' ')))); name.appendChild(document.createTextNode(' ' + r.key.slice(r.key.indexOf(' ') + 1)));
      name.title = r.key;
      tr.appendChild(name);
      tr.appendChild(el('td', 'n c-rate', num(r.rate) + '/s'));
      var sp = el('td', 'c-spark');
      var h = state.routes[r.key];
      sp.appendChild(sparkline(h ? perSec(h.count) : []));
      tr.appendChild(sp);
      tr.appendChild(el('td', 'n c-err' + (r.errors > 0.01 ? ' bad' : ''), pct(r.errors)));
      tr.appendChild(el('td', 'n opt', ms(r.p50)));
      tr.appendChild(el('td', 'n opt', ms(r.p95)));
      tr.appendChild(el('td', 'n c-p99', ms(r.p99)));
      var slo = el('td', 'slo c-slo ' + r.slo.cls, r.slo.text);
      if (r.slo.title) slo.title = r.slo.title;
      tr.appendChild(slo);
      body.appendChild(tr);
    });
    $('spark-head').textContent = span().replace('the last', 'last');
    var sel = state.metrics.routeSelection;
    $('routes-note').textContent = sel && sel.omitted > 0 ? list.length + ' busiest of ' + sel.matched + ' routes' : list.length + ' routes';
    Array.prototype.forEach.call(document.querySelectorAll('#routes th[data-sort]'), function (th) {
      th.setAttribute('aria-sort', th.getAttribute('data-sort') === sk ? (dir < 0 ? 'descending' : 'ascending') : 'none');
    });
  }
  function onSort(e) {
    var th = e.target.closest('th[data-sort]');
    if (!th) return;
    var k = th.getAttribute('data-sort');
    state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : k === 'key' ? 1 : -1 };
    renderRoutes();
  }
  function onPick(e) {
    if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
    var tr = e.target.closest('tr.route');
    if (!tr) return;
    e.preventDefault();
    openDetail(tr.getAttribute('data-route'));
  }

  // ---------- route detail ----------
  function openDetail(key) {
    state.selected = key;
    $('detail').hidden = false;
    $('detail-title').textContent = key;
    renderRoutes();
    loadDetail().then(function () { $('detail').scrollIntoView({ block: 'nearest' }); });
  }
  function closeDetail() { state.selected = null; state.detail = null; $('detail').hidden = true; renderRoutes(); }
  function loadDetail() {
    var key = state.selected;
    if (!key) return Promise.resolve();
    return get('/metrics/history?route=' + encodeURIComponent(key)).then(function (h) {
      if (key !== state.selected || !h) return;
      state.detail = { t: h.t, r: h.routes[key] };
      renderDetail();
    });
  }
  function traceLink(id) {
    if (!cfg.traceUrl) return el('code', '', id);
    var a = el('a', '', id);
    a.href = cfg.traceUrl.split('{traceId}').join(encodeURIComponent(id));
    a.target = '_blank'; a.rel = 'noopener noreferrer';
    return a;
  }
  function renderDetail() {
    var d = state.detail, key = state.selected;
    if (!d || !key) return;
    var keepT = state.t;
    state.t = d.t;
    var r = d.r;
    chart('d-latency', $('d-latency'), [
      { label: 'p50', values: r.p50, color: PALETTE[0], fmt: ms }, { label: 'p95', values: r.p95, color: PALETTE[1], fmt: ms },
      { label: 'p99', values: r.p99, color: PALETTE[2], fmt: ms }, { label: 'max', values: r.max, color: PALETTE[4], dash: true, fmt: ms }
    ], [{ name: 'ms', unit: 'ms' }]);
    chart('d-rate', $('d-rate'), [
      { label: 'requests/s', values: perSec(r.count), color: PALETTE[0], fmt: function (v) { return num(v) + '/s'; } },
      { label: '5xx/s', values: perSec(r.errors), color: PALETTE[2], fmt: function (v) { return num(v) + '/s'; } }
    ], [{ name: 'rate', unit: '/s' }]);
    var classes = ['2xx', '3xx', '4xx', '5xx', '1xx'], colors = [PALETTE[3], PALETTE[5], PALETTE[1], PALETTE[2], PALETTE[4]];
    chart('d-status', $('d-status'), classes.map(function (c, i) { return { label: c, values: perSec(r.status[c]), color: colors[i], fmt: function (v) { return num(v) + '/s'; } }; }),
      [{ name: 'rate', unit: '/s' }]);
    state.t = keepT;
    var m = state.metrics && state.metrics.routes[key];
    var seen = {}, ex = [];
    if (m) Object.keys(m.windows).forEach(function (w) { (m.windows[w].exemplars || []).forEach(function (e) { if (!seen[e.spanId]) { seen[e.spanId] = 1; ex.push(e); } }); });
    ex.sort(function (a, b) { return b.durationMs - a.durationMs; });
    var t = $('d-slowest');
    clear(t);
    var head = el('tr'); ['duration', 'status', 'ended', 'trace'].forEach(function (h) { head.appendChild(el('th', '', h)); }); t.appendChild(head);
    ex.slice(0, 10).forEach(function (e) {
      var tr = el('tr', 'exemplar');
      tr.appendChild(el('td', 'n', ms(e.durationMs)));
      tr.appendChild(el('td', 'n', e.status));
      tr.appendChild(el('td', '', new Date(e.timestamp).toLocaleTimeString()));
      var td = el('td', 'trace'); td.appendChild(traceLink(e.traceId)); tr.appendChild(td);
      t.appendChild(tr);
    });
    $('d-none').hidden = ex.length > 0;
    var tot = sum(r.count), err = sum(r.errors);
    $('d-summary').textContent = num(tot, 0) + ' requests in ' + span() + ', ' + pct(tot ? err / tot : 0) + ' 5xx; p99 now ' + ms(last(r.p99)) + '.';
  }

  // ---------- features ----------
  function card(id, title) {
    var c = $(id);
    if (c) return c;
    c = el('section', 'card feature');
    c.id = id;
    c.appendChild(el('h2', '', title));
    c.appendChild(el('p', 'summary'));
    $('features').appendChild(c);
    return c;
  }
  function chartBox(c, name, caption) {
    var box = c.querySelector('.chart[data-name="' + name + '"]');
    if (box) return box;
    var fig = el('figure');
    fig.appendChild(el('figcaption', '', caption));
    box = el('div', 'chart'); box.setAttribute('data-name', name);
    fig.appendChild(box);
    c.appendChild(fig);
    return box;
  }
  function renderRateLimit(f) {
    var c = card('f-ratelimit', 'Rate limiting');
    var names = Object.keys(f.limiters || {});
    var parts = names.map(function (n) {
      var l = f.limiters[n];
      var allowed = sum(delta(feature('rateLimit.limiters.' + n + '.allowed') || [])), limited = sum(delta(feature('rateLimit.limiters.' + n + '.limited') || []));
      var seen = allowed + limited;
      return n + ' (' + num(l.rate, 0) + ' per ' + num(l.perMs / 1000, 0) + ' s' + (l.route ? ', ' + l.route : '') + '): ' + num(limited, 0) + ' of ' + num(seen, 0) + ' limited in ' + span() + (seen ? ' (' + pct(limited / seen) + ')' : '');
    });
    c.querySelector('.summary').textContent = (parts.join('; ') || 'no limiter has run yet') + (f.dryRun ? ' · dry run: nothing is refused' : '') + '.';
    var series = [];
    names.slice(0, 4).forEach(function (n, i) {
      series.push({ label: n + ' allowed/s', values: perSec(delta(feature('rateLimit.limiters.' + n + '.allowed') || [])), color: PALETTE[(2 * i) % 8 === 2 ? 3 : (2 * i) % 8], fmt: function (v) { return num(v) + '/s'; } });
      series.push({ label: n + ' limited/s', values: perSec(delta(feature('rateLimit.limiters.' + n + '.limited') || [])), color: PALETTE[2], dash: i > 0, fmt: function (v) { return num(v) + '/s'; } });
    });
    if (series.length) chart('ratelimit', chartBox(c, 'ratelimit', 'allowed vs limited per policy'), series, [{ name: 'rate', unit: '/s' }]);
  }
  function renderShed(f) {
    var c = card('f-shed', 'Load shedding');
    var shedPaths = featurePaths('shed.shed.');
    var shedSeries = state.t.map(function (_, i) {
      var s = null;
      shedPaths.forEach(function (p) { var d = delta(state.features[p])[i]; if (d !== null) s = (s || 0) + d; });
      return s;
    });
    var shedTotal = sum(shedSeries);
    var text = [];
    if (f.load) text.push('load ' + num(f.load.load, 2) + ' (soft ' + num(f.load.softLoad, 2) + ', hard ' + num(f.load.maxLoad, 2) + (f.load.dominant ? '; driven by ' + f.load.dominant : '') + ')');
    text.push(f.shedding ? 'shedding now' : 'not shedding');
    text.push(num(shedTotal, 0) + ' requests shed in ' + span());
    if (f.concurrency && typeof f.concurrency.limit === 'number') text.push('concurrency limit ' + f.concurrency.limit + ' (' + f.concurrency.inFlight + ' in flight, ' + f.concurrency.queued + ' queued)');
    c.querySelector('.summary').textContent = text.join(' · ') + '.';
    if (f.load) {
      chart('shed-load', chartBox(c, 'load', 'load signal against the soft and hard thresholds, and shed decisions'), [
        { label: 'load', values: feature('shed.load.load') || [], color: PALETTE[0], scale: 'load', fmt: function (v) { return num(v, 2); } },
        { label: 'soft', values: feature('shed.load.softLoad') || [], color: PALETTE[1], scale: 'load', dash: true, fmt: function (v) { return num(v, 2); } },
        { label: 'hard', values: feature('shed.load.maxLoad') || [], color: PALETTE[2], scale: 'load', dash: true, fmt: function (v) { return num(v, 2); } },
        { label: 'shed/s', values: perSec(shedSeries), color: PALETTE[4], scale: 'rate', fmt: function (v) { return num(v) + '/s'; } }
      ], [{ name: 'load', unit: '', range: [0, 1] }, { name: 'rate', unit: '/s' }]);
    }
    if (feature('shed.concurrency.limit')) {
      chart('shed-conc', chartBox(c, 'concurrency', 'adaptive concurrency'), [
        { label: 'limit', values: feature('shed.concurrency.limit'), color: PALETTE[2], step: true },
        { label: 'in flight', values: feature('shed.concurrency.inFlight') || [], color: PALETTE[0] },
        { label: 'queued', values: feature('shed.concurrency.queued') || [], color: PALETTE[1] }
      ], [{ name: 'n', unit: '' }]);
    }
  }
  function renderCache(f) {
    var c = card('f-cache', 'Response cache');
    var hits = delta(feature('cache.hits') || []), misses = delta(feature('cache.misses') || []);
    var ratio = hits.map(function (h, i) { var m = misses[i]; return h === null || m === null || h + m === 0 ? null : (100 * h) / (h + m); });
    var H = sum(hits), M = sum(misses);
    c.querySelector('.summary').textContent = 'hit ratio ' + (H + M ? pct(H / (H + M)) : '–') + ' in ' + span() + ' (' + num(H, 0) + ' hits, ' + num(M, 0) + ' misses) · ' +
      num(f.entries, 0) + ' entries, ' + bytes(f.bytes) + ' of ' + bytes(f.maxBytes) + ' · ' + num(f.evictions, 0) + ' evictions since start.';
    chart('cache-ratio', chartBox(c, 'ratio', 'hit ratio and evictions'), [
      { label: 'hit ratio', values: ratio, color: PALETTE[3], scale: '%', fmt: function (v) { return num(v, 1) + ' %'; } },
      { label: 'evictions/s', values: perSec(delta(feature('cache.evictions') || [])), color: PALETTE[2], scale: 'rate', fmt: function (v) { return num(v) + '/s'; } }
    ], [{ name: '%', unit: '%', range: [0, 100] }, { name: 'rate', unit: '/s' }]);
    chart('cache-size', chartBox(c, 'size', 'entries and bytes'), [
      { label: 'entries', values: feature('cache.entries') || [], color: PALETTE[0], scale: 'n', fmt: function (v) { return num(v, 0); } },
      { label: 'bytes', values: feature('cache.bytes') || [], color: PALETTE[4], scale: 'bytes', fmt: bytes }
    ], [{ name: 'n', unit: '' }, { name: 'bytes', unit: 'bytes' }]);
  }
  function renderBreakers(f) {
    var names = Object.keys(f);
    if (names.length === 0) return;
    var c = card('f-breakers', 'Circuit breakers');
    c.querySelector('.summary').textContent = names.map(function (n) {
      var b = f[n];
      return n + ': ' + b.state + ' (' + num(b.calls, 0) + ' calls, ' + pct(b.errorRate) + ' failed, opened ' + num(b.opened, 0) + ' times, ' + num(b.rejected, 0) + ' rejected)';
    }).join('; ') + '.';
    var labels = ['closed', 'half-open', 'open'];
    chart('breakers', chartBox(c, 'state', 'state over time'), names.slice(0, 8).map(function (n, i) {
      return { label: n, values: feature('breakers.' + n + '.state') || [], color: PALETTE[i % 8], step: true, fmt: function (v) { return labels[v] || '–'; } };
    }), [{ name: 'state', unit: '', size: 76, range: [0, 2.2], splits: function () { return [0, 1, 2]; }, values: function (u, vals) { return vals.map(function (v) { return labels[v] || ''; }); } }]);
  }
  function renderSlo(report) {
    var objs = report && report.objectives ? report.objectives : [];
    if (objs.length === 0) return;
    var c = card('f-slo', 'Service level objectives');
    var bad = objs.filter(function (o) { return o.status === 'breached'; });
    c.querySelector('.summary').textContent = objs.length + ' objectives: ' + (objs.length - bad.length) + ' met or without data, ' + bad.length + ' breached' +
      (bad.length ? ' (' + bad.map(function (o) { return o.name + ': burn rate ' + num(o.burnRate, 1); }).join(', ') + ')' : '') + '.';
    var t = c.querySelector('table') || c.appendChild(el('table', 'slo'));
    clear(t);
    var head = el('tr'); [['objective', ''], ['status', 'opt'], ['compliance', 'n'], ['burn rate', 'n'], ['budget left', 'n']].forEach(function (h) { head.appendChild(el('th', h[1], h[0])); }); t.appendChild(head);
    objs.forEach(function (o) {
      var tr = el('tr', 'slo ' + o.status);
      var name = el('td', 'name c-name'); name.appendChild(el('b', '', o.name)); name.appendChild(el('div', 'sub', o.status + ' · ' + o.objective + ' · ' + (o.route || 'all routes') + ' · ' + o.window));
      tr.appendChild(name);
      tr.appendChild(el('td', 'opt status ' + (o.status === 'breached' ? 'bad' : o.status === 'ok' ? 'good' : ''), o.status));
      tr.appendChild(el('td', 'n', pct(o.compliance, 2)));
      tr.appendChild(el('td', 'n', num(o.burnRate, 2)));
      tr.appendChild(el('td', 'n' + (o.errorBudgetRemaining < 0 ? ' bad' : ''), o.errorBudgetRemaining < 0 ? 'exhausted' : pct(o.errorBudgetRemaining, 0)));
      t.appendChild(tr);
    });
    chart('slo-burn', chartBox(c, 'burn', 'burn rate over time (1 = spending the budget exactly over the window)'), objs.slice(0, 8).map(function (o, i) {
      return { label: o.name, values: feature('slo.' + o.name + '.burnRate') || [], color: PALETTE[i % 8], fmt: function (v) { return num(v, 2); } };
    }), [{ name: 'burn', unit: '' }]);
  }
  function renderSystem(s) {
    if (!s) return;
    var c = card('f-system', 'Process');
    c.querySelector('.summary').textContent = 'CPU ' + num(s.cpuPercent, 1) + ' % of a core · event loop ' + pct(s.eventLoopUtilization, 0) + ' busy, delay p99 ' + ms(s.eventLoopDelay.p99Ms) +
      ' · RSS ' + bytes(s.memory.rssBytes) + ', heap ' + bytes(s.memory.heapUsedBytes) + ' · up ' + num(s.uptimeSec / 60, 0) + ' min.';
    chart('sys-cpu', chartBox(c, 'cpu', 'CPU and event loop'), [
      { label: 'CPU %', values: feature('system.cpuPercent') || [], color: PALETTE[0], scale: '%', fmt: function (v) { return num(v, 1) + ' %'; } },
      { label: 'ELU %', values: (feature('system.eventLoopUtilization') || []).map(function (v) { return v === null ? null : v * 100; }), color: PALETTE[1], scale: '%', fmt: function (v) { return num(v, 1) + ' %'; } },
      { label: 'delay p99', values: feature('system.eventLoopDelayP99Ms') || [], color: PALETTE[2], scale: 'ms', fmt: ms }
    ], [{ name: '%', unit: '%' }, { name: 'ms', unit: 'ms' }]);
  }
  function renderRaw(features) {
    var t = $('raw-table');
    clear(t);
    function walk(prefix, v, depth) {
      if (typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && depth > 0)) {
        var tr = el('tr'); tr.appendChild(el('td', '', prefix)); tr.appendChild(el('td', 'n', typeof v === 'number' ? num(v, 3) : String(v))); t.appendChild(tr);
      } else if (v && typeof v === 'object' && depth < 5) {
        Object.keys(v).forEach(function (k) { walk(prefix ? prefix + '.' + k : k, v[k], depth + 1); });
      }
    }
    walk('', features || {}, 0);
  }

  function renderAll() {
    renderOverview();
    renderRoutes();
    var f = state.metrics ? state.metrics.features : {};
    if (state.slo) renderSlo(state.slo);
    if (f.rateLimit) renderRateLimit(f.rateLimit);
    if (f.shed) renderShed(f.shed);
    if (f.cache) renderCache(f.cache);
    if (f.breakers) renderBreakers(f.breakers);
    renderSystem(state.system);
    if ($('raw').open) renderRaw(f);
  }

  var polls = 0;
  function tick() {
    var due = historyDue();
    var since = lastT();
    Promise.all([
      get('/metrics'), get('/metrics/system'), cfg.slo ? get('/metrics/slo') : Promise.resolve(null),
      due ? get('/metrics/history' + (since === null ? '' : '?since=' + since)) : Promise.resolve(null)
    ]).then(function (r) {
      if (r[3]) applyHistory(r[3], since !== null);
      if (r[0]) {
        state.metrics = r[0];
        $('instance').textContent = r[0].instance;
      }
      state.system = r[1] || state.system;
      state.slo = r[2] || state.slo;
      if (state.metrics) renderAll();
      if (state.selected && r[3]) return loadDetail();
      if (state.selected) renderDetail();
    }).catch(function (e) { console.warn(e); }).then(function () {
      $('status').textContent = state.metrics ? 'updated ' + new Date().toLocaleTimeString() : 'metrics unavailable, retrying';
      document.body.setAttribute('data-polls', String(++polls));
      setTimeout(tick, pollMs);
    });
  }

  $('routes').addEventListener('click', function (e) { onSort(e); onPick(e); });
  $('routes').addEventListener('keydown', onPick);
  $('detail-close').addEventListener('click', closeDetail);
  $('raw').addEventListener('toggle', function () { if ($('raw').open && state.metrics) renderRaw(state.metrics.features); });
  tick();
})();`;
