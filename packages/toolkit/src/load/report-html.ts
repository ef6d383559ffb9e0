import type { LoadReport } from './load-test.js';
import { kneeCaveat, refusalNote } from './report-notes.js';

const SERIES = [
  { key: 'p50', color: '#2b8a3e' },
  { key: 'p95', color: '#1971c2' },
  { key: 'p99', color: '#e8590c' },
  { key: 'max', color: '#868e96' },
] as const;

const W = 860;
const H = 440;
const M = { left: 84, right: 120, top: 24, bottom: 56 };

/**
 * The report as one self-contained HTML page: an inline SVG chart of latency percentiles against
 * offered rate (achieved rate in closed mode), log-scaled, with the SLO line and the knee, then the
 * table. No script, font or style is fetched: it opens offline.
 */
export function renderLoadReportHtml(r: LoadReport): string {
  const open = r.mode === 'open';
  const points = r.steps.map((s) => ({ x: open ? s.level : s.achievedRate, s })).sort((a, b) => a.x - b.x);
  const xs = points.map((p) => p.x);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (!(xMax > xMin)) {
    xMin = xMin * 0.5;
    xMax = xMax * 1.5 || 1;
  }
  const lats = r.steps.flatMap((s) => [s.latency.p50, s.latency.max]).filter((v) => v > 0);
  if (r.slo !== null) lats.push(r.slo.thresholdMs);
  const yLo = Math.floor(Math.log10(Math.max(0.01, Math.min(...lats))));
  const yHi = Math.max(yLo + 1, Math.ceil(Math.log10(Math.max(...lats, 1) * 1.05)));
  const px = (x: number) => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (ms: number) => H - M.bottom - ((Math.log10(Math.max(ms, 10 ** yLo)) - yLo) / (yHi - yLo)) * (H - M.top - M.bottom);
  const f = (n: number) => n.toFixed(1);

  const grid: string[] = [];
  for (let d = yLo; d <= yHi; d++) {
    for (const m of d < yHi ? [1, 2, 5] : [1]) {
      const v = m * 10 ** d;
      const y = py(v);
      grid.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${f(y)}" y2="${f(y)}" class="${m === 1 ? 'grid major' : 'grid'}"/>`);
      if (m === 1 || yHi - yLo <= 3) grid.push(`<text x="${M.left - 8}" y="${f(y + 4)}" text-anchor="end">${fmtTick(v)}</text>`);
    }
  }
  for (const x of niceTicks(xMin, xMax, 6)) {
    grid.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${M.top}" y2="${H - M.bottom}" class="grid"/>`);
    grid.push(`<text x="${f(px(x))}" y="${H - M.bottom + 18}" text-anchor="middle">${x}</text>`);
  }
  const drawn = points.filter((p) => p.s.completed > 0);
  // End-of-line labels, pushed apart so that close lines keep readable names.
  const labelY = new Map<string, number>();
  if (drawn.length > 0) {
    const last = drawn[drawn.length - 1]!.s.latency;
    const order = SERIES.map(({ key }) => ({ key, y: py(last[key]) + 4 })).sort((a, b) => b.y - a.y);
    for (let i = 1; i < order.length; i++) if (order[i]!.y > order[i - 1]!.y - 13) order[i]!.y = order[i - 1]!.y - 13;
    for (const o of order) labelY.set(o.key, o.y);
  }
  const series = SERIES.map(({ key, color }) => {
    const pts = drawn.map((p) => `${f(px(p.x))},${f(py(p.s.latency[key]))}`);
    const dots = pts
      .map((pt) => {
        const [cx, cy] = pt.split(',');
        return `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${color}"/>`;
      })
      .join('');
    const last = pts[pts.length - 1]?.split(',');
    const label = last === undefined ? '' : `<text x="${f(Number(last[0]) + 8)}" y="${f(labelY.get(key)!)}" fill="${color}" class="label">${key}</text>`;
    return `<g class="series" data-series="${key}"><polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2.2"/>${dots}${label}</g>`;
  }).join('\n');
  const slo =
    r.slo === null
      ? ''
      : `<g class="slo"><line x1="${M.left}" x2="${W - M.right}" y1="${f(py(r.slo.thresholdMs))}" y2="${f(py(r.slo.thresholdMs))}" stroke="#c92a2a" stroke-dasharray="6 4" stroke-width="1.5"/><text x="${M.left + 6}" y="${f(py(r.slo.thresholdMs) - 5)}" fill="#c92a2a">SLO ${esc(r.slo.text)}</text></g>`;
  const kneeX = r.knee === null ? undefined : open ? r.knee.level : r.knee.achievedRate;
  const knee =
    kneeX === undefined
      ? ''
      : `<g class="knee"><line x1="${f(px(kneeX))}" x2="${f(px(kneeX))}" y1="${M.top}" y2="${H - M.bottom}" stroke="#5f3dc4" stroke-width="1.5" stroke-dasharray="2 3"/><text x="${f(px(kneeX) + 4)}" y="${M.top + 12}" fill="#5f3dc4">knee ${kneeX}</text></g>`;
  const svg = `<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Latency percentiles against ${open ? 'offered' : 'achieved'} rate">
<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="#fff" stroke="#ced4da"/>
${grid.join('\n')}
${slo}
${knee}
${series}
<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle" class="axis">${open ? 'offered rate (req/s)' : 'achieved rate (req/s)'}</text>
<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis">latency (ms, log scale)</text>
</svg>`;

  const rows = r.steps
    .map(
      (s) =>
        `<tr class="${s.slo === undefined ? '' : s.slo.pass ? 'pass' : 'fail'}"><td>${s.level}</td><td>${s.achievedRate.toFixed(1)}</td><td>${s.sent}</td><td>${s.ok}</td><td>${esc(
          Object.entries(s.errors)
            .map(([k, n]) => `${k}×${n}`)
            .join(' ') || '0',
        )}</td><td>${fmtMs(s.latency.p50)}</td><td>${fmtMs(s.latency.p95)}</td><td>${fmtMs(s.latency.p99)}</td><td>${fmtMs(s.latency.max)}</td>${r.slo === null ? '' : `<td>${s.slo === undefined ? 'partial' : s.slo.pass ? 'pass' : `FAIL ${esc(s.slo.reason ?? '')}`}</td>`}</tr>`,
    )
    .join('\n');
  const caveat = kneeCaveat(r);
  const verdict =
    r.slo === null
      ? ''
      : r.knee === null
        ? `<p class="verdict fail">No step met the SLO ${esc(r.slo.text)}.</p>`
        : `<p class="verdict">Knee: <strong>${r.knee.level}${open ? ' req/s offered' : ' clients'}</strong> (${r.knee.achievedRate} req/s achieved), the highest level meeting ${esc(r.slo.text)} with errors ≤ ${(r.maxErrorRate * 100).toFixed(1)}%${caveat === undefined ? '' : `; <span class="caveat">${esc(caveat)}</span>`}.</p>`;
  const refused = refusalNote(r);
  const warning = refused === undefined ? '' : `<p class="warning" role="alert">${esc(refused)}.</p>`;
  const data = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>autom8 load test: ${esc(r.url)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#212529;max-width:960px}
h1{font-size:20px;margin:0 0 4px}.meta{color:#495057;margin:0 0 16px}
svg text{font-size:12px}svg text:not([fill]){fill:#495057}svg .axis{font-size:13px}svg .label{font-weight:600}
.grid{stroke:#e9ecef}.grid.major{stroke:#ced4da}
table{border-collapse:collapse;margin-top:16px}th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #dee2e6}
th{background:#f1f3f5}tr.fail td{color:#c92a2a}.verdict{font-size:15px}.verdict.fail{color:#c92a2a}
.warning{background:#fff4e6;border-left:4px solid #e8590c;padding:8px 12px;font-size:15px}
</style></head><body>
<h1>Load test: ${esc(r.url)}</h1>
<p class="meta">${open ? 'Open model (constant arrival rate; latency counted from the scheduled send time)' : 'Closed model (fixed concurrency)'} · ${r.stepDurationMs / 1000}s per step · started ${esc(r.startedAt)}${r.ids > 0 ? ` · ${r.ids} discovered IDs` : ''}</p>
${warning}
${verdict}
${svg}
<table id="steps"><thead><tr><th>${open ? 'offered/s' : 'clients'}</th><th>achieved/s</th><th>sent</th><th>ok</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th><th>max</th>${r.slo === null ? '' : '<th>SLO</th>'}</tr></thead>
<tbody>
${rows}
</tbody></table>
<script type="application/json" id="autom8-data">${data}</script>
</body></html>
`;
}

function fmtMs(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
  if (v >= 1) return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
  return `${(v * 1000).toFixed(0)} µs`;
}

function fmtTick(v: number): string {
  if (v >= 1000) return `${v / 1000} s`;
  if (v >= 1) return `${v} ms`;
  return `${Math.round(v * 1000)} µs`;
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let x = Math.ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) out.push(Math.round(x * 1e6) / 1e6);
  return out;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
