// The dashboard's chart library, measured: draws 12 charts of 4 series × 360 points (an hour at the
// default 10 s interval) in headless Chromium with uPlot (what the dashboard uses), with the
// hand-drawn SVG of the previous dashboard (a polyline plus a circle and tooltip per point), and with
// bare SVG polylines (no axes, legend or hover), and prints the median time to drawn frames and the
// bytes each costs. Needs /usr/bin/chromium (or CHROMIUM_PATH) and a build; not part of `npm run bench`.
//   node benchmarks/tools/dashboard-charts.mjs
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const core = new URL('../../packages/core/', import.meta.url).pathname;
const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js', { paths: [core] }));
const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css', { paths: [core] }));
// The previous dashboard's chart function (commit 8ac1800, packages/core/src/dashboard/page-script.ts).
const SVG_CHART =
  "var SVG='http://www.w3.org/2000/svg';\nfunction fmt(v, digits) { return typeof v === 'number' ? (Math.round(v * Math.pow(10, digits)) / Math.pow(10, digits)).toString() : String(v); }\n  function chart(svg, t, series, unit) {\n    while (svg.firstChild) svg.removeChild(svg.firstChild);\n    var W = 360, H = 120, L = 44, B = 14;\n    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);\n    var max = 0;\n    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });\n    if (max <= 0) max = 1;\n    var t0 = t[0], t1 = t[t.length - 1], span = Math.max(1, t1 - t0);\n    function x(i) { return L + ((t[i] - t0) / span) * (W - L - 4); }\n    function y(v) { return H - B - (v / max) * (H - B - 6); }\n    var axis = document.createElementNS(SVG, 'path');\n    axis.setAttribute('d', 'M' + L + ' 4V' + (H - B) + 'H' + W);\n    axis.setAttribute('stroke', '#9ca3af'); axis.setAttribute('fill', 'none');\n    svg.appendChild(axis);\n    var label = document.createElementNS(SVG, 'text');\n    label.setAttribute('x', '2'); label.setAttribute('y', '12'); label.setAttribute('font-size', '10'); label.setAttribute('fill', '#6b7280');\n    label.textContent = fmt(max, 2) + ' ' + unit;\n    svg.appendChild(label);\n    series.forEach(function (s) {\n      var pts = s.values.map(function (v, i) { return x(i).toFixed(1) + ',' + y(v).toFixed(1); });\n      var line = document.createElementNS(SVG, 'polyline');\n      line.setAttribute('points', pts.join(' '));\n      line.setAttribute('fill', 'none'); line.setAttribute('stroke', s.color); line.setAttribute('stroke-width', '1.5');\n      line.setAttribute('data-series', s.name);\n      svg.appendChild(line);\n      s.values.forEach(function (v, i) {\n        var c = document.createElementNS(SVG, 'circle');\n        c.setAttribute('cx', x(i).toFixed(1)); c.setAttribute('cy', y(v).toFixed(1)); c.setAttribute('r', '1.8');\n        c.setAttribute('fill', s.color); c.setAttribute('class', 'pt'); c.setAttribute('data-series', s.name);\n        var tip = document.createElementNS(SVG, 'title');\n        tip.textContent = s.name + ' ' + fmt(v, 3) + ' ' + unit;\n        c.appendChild(tip);\n        svg.appendChild(c);\n      });\n    });\n  }\n\n";
const PAGE =
  "<!doctype html><html><head><link rel=\"stylesheet\" href=\"/uplot.css\"><style>body{margin:0;width:1400px}.c{width:640px;display:inline-block}svg{width:100%;height:180px;display:block}</style></head><body>\n<div id=\"root\"></div>\n<script src=\"/uplot.js\"></script><script src=\"/svg-chart.js\"></script>\n<script>\nvar N = 12, S = 4, P = 360;\nfunction data() { var t = [], ser = []; var now = Date.now(); for (var i = 0; i < P; i++) t.push(now - (P - i) * 10000);\n  for (var s = 0; s < S; s++) { var a = []; for (var i = 0; i < P; i++) a.push(10 + s * 5 + Math.sin(i / 10 + s) * 5 + Math.random() * 3); ser.push(a); } return { t: t, ser: ser }; }\nvar d = data();\nfunction frames() { return new Promise(function (r) { requestAnimationFrame(function () { requestAnimationFrame(r); }); }); }\nfunction clear() { var r = document.getElementById('root'); while (r.firstChild) r.removeChild(r.firstChild); return r; }\nfunction drawUplot() { var root = clear(); for (var c = 0; c < N; c++) { var box = document.createElement('div'); box.className = 'c'; root.appendChild(box);\n  new uPlot({ width: 640, height: 180, scales: { x: { time: true } }, series: [{}].concat(d.ser.map(function (_, i) { return { label: 's' + i, stroke: '#123', width: 1.5, points: { show: false } }; })) },\n    [d.t.map(function (x) { return x / 1000; })].concat(d.ser), box); } }\nfunction drawSvg(circles) { var root = clear(); for (var c = 0; c < N; c++) { var box = document.createElement('div'); box.className = 'c'; root.appendChild(box);\n  var svg = document.createElementNS(SVG, 'svg'); box.appendChild(svg);\n  if (circles) chart(svg, d.t, d.ser.map(function (v, i) { return { name: 's' + i, color: '#123', values: v }; }), 'ms');\n  else { svg.setAttribute('viewBox', '0 0 360 120'); d.ser.forEach(function (v) { var max = 40; var pl = document.createElementNS(SVG, 'polyline');\n    pl.setAttribute('points', v.map(function (y, i) { return (44 + i * 316 / P).toFixed(1) + ',' + (106 - y / max * 100).toFixed(1); }).join(' ')); pl.setAttribute('fill', 'none'); pl.setAttribute('stroke', '#123'); svg.appendChild(pl); }); } } }\nasync function run() { var res = { uplot: [], svgCircles: [], svgLines: [] };\n  for (var round = 0; round < 9; round++) for (var k of ['uplot', 'svgCircles', 'svgLines']) {\n    clear(); await frames(); var t0 = performance.now();\n    if (k === 'uplot') drawUplot(); else drawSvg(k === 'svgCircles'); document.body.offsetHeight; await frames();\n    res[k].push(performance.now() - t0); }\n  var med = function (a) { a = a.slice().sort(function (x, y) { return x - y; }); return a[a.length >> 1]; };\n  return { uplot: med(res.uplot), svgCircles: med(res.svgCircles), svgLines: med(res.svgLines), nodes: document.getElementsByTagName('*').length }; }\n</script></body></html>\n";
const files = {
  '/': [PAGE, 'text/html'],
  '/svg-chart.js': [SVG_CHART, 'text/javascript'],
  '/uplot.js': [uplotJs, 'text/javascript'],
  '/uplot.css': [uplotCss, 'text/css'],
};
const server = http.createServer((q, s) => {
  const f = files[q.url];
  if (!f) return s.writeHead(404).end();
  s.writeHead(200, { 'content-type': f[1] }).end(f[0]);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { chromium } = require('playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(`http://127.0.0.1:${server.address().port}/`);
console.log(`uPlot: ${uplotJs.length} B script (${gzipSync(uplotJs).length} B gzipped), ${uplotCss.length} B style`);
for (let i = 0; i < 3; i++) console.log('median ms to drawn frames, 12 charts:', JSON.stringify(await page.evaluate(() => globalThis.run())));
await browser.close();
server.close();
