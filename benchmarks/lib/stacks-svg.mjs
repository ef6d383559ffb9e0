// The plot of BENCHMARKS.md: one row per stack, three panels of horizontal bars (requests/s at
// saturation, p99 at saturation, p99 at the moderate fixed rate), coloured by kind of stack.
// Hand-written SVG: no chart library for a dozen bars.

const COLORS = { bare: '#9e9e9e', autom8: '#1f77b4', front: '#17becf', peers: '#ff7f0e', otel: '#d62728' };
const KIND = {
  bare: 'bare framework',
  autom8: 'autom8, every feature (app.use)',
  front: 'autom8, every feature (front mode)',
  peers: 'peer stack',
  otel: 'OTel auto-instrumentation only',
};
const SHORT = { bare: 'bare', autom8: 'autom8', front: 'autom8 front', peers: 'peers', otel: 'OTel auto only' };
const FRAMEWORK = { node: 'node:http', express: 'Express 5', express4: 'Express 4', koa: 'Koa 3', koa2: 'Koa 2' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v, d) =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** A "nice" axis maximum (1, 2, 2.5 or 5 × 10^n) at or above `v`. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Renders the stacks results document as an SVG string. */
export function stacksSvg(doc) {
  const rows = doc.rows.filter((r) => r.section === 'stacks');
  const panels = [
    { title: 'requests/s at saturation (higher is better)', key: 'rps', digits: 0 },
    { title: 'p99 latency at saturation, ms', key: 'p99Ms', digits: 0 },
    // The service p99 (from each send) where the run has it: the figure the p99 target is judged on.
    {
      title: 'p99 at a moderate fixed rate, ms (lower is better)',
      key: rows.some((r) => r.moderateServiceP99Ms !== undefined) ? 'moderateServiceP99Ms' : 'moderateP99Ms',
      digits: 2,
    },
  ];
  const labelW = 200;
  const panelW = 300;
  const gap = 30;
  const rowH = 20;
  const groupGap = 10;
  const top = 70;
  const width = labelW + panels.length * (panelW + gap) + 20;

  // Row positions: a gap between frameworks.
  let y = top + 24;
  let prev;
  const ys = rows.map((r) => {
    if (prev !== undefined && r.framework !== prev) y += groupGap;
    prev = r.framework;
    const at = y;
    y += rowH;
    return at;
  });
  const legendY = y + 24;
  const height = legendY + 40;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="12" y="24" font-size="16" font-weight="bold">HTTP stacks side by side: GET ${esc(doc.config?.path ?? '/users/:id')}, loopback, server in its own process</text>`,
  );
  const m = doc.machine;
  out.push(
    `<text x="12" y="44" fill="#555">${esc(`${m.cpus.model} × ${m.cpus.count}, Node ${doc.node}, ${doc.when.slice(0, 10)}; median of ${doc.config?.rounds ?? '?'} interleaved rounds; moderate rate = ${Math.round((doc.config?.moderate?.fraction ?? 0) * 100)} % of the bare framework's req/s`)}</text>`,
  );

  panels.forEach((p, i) => {
    const x0 = labelW + i * (panelW + gap);
    const max = niceMax(Math.max(...rows.map((r) => r[p.key] ?? 0)));
    out.push(`<text x="${x0}" y="${top}" font-weight="bold">${esc(p.title)}</text>`);
    for (const f of [0, 0.5, 1]) {
      const x = x0 + f * panelW;
      out.push(`<line x1="${x}" y1="${top + 8}" x2="${x}" y2="${ys.at(-1) + rowH}" stroke="#e0e0e0"/>`);
      out.push(
        `<text x="${x}" y="${top + 20}" fill="#777" font-size="10" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}">${esc(num(max * f, max * f >= 10 || f === 0 ? 0 : 1))}</text>`,
      );
    }
    rows.forEach((r, k) => {
      const v = r[p.key];
      const w = Number.isFinite(v) ? Math.max(1, (v / max) * panelW) : 0;
      out.push(
        `<rect x="${x0}" y="${ys[k] + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[r.variant] ?? '#444'}"><title>${esc(`${r.label}: ${num(v, p.digits)}`)}</title></rect>`,
      );
      const inside = w > panelW - 60;
      out.push(
        `<text x="${(x0 + w + (inside ? -4 : 4)).toFixed(1)}" y="${ys[k] + rowH - 6}" font-size="11" text-anchor="${inside ? 'end' : 'start'}" fill="${inside ? '#fff' : '#222'}">${esc(num(v, p.digits))}</text>`,
      );
    });
  });
  rows.forEach((r, k) => {
    out.push(
      `<text x="${labelW - 10}" y="${ys[k] + rowH - 6}" text-anchor="end">${esc(r.framework === 'node' ? 'node:http bare' : `${FRAMEWORK[r.framework] ?? r.framework} ${SHORT[r.variant] ?? r.variant}`)}</text>`,
    );
  });

  let lx = 12;
  for (const v of [...new Set(rows.map((r) => r.variant))]) {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[v] ?? '#444'}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY}">${esc(KIND[v] ?? v)}</text>`);
    lx += 28 + 6.5 * (KIND[v] ?? v).length;
  }
  out.push(
    `<text x="12" y="${legendY + 22}" fill="#555" font-size="11">peers: Express = express-rate-limit + express-prom-bundle + apicache + OTel http/express instrumentation; Koa = koa-ratelimit + express-prom-bundle (koa-connect) + koa-cash + OTel http/koa instrumentation</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
