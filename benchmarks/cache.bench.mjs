// Issue #5's benchmark: cache-hit requests/s and server CPU µs/request of Express + autom8's
// response cache vs Express + apicache vs bare Express serving the same JSON (and Koa bare vs
// autom8), measured side by side in one run. Every server runs in its own process; the variants are
// measured in interleaved rounds and the median is reported, so a burst of load from elsewhere on
// the machine does not land on one variant only.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createEngine, Exchange, isPromise } from '@autom8/core/adapter';
import { startServer, measure, table, fmt } from './lib/http-bench.mjs';
import { writeResults, round } from './lib/results.mjs';

// --- micro: the cache's own hit decision (no sockets, so no noise from the machine's load) -----
// One real request fills the entry through a bare node server driving the engine; then the cache
// feature's onRequest is timed on hits.
async function microHit() {
  const engine = createEngine({ cache: true, telemetry: { enabled: false }, logger: { info() {}, warn() {}, error() {} } });
  const server = http.createServer((req, res) => {
    const ex = engine.begin(req, res, req.url);
    const d = engine.admit(ex);
    const app = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ items: [1, 2, 3] }));
    };
    if (d === undefined) app();
    else if (isPromise(d)) d.then((r) => (r === undefined ? app() : res.end(r.body)));
    else res.end(d.body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await fetch(`http://127.0.0.1:${server.address().port}/catalog?a=1`).then((r) => r.text());
  server.close();
  const cache = engine.feature('cache');
  const req = { method: 'GET', headers: { host: 'x', accept: '*/*' }, socket: null };
  const res = { statusCode: 200, headersSent: false, getHeader() {}, setHeader() {}, on() {} };
  const run = (n) => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (cache.onRequest(new Exchange(req, res, '/catalog?a=1', 'GET', 0))?.status === 200) hits++;
    return hits;
  };
  run(100_000);
  const n = 2_000_000;
  const t0 = performance.now();
  const hits = run(n);
  const ns = ((performance.now() - t0) * 1e6) / n;
  await engine.close();
  if (hits !== n) throw new Error(`expected ${n} hits, got ${hits}`);
  return ns;
}
const hitNs = await microHit();
console.log('micro');
table([{ what: 'response cache hit decision (new Exchange + onRequest)', 'ns/op': fmt(hitNs, 0), 'M ops/s': fmt(1e3 / hitNs, 2) }]);
console.log('');

const quick = process.env.BENCH_QUICK === '1';
const rounds = quick ? 1 : 3;
const server = new URL('./servers/cache-app.mjs', import.meta.url);
const opts = { path: '/catalog', connections: 32, duration: 2, warmup: 0 };
const cases = [
  ['express', 'bare', 'express bare (no cache)'],
  ['express', 'apicache', 'express + apicache (hit)'],
  ['express', 'autom8', 'express + autom8 cache (hit; metrics on)'],
  ['express', 'autom8-lean', 'express + autom8 cache (hit; metrics/OTel off)'],
  ['express', 'autom8-front', 'express + autom8 engine in front (hit; front mode)'],
  ['koa', 'bare', 'koa bare (no cache)'],
  ['koa', 'autom8', 'koa + autom8 cache (hit; metrics on)'],
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const servers = new Map();
const samples = new Map();
try {
  for (const [fw, variant] of cases) {
    const s = await startServer(server, [fw, variant]);
    servers.set(`${fw}/${variant}`, s);
    await measure(s, { ...opts, duration: 1 }); // warm-up (JIT, and the first request fills the cache)
    samples.set(`${fw}/${variant}`, []);
  }
  for (let r = 0; r < rounds; r++) {
    for (const [fw, variant] of cases) samples.get(`${fw}/${variant}`).push(await measure(servers.get(`${fw}/${variant}`), opts));
  }
} finally {
  for (const s of servers.values()) await s.stop();
}

const summary = new Map(
  [...samples].map(([k, xs]) => [
    k,
    {
      rps: median(xs.map((x) => x.rps)),
      cpu: median(xs.map((x) => x.cpuUsPerReq)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      errors: xs.reduce((a, x) => a + x.errors + x.non2xx, 0),
    },
  ]),
);
const apicache = summary.get('express/apicache');
const rows = cases.map(([fw, variant, label]) => {
  const r = summary.get(`${fw}/${variant}`);
  const bare = summary.get(`${fw}/bare`);
  return {
    stack: label,
    'req/s': fmt(r.rps, 0),
    'vs bare': fmt(r.rps / bare.rps, 2),
    'vs apicache': fw === 'express' ? fmt(r.rps / apicache.rps, 2) : '',
    'p50 ms': fmt(r.p50, 2),
    'p99 ms': fmt(r.p99, 2),
    'CPU µs/req': fmt(r.cpu, 1),
    'CPU vs apicache': fw === 'express' ? fmt(r.cpu / apicache.cpu, 2) : '',
    errors: r.errors,
  };
});
console.log(
  `HTTP cache hits: median of ${rounds} interleaved rounds × ${opts.duration} s (autocannon, ${opts.connections} connections, loopback; each server in its own process)`,
);
table(rows);
writeResults(
  'cache',
  [
    { section: 'micro', what: 'response cache hit decision (new Exchange + onRequest)', nsPerOp: round(hitNs, 0) },
    ...cases.map(([fw, variant, label]) => {
      const r = summary.get(`${fw}/${variant}`);
      const bare = summary.get(`${fw}/bare`);
      return {
        section: 'http',
        stack: label,
        rps: round(r.rps, 0),
        vsBare: round(r.rps / bare.rps, 2),
        vsApicache: fw === 'express' ? round(r.rps / apicache.rps, 2) : null,
        p50Ms: round(r.p50, 2),
        p99Ms: round(r.p99, 2),
        cpuUsPerReq: round(r.cpu, 1),
        failedRequests: r.errors,
      };
    }),
  ],
  { config: { rounds, ...opts } },
);
const ratio = summary.get('express/autom8').rps / apicache.rps;
const front = summary.get('express/autom8-front');
console.log(
  `\nautom8 hits / apicache hits (Express, metrics on): ${fmt(ratio, 2)}× req/s (target ≥ 1.5×); server CPU per hit ${fmt(summary.get('express/autom8').cpu, 1)} vs ${fmt(apicache.cpu, 1)} µs`,
);
console.log(
  `autom8 in front of Express / apicache: ${fmt(front.rps / apicache.rps, 2)}× req/s; server CPU per hit ${fmt(front.cpu, 1)} vs ${fmt(apicache.cpu, 1)} µs`,
);
