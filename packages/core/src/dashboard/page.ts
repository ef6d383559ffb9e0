import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './page-script.js';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f9fafb;color:#111827}
header{display:flex;gap:1.5em;align-items:baseline;padding:.8em 1.2em;background:#111827;color:#f9fafb}
header h1{font-size:1.1em;margin:0}header span{opacity:.8}
main{padding:1em 1.2em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:1em}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:.6em .8em;overflow-x:auto}
.card h2,.card h3{font-size:1em;margin:.2em 0 .4em}
svg{width:100%;height:120px;display:block}
.legend{font-size:11px;color:#4b5563}.key{margin-right:1em}.key::before{content:"";display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle;background:currentColor}
.key.p50{color:#3b82f6}.key.p95{color:#f59e0b}.key.p99{color:#ef4444}.key.rate{color:#10b981}.key.errors{color:#ef4444}
p.now{font-size:12px;color:#374151;margin:.3em 0 0}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #f3f4f6}
tr.breached td{background:#fee2e2}tr.ok td:nth-child(3){color:#047857}
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The dashboard page and the Content-Security-Policy that allows exactly its own script and style. */
export function renderDashboard(config: { prefix: string; pollMs: number; title: string; slo: boolean }): { html: string; csp: string } {
  // JSON in a data block: `<` escaped so that no value can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  const title = config.title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title><style>${STYLE}</style></head>
<body data-polls="0">
<header><h1>${title}</h1><span>instance <b id="instance">…</b></span><span>window <b id="window">…</b></span><span>in flight <b id="in-flight">…</b></span><span id="status">loading…</span></header>
<main>
<div class="grid">
<section class="card" id="totals"><h2>All requests</h2><div class="legend"><span class="key rate">rate</span><span class="key errors">errors</span></div><svg id="totals-chart" class="totals"></svg></section>
<section class="card" id="slo-box" hidden><h2>SLOs</h2><table id="slo"></table></section>
<section class="card"><h2>System</h2><table id="system"></table></section>
<section class="card"><h2>Rate limit · shedding · cache · breakers</h2><table id="features"></table></section>
</div>
<h2>Routes</h2>
<div class="grid" id="routes"></div>
</main>
<script id="autom8-config" type="application/json">${json}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(PAGE_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
