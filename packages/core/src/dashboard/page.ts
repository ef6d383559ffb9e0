import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './page-script.js';

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#111827;--muted:#4b5563;--line:#e5e7eb;--grid:rgba(0,0,0,.08);--accent:#2563eb;--good:#047857;--bad:#b91c1c;--badbg:#fee2e2;--sel:#eff6ff}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9ca3af;--line:#30363d;--grid:rgba(255,255,255,.09);--accent:#60a5fa;--good:#34d399;--bad:#f87171;--badbg:#3b1719;--sel:#1c2a3f}}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:.3em 1.4em;align-items:baseline;padding:.7em 1rem;border-bottom:1px solid var(--line);background:var(--card)}
header h1{font-size:1.1em;margin:0}header span{color:var(--muted)}
main{padding:.8rem 1rem 2rem;max-width:2400px;margin:0 auto}
h2{font-size:1em;margin:.1em 0 .5em}h2 small{font-weight:normal;color:var(--muted);margin-left:.5em}
.kpis{display:flex;flex-wrap:wrap;gap:.6em;margin-bottom:.3em}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.35em .8em;min-width:7.5em}
.kpi .label{display:block;font-size:11px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}.kpi b{font-size:1.25em;font-variant-numeric:tabular-nums}
.note{color:var(--muted);font-size:12px;margin:.2em 0 .8em}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.7em .9em;margin-bottom:1em;min-width:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:middle}
th{font-size:12px;color:var(--muted);font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th button{font:inherit;color:inherit;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=descending] button::after{content:" \\2193"}th[aria-sort=ascending] button::after{content:" \\2191"}
#routes tr.route{cursor:pointer}#routes tr.route:hover td,#routes tr.selected td{background:var(--sel)}
#routes td.name{word-break:break-all;min-width:8em}
.method{font-size:11px;font-weight:700;color:var(--accent)}
.c-spark{width:22%;min-width:70px}
svg.spark{width:100%;height:24px;display:block}svg.spark polyline{fill:none;stroke:var(--accent);stroke-width:1.5}
.bad{color:var(--bad)}.good{color:var(--good)}td.slo{white-space:nowrap}
tr.slo.breached td{background:var(--badbg)}table.slo th{white-space:normal}
.sub{font-size:11px;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:0 1em;align-items:start}
figure{margin:.4em 0 .8em}figcaption{font-size:12px;color:var(--muted);margin-bottom:.2em}
.chart{width:100%;min-height:120px;overflow:hidden}
.summary{margin:.1em 0 .5em}
.u-legend{font-size:11px;color:var(--fg)}.u-legend .u-marker{width:.8em;height:.8em}.u-inline tr{margin-right:10px}
#detail-head{display:flex;justify-content:space-between;gap:1em;align-items:baseline}
#detail-head h2{word-break:break-all}
#detail-close{font:inherit;background:none;border:1px solid var(--line);border-radius:4px;color:var(--fg);padding:.1em .6em;cursor:pointer}
td.trace{word-break:break-all}td.trace a{color:var(--accent)}
details{margin-top:1em}summary{cursor:pointer;color:var(--muted)}#raw-table td:first-child{word-break:break-all}
@media (max-width:640px){.opt{display:none}main{padding:.6rem}th,td{padding:4px 5px}.kpi{min-width:0;flex:1 1 28%}
#routes,#routes thead,#routes tbody{display:block}
#routes tr{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1.2fr) minmax(0,.9fr) minmax(0,1fr);grid-template-areas:"name name name slo" "rate spark err p99";border-bottom:1px solid var(--line);align-items:center}
#routes th,#routes td{border:0}#routes td.c-name{min-width:0}
.c-name{grid-area:name}.c-rate{grid-area:rate}.c-spark{grid-area:spark;width:auto;min-width:0}.c-err{grid-area:err}.c-p99{grid-area:p99}#routes .c-slo{grid-area:slo;text-align:right}}
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** What the page needs to know, sent to it as JSON. */
export interface DashboardPageConfig {
  prefix: string;
  pollMs: number;
  title: string;
  slo: boolean;
  traceUrl: string | null;
  intervalMs: number;
  /** URLs of uPlot's script and style sheet (served by the monitoring routes). */
  uplotJs: string;
  uplotCss: string;
}

const attr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The dashboard page and the Content-Security-Policy that allows exactly its own scripts and styles. */
export function renderDashboard(config: DashboardPageConfig): { html: string; csp: string } {
  // JSON in a data block: `<` escaped so that no value can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  const title = attr(config.title);
  const th = (sort: string, label: string, cls = '') => `<th data-sort="${sort}"${cls ? ` class="${cls}"` : ''}><button type="button">${label}</button></th>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<link rel="stylesheet" href="${attr(config.uplotCss)}">
<style>${STYLE}</style></head>
<body data-polls="0">
<header><h1>${title}</h1><span>instance <b id="instance">…</b></span><span id="status">loading…</span></header>
<main>
<div class="kpis" id="kpis"></div>
<p class="note" id="window-note"></p>
<section class="card" id="routes-card"><h2>Routes <small id="routes-note"></small></h2>
<table id="routes"><thead><tr>${th('key', 'Route', 'c-name')}${th('rate', 'Traffic', 'n c-rate')}<th class="c-spark" id="spark-head">History</th>${th('errors', '5xx', 'n c-err')}${th('p50', 'p50', 'n opt')}${th('p95', 'p95', 'n opt')}${th('p99', 'p99', 'n c-p99')}${th('slo', 'SLO', 'c-slo')}</tr></thead><tbody id="routes-body"></tbody></table>
</section>
<section class="card" id="detail" hidden><div id="detail-head"><h2 id="detail-title"></h2><button type="button" id="detail-close">close</button></div>
<p class="summary" id="d-summary"></p>
<div class="grid">
<figure><figcaption>latency percentiles</figcaption><div class="chart" id="d-latency"></div></figure>
<figure><figcaption>requests and 5xx per second</figcaption><div class="chart" id="d-rate"></div></figure>
<figure><figcaption>status classes per second</figcaption><div class="chart" id="d-status"></div></figure>
<figure><figcaption>slowest recent requests</figcaption><table id="d-slowest"></table><p class="note" id="d-none">No traced requests yet (exemplars need an OTel SDK that samples).</p></figure>
</div></section>
<div class="grid" id="features">
<section class="card feature" id="f-traffic"><h2>All traffic</h2><figure><figcaption>requests, 5xx and p99 latency</figcaption><div class="chart" id="traffic-chart"></div></figure></section>
</div>
<details id="raw"><summary>Details: every counter, as served by /metrics</summary><table id="raw-table"></table></details>
</main>
<script id="autom8-config" type="application/json">${json}</script>
<script src="${attr(config.uplotJs)}"></script>
<script>${PAGE_SCRIPT}</script>
</body></html>`;
  const csp = [
    "default-src 'none'",
    // 'self' for uPlot's file (served by the monitoring routes), the hash for the inline script.
    `script-src 'self' ${sha256(PAGE_SCRIPT)}`,
    `style-src 'self' ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
