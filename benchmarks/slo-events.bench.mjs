// Issue #7's benchmark: what SLOs, the slow-request log and the dashboard add per request (server
// CPU µs/request, Express 5, measured side by side in one run), and the circuit breaker's cost
// per call against a bare async call.
import { performance } from 'node:perf_hooks';
import { createCircuitBreaker } from '@autom8/core';
// Internals measured on their own: from the build, not the package's entry points.
import { createSloFeature } from '../packages/core/dist/slo/slo-feature.js';
import { CountRing } from '../packages/core/dist/slo/count-ring.js';
import { createSlowLogFeature } from '../packages/core/dist/slowlog/slow-log-feature.js';
import { createEngine, Exchange } from '@autom8/core/adapter';
import { startServer, measure, table, fmt } from './lib/http-bench.mjs';

const quick = process.env.BENCH_QUICK === '1';

// --- micro ---------------------------------------------------------------------------------
async function asyncOpsPerSec(fn, n) {
  for (let i = 0; i < 10_000; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return n / ((performance.now() - t0) / 1000);
}
const N = quick ? 300_000 : 1_000_000;
const call = async () => 1;
const breaker = createCircuitBreaker('bench', { latencyP99: 1000 });
const bare = await asyncOpsPerSec(call, N);
const fired = await asyncOpsPerSec(() => breaker.fire(call), N);
const ring = new CountRing(10_000, 6, Date.now());
const t = Date.now();
const M = 20_000_000;
const t0 = performance.now();
for (let i = 0; i < M; i++) ring.record(t + i / 1e5, (i & 63) === 0, false);
const ringOps = M / ((performance.now() - t0) / 1000);
// The per-request hooks alone, in process (the HTTP figures below are at the mercy of a shared machine):
// onResponse of 3 SLO objectives, and of the slow log for a fast request, on finished exchanges.
const engine = createEngine({ telemetry: { enabled: false }, metrics: { systemIntervalMs: 3_600_000 } });
const slo = createSloFeature(
  {
    objectives: [
      { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 } },
      { name: 'api-errors', errorRate: 0.01 },
      { name: 'users-latency', route: 'GET /users/:id', latency: { percentile: 99, thresholdMs: 300 } },
    ],
    evaluateEveryMs: 3_600_000,
  },
  engine,
);
const slowLog = createSlowLogFeature({ thresholdMs: 1000 }, engine);
const res = { statusCode: 200, headersSent: true, getHeader() {}, setHeader() {}, on() {} };
const req = { method: 'GET', headers: {} };
const now0 = Date.now();
const pool = Array.from({ length: 1024 }, (_, i) => {
  const ex = new Exchange(req, res, `/users/${i}`, 'GET', now0 + i);
  ex.setRoute('/users/:id');
  ex.endTime = now0 + i + (i % 50) / 10;
  return ex;
});
function hookNs(feature, n) {
  for (let i = 0; i < 100_000; i++) feature.onResponse(pool[i & 1023]);
  const t = performance.now();
  for (let i = 0; i < n; i++) feature.onResponse(pool[i & 1023]);
  return ((performance.now() - t) * 1e6) / n;
}
const sloNs = hookNs(slo, quick ? 500_000 : 2_000_000);
const slowNs = hookNs(slowLog, quick ? 500_000 : 2_000_000);
slo.close();
await engine.close();

console.log('micro');
table([
  { what: 'await call() (bare)', 'M ops/s': fmt(bare / 1e6, 2), 'ns/op': fmt(1e9 / bare, 0), 'added ns': '' },
  { what: 'await breaker.fire(call)', 'M ops/s': fmt(fired / 1e6, 2), 'ns/op': fmt(1e9 / fired, 0), 'added ns': fmt(1e9 / fired - 1e9 / bare, 0) },
  { what: 'SLO onResponse, 3 objectives, per request', 'M ops/s': fmt(1e3 / sloNs, 1), 'ns/op': fmt(sloNs, 0), 'added ns': fmt(sloNs, 0) },
  { what: 'slow-log onResponse, fast request', 'M ops/s': fmt(1e3 / slowNs, 1), 'ns/op': fmt(slowNs, 1), 'added ns': fmt(slowNs, 1) },
  { what: 'CountRing.record (SLO/breaker window)', 'M ops/s': fmt(ringOps / 1e6, 1), 'ns/op': fmt(1e9 / ringOps, 1), 'added ns': '' },
]);

// --- HTTP ----------------------------------------------------------------------------------
const server = new URL('./servers/slo-app.mjs', import.meta.url);
const opts = { path: '/users/42', connections: 32, duration: quick ? 3 : 5, warmup: 1 };
// metrics runs first and last: the gap between the two shows the run-to-run noise on this machine.
const variants = ['metrics', 'slo', 'slowlog', 'all', 'metrics2'];
const labels = {
  metrics: 'autom8 metrics',
  slo: '+ 3 SLO objectives',
  slowlog: '+ slow-request log',
  all: '+ SLOs + slow log + dashboard',
  metrics2: 'autom8 metrics (again)',
};
const results = {};
for (const v of variants) {
  const s = await startServer(server, [v === 'metrics2' ? 'metrics' : v]);
  try {
    results[v] = await measure(s, opts);
  } finally {
    await s.stop();
  }
}
const base = { rps: (results.metrics.rps + results.metrics2.rps) / 2, cpuUsPerReq: (results.metrics.cpuUsPerReq + results.metrics2.cpuUsPerReq) / 2 };
console.log('\nHTTP, Express 5 (autocannon, 32 connections, loopback; server in its own process)');
table(
  variants.map((v) => ({
    stack: labels[v],
    'req/s': fmt(results[v].rps, 0),
    'vs metrics (mean of 2)': fmt(results[v].rps / base.rps, 3),
    'p99 ms': fmt(results[v].p99, 2),
    'CPU µs/req': fmt(results[v].cpuUsPerReq, 1),
    'added µs': v.startsWith('metrics') ? '' : fmt(results[v].cpuUsPerReq - base.cpuUsPerReq, 1),
    errors: results[v].errors + results[v].non2xx,
  })),
);
