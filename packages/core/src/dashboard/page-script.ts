/**
 * The dashboard's browser script, plain ES2017 with no dependencies (the page must work offline,
 * no CDN). It polls the monitoring JSON, keeps the last points in memory and draws SVG charts.
 * Every value from the server is written with textContent, never as HTML.
 */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('autom8-config').textContent);
  var params = new URLSearchParams(location.search);
  var pollMs = Math.max(250, Number(params.get('poll')) || cfg.pollMs);
  var MAX_POINTS = 120, MAX_ROUTES = 12;
  var SVG = 'http://www.w3.org/2000/svg';
  var COLORS = { p50: '#3b82f6', p95: '#f59e0b', p99: '#ef4444', rate: '#10b981', errors: '#ef4444' };
  var routes = {};
  var totals = { t: [], rate: [], errors: [] };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function push(arr, v) { arr.push(v); if (arr.length > MAX_POINTS) arr.shift(); }
  function fmt(v, digits) { return typeof v === 'number' ? (Math.round(v * Math.pow(10, digits)) / Math.pow(10, digits)).toString() : String(v); }
  function get(path) {
    return fetch(cfg.prefix + path, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  // A line chart: one polyline and one circle per point for each series, plus the max on the axis.
  function chart(svg, t, series, unit) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 360, H = 120, L = 44, B = 14;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    if (max <= 0) max = 1;
    var t0 = t[0], t1 = t[t.length - 1], span = Math.max(1, t1 - t0);
    function x(i) { return L + ((t[i] - t0) / span) * (W - L - 4); }
    function y(v) { return H - B - (v / max) * (H - B - 6); }
    var axis = document.createElementNS(SVG, 'path');
    axis.setAttribute('d', 'M' + L + ' 4V' + (H - B) + 'H' + W);
    axis.setAttribute('stroke', '#9ca3af'); axis.setAttribute('fill', 'none');
    svg.appendChild(axis);
    var label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', '2'); label.setAttribute('y', '12'); label.setAttribute('font-size', '10'); label.setAttribute('fill', '#6b7280');
    label.textContent = fmt(max, 2) + ' ' + unit;
    svg.appendChild(label);
    series.forEach(function (s) {
      var pts = s.values.map(function (v, i) { return x(i).toFixed(1) + ',' + y(v).toFixed(1); });
      var line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', pts.join(' '));
      line.setAttribute('fill', 'none'); line.setAttribute('stroke', s.color); line.setAttribute('stroke-width', '1.5');
      line.setAttribute('data-series', s.name);
      svg.appendChild(line);
      s.values.forEach(function (v, i) {
        var c = document.createElementNS(SVG, 'circle');
        c.setAttribute('cx', x(i).toFixed(1)); c.setAttribute('cy', y(v).toFixed(1)); c.setAttribute('r', '1.8');
        c.setAttribute('fill', s.color); c.setAttribute('class', 'pt'); c.setAttribute('data-series', s.name);
        var tip = document.createElementNS(SVG, 'title');
        tip.textContent = s.name + ' ' + fmt(v, 3) + ' ' + unit;
        c.appendChild(tip);
        svg.appendChild(c);
      });
    });
  }

  function legend(names) {
    var d = el('div', 'legend');
    names.forEach(function (n) { var s = el('span', 'key ' + n, n); d.appendChild(s); });
    return d;
  }

  function record(m) {
    var w = m.windows[0].name, now = Date.parse(m.generatedAt);
    $('window').textContent = w;
    Object.keys(m.routes).forEach(function (key) {
      var s = m.routes[key].windows[w];
      var h = routes[key] || (routes[key] = { t: [], p50: [], p95: [], p99: [], rate: [], errors: [], count: 0 });
      push(h.t, now); push(h.p50, s.p50Ms); push(h.p95, s.p95Ms); push(h.p99, s.p99Ms);
      push(h.rate, s.ratePerSec); push(h.errors, s.errorRate * 100);
      h.count = m.routes[key].total.count;
    });
    var tw = m.totals.windows[w];
    push(totals.t, now); push(totals.rate, tw.ratePerSec); push(totals.errors, tw.errorRate * 100);
  }

  function renderRoutes() {
    var box = $('routes');
    var keys = Object.keys(routes).sort(function (a, b) { return routes[b].count - routes[a].count; }).slice(0, MAX_ROUTES);
    var seen = {};
    keys.forEach(function (key) {
      seen[key] = true;
      var h = routes[key];
      var card = box.querySelector('section[data-route="' + CSS.escape(key) + '"]');
      if (!card) {
        card = el('section', 'card route');
        card.setAttribute('data-route', key);
        card.appendChild(el('h3', '', key));
        card.appendChild(legend(['p50', 'p95', 'p99']));
        var lat = document.createElementNS(SVG, 'svg'); lat.setAttribute('class', 'latency'); card.appendChild(lat);
        card.appendChild(legend(['rate', 'errors']));
        var rate = document.createElementNS(SVG, 'svg'); rate.setAttribute('class', 'rate'); card.appendChild(rate);
        card.appendChild(el('p', 'now'));
        box.appendChild(card);
      }
      var i = h.t.length - 1;
      chart(card.querySelector('svg.latency'), h.t, [
        { name: 'p50', color: COLORS.p50, values: h.p50 },
        { name: 'p95', color: COLORS.p95, values: h.p95 },
        { name: 'p99', color: COLORS.p99, values: h.p99 }], 'ms');
      chart(card.querySelector('svg.rate'), h.t, [
        { name: 'rate', color: COLORS.rate, values: h.rate },
        { name: 'errors', color: COLORS.errors, values: h.errors }], 'req/s · %');
      card.querySelector('p.now').textContent = 'p50 ' + fmt(h.p50[i], 2) + ' ms · p95 ' + fmt(h.p95[i], 2) + ' ms · p99 ' + fmt(h.p99[i], 2) +
        ' ms · ' + fmt(h.rate[i], 2) + ' req/s · ' + fmt(h.errors[i], 2) + ' % 5xx · ' + h.count + ' total';
    });
    Array.prototype.forEach.call(box.querySelectorAll('section.route'), function (card) {
      if (!seen[card.getAttribute('data-route')]) box.removeChild(card);
    });
  }

  function renderTotals() {
    chart($('totals-chart'), totals.t, [
      { name: 'rate', color: COLORS.rate, values: totals.rate },
      { name: 'errors', color: COLORS.errors, values: totals.errors }], 'req/s · %');
  }

  function table(id, head, rows) {
    var t = $(id);
    while (t.firstChild) t.removeChild(t.firstChild);
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', '', h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el('tr', r.cls || '');
      r.cells.forEach(function (c) { row.appendChild(el('td', '', c)); });
      t.appendChild(row);
    });
  }

  // Counters of the other features (rate limit, shedding, cache, breakers...): numeric leaves.
  function renderFeatures(features) {
    var rows = [];
    function walk(prefix, v, depth) {
      if (typeof v === 'number' || typeof v === 'boolean') rows.push({ cells: [prefix, fmt(v, 4)] });
      else if (typeof v === 'string' && depth > 0) rows.push({ cells: [prefix, v] });
      else if (v && typeof v === 'object' && !Array.isArray(v) && depth < 4) {
        Object.keys(v).forEach(function (k) { walk(prefix ? prefix + '.' + k : k, v[k], depth + 1); });
      }
    }
    Object.keys(features || {}).forEach(function (name) { if (name !== 'slo') walk(name, features[name], 0); });
    table('features', ['counter', 'value'], rows.slice(0, 200));
  }

  function renderSlo(report) {
    var rows = report && report.objectives ? report.objectives.map(function (o) {
      return { cls: 'slo ' + o.status, cells: [o.name, o.objective + ' over ' + o.window, o.status, fmt(o.compliance * 100, 2) + ' %',
        fmt(o.burnRate, 2), fmt(o.errorBudgetRemaining * 100, 1) + ' %', o.events] };
    }) : [];
    table('slo', ['SLO', 'objective', 'status', 'compliance', 'burn rate', 'budget left', 'events'], rows);
    $('slo-box').hidden = rows.length === 0;
  }

  function renderSystem(s) {
    var mb = function (b) { return fmt(b / 1048576, 1) + ' MiB'; };
    table('system', ['gauge', 'value'], [
      { cells: ['CPU (one core)', fmt(s.cpuPercent, 1) + ' %'] },
      { cells: ['CPU (all ' + s.cores + ' cores)', fmt(s.cpuShare * 100, 1) + ' %'] },
      { cells: ['event-loop utilisation', fmt(s.eventLoopUtilization * 100, 1) + ' %'] },
      { cells: ['event-loop delay p99', fmt(s.eventLoopDelay.p99Ms, 2) + ' ms'] },
      { cells: ['RSS', mb(s.memory.rssBytes)] },
      { cells: ['heap used', mb(s.memory.heapUsedBytes)] },
      { cells: ['load average 1m', fmt(s.host.loadAverage1m, 2)] },
      { cells: ['uptime', s.uptimeSec + ' s'] }]);
  }

  function tick() {
    Promise.all([get('/metrics'), get('/metrics/system'), cfg.slo ? get('/metrics/slo') : Promise.resolve(null)]).then(function (r) {
      if (r[0]) {
        record(r[0]); renderRoutes(); renderTotals(); renderFeatures(r[0].features);
        $('instance').textContent = r[0].instance;
        $('in-flight').textContent = r[0].inFlight;
      }
      if (r[1]) renderSystem(r[1]);
      renderSlo(r[2]);
      $('status').textContent = r[0] ? 'updated ' + new Date().toLocaleTimeString() : 'metrics unavailable, retrying';
      document.body.setAttribute('data-polls', String(Number(document.body.getAttribute('data-polls') || 0) + 1));
    }).then(function () { setTimeout(tick, pollMs); });
  }
  tick();
})();`;
