// Issue #2's benchmark: histogram record ops/s, and HTTP requests/s + server CPU µs/request of each
// framework bare vs with autom8 metrics (and with a real OTel SDK), measured side by side in one run.
import { performance } from 'node:perf_hooks';
// Internals measured on their own: from the build, not the package's entry points.
import { Histogram } from '../packages/core/dist/metrics/histogram.js';
import { WindowedSeries, DEFAULT_WINDOWS } from '../packages/core/dist/metrics/windowed-series.js';
import { startServer, measure, table, fmt } from './lib/http-bench.mjs';
import { writeResults, round } from './lib/results.mjs';

const quick = process.env.BENCH_QUICK === '1';

// --- micro: histogram record ---------------------------------------------------------------
function opsPerSec(fn, n) {
  fn(1000); // warm-up
  const t0 = performance.now();
  fn(n);
  return n / ((performance.now() - t0) / 1000);
}
const values = Float64Array.from({ length: 4096 }, () => Math.exp(Math.random() * 12)); // 1 µs .. 160 ms
const h = new Histogram();
const recordOps = opsPerSec((n) => {
  for (let i = 0; i < n; i++) h.record(values[i & 4095]);
}, 50_000_000);
const ws = new WindowedSeries(DEFAULT_WINDOWS, Date.now());
const t = Date.now();
const seriesOps = opsPerSec((n) => {
  for (let i = 0; i < n; i++) ws.record(values[i & 4095], 1, t + i / 1e6);
}, 10_000_000);
const json = [
  { section: 'micro', what: 'Histogram.record (1 histogram)', mOpsPerSec: round(recordOps / 1e6, 1), nsPerOp: round(1e9 / recordOps, 2) },
  { section: 'micro', what: 'WindowedSeries.record (lifetime + 3 windows)', mOpsPerSec: round(seriesOps / 1e6, 1), nsPerOp: round(1e9 / seriesOps, 2) },
];
console.log('micro');
table([
  { what: 'Histogram.record (1 histogram)', 'M ops/s': fmt(recordOps / 1e6, 1), 'ns/op': fmt(1e9 / recordOps, 1) },
  { what: 'WindowedSeries.record (lifetime + 3 windows)', 'M ops/s': fmt(seriesOps / 1e6, 1), 'ns/op': fmt(1e9 / seriesOps, 1) },
]);

// --- HTTP: bare vs + autom8 metrics -------------------------------------------------------
const server = new URL('./servers/app.mjs', import.meta.url);
// These machines are noisy: each variant is measured in ROUNDS interleaved rounds (bare, autom8,
// bare, autom8, …) and the median round is reported, so a burst of noise hits one round, not a row.
const ROUNDS = quick ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const opts = { path: '/users/42', connections: 32, duration: quick ? 2 : 3, warmup: 1 };
const frameworks = quick ? ['express', 'koa'] : ['node', 'express', 'express4', 'koa', 'koa2'];
const LABELS = {
  bare: 'bare',
  metrics: '+ autom8 metrics (app.use)',
  front: '+ autom8 metrics (front mode)',
  otel: '+ autom8 metrics + OTel SDK',
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows = [];
for (const fw of frameworks) {
  const variants = fw === 'node' ? ['bare'] : fw.startsWith('express') ? ['bare', 'metrics', 'front', 'otel'] : ['bare', 'metrics', 'otel'];
  const runs = Object.fromEntries(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const s = await startServer(server, [fw, variant]);
      try {
        runs[variant].push(await measure(s, opts));
      } finally {
        await s.stop();
      }
    }
  }
  const results = {};
  for (const v of variants) {
    const rs = runs[v];
    results[v] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
      errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    };
  }
  for (const variant of variants) {
    const r = results[variant];
    const base = results.bare;
    json.push({
      section: 'http',
      stack: fw === 'node' ? 'node:http' : `${fw} ${LABELS[variant]}`,
      rps: round(r.rps, 0),
      vsBare: round(r.rps / base.rps, 3),
      p50Ms: round(r.p50, 2),
      p99Ms: round(r.p99, 2),
      cpuUsPerReq: round(r.cpuUsPerReq, 1),
      addedCpuUs: variant === 'bare' ? 0 : round(r.cpuUsPerReq - base.cpuUsPerReq, 1),
      failedRequests: r.errors,
    });
    rows.push({
      stack: fw === 'node' ? 'node:http' : `${fw} ${LABELS[variant]}`,
      'req/s': fmt(r.rps, 0),
      'vs bare': variant === 'bare' ? '1.000' : fmt(r.rps / base.rps, 3),
      'p50 ms': fmt(r.p50, 2),
      'p99 ms': fmt(r.p99, 2),
      'CPU µs/req': fmt(r.cpuUsPerReq, 1),
      'added µs': variant === 'bare' ? '' : fmt(r.cpuUsPerReq - base.cpuUsPerReq, 1),
      errors: r.errors,
    });
  }
}
console.log(`\nHTTP (autocannon, 32 connections, loopback; server in its own process; median of ${ROUNDS} interleaved rounds)`);
table(rows);
writeResults('metrics', json, { config: { rounds: ROUNDS, ...opts } });
