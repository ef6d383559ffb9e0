// Load shedding under 3× overload, side by side from one run (issue #4):
//   no protection | static threshold in the style of @fastify/under-pressure | autom8 adaptive
// The server (test/e2e/overload/app.mjs, Express 5) runs in its own process; GET /work burns ~10 ms
// of CPU. Capacity is measured once (closed loop, 4 connections) and every scenario is offered 3×
// that at a constant arrival rate (open loop, latency measured from when each request was due).
// under-pressure is a Fastify plugin, so its static checks are emulated in the app with the settings
// of its README (maxEventLoopDelay 1000 ms, maxEventLoopUtilization 0.98, sampled each second).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createEngine } from '@autom8/core/adapter';
import { baseline, cpuSeconds, openLoop, startApp, summarize, pct } from '../test/e2e/overload/open-loop.mjs';
import { fmt, measure, table } from './lib/http-bench.mjs';

// Latencies of requests never answered are Infinity: show them as such rather than 'n/a'.
const ms = (n) => (n === Infinity ? '∞' : fmt(n));
const RUN_MS = Number(process.env.SHED_BENCH_MS ?? 8000);
const WARMUP_MS = 2000;
const SCENARIOS = [
  { name: 'no protection', mode: 'none' },
  { name: 'static (under-pressure style)', mode: 'static' },
  { name: 'autom8 adaptive', mode: 'autom8', shed: { limits: { maxEventLoopDelayMs: 40 }, concurrency: true } },
];

const probeApp = await startApp('none');
const base = await baseline(`${probeApp.url}/work`, 2000, 4, probeApp.pid);
await probeApp.stop();
const sameWork = { WORK_ROUNDS: probeApp.rounds };
const rate = Math.round(3 * base.capacity);
console.log(
  `capacity ${fmt(base.capacity)} req/s (server got ${fmt(base.cpuShare * 100, 0)}% of a core), unloaded p50 ${fmt(base.p50)} ms p99 ${fmt(base.p99)} ms; offering ${rate} req/s for ${RUN_MS / 1000} s (first ${WARMUP_MS / 1000} s not counted)\n`,
);

const rows = [];
for (const sc of SCENARIOS) {
  const app = await startApp(sc.mode, sc.shed, sameWork);
  await baseline(`${app.url}/work`, 500, 2); // warm the JIT
  const cpu0 = cpuSeconds(app.pid);
  const run = await openLoop(`${app.url}/work`, {
    rate,
    durationMs: RUN_MS,
    graceMs: 1500,
    timeoutMs: 8000,
    probeUrl: `${app.url}/api/v1/metrics`,
    probeEveryMs: 250,
  });
  const cpu = cpuSeconds(app.pid) - cpu0;
  await app.stop();
  const s = summarize(run, WARMUP_MS, RUN_MS);
  const probes = run.probes.map((p) => (p.status === 200 ? p.ms : Infinity));
  rows.push({
    scenario: sc.name,
    'offered/s': fmt(s.offered, 0),
    'goodput/s': fmt(s.goodput, 0),
    'goodput/capacity': `${fmt((s.goodput / base.capacity) * 100, 0)}%`,
    'p50 ms': ms(s.p50),
    'p99 ms': ms(s.p99),
    'p99/unloaded': ms(s.p99 / base.p99),
    shed: `${fmt(s.shedRate * 100, 0)}%`,
    unanswered: s.unfinished,
    'metrics p50/max ms': `${ms(pct(probes, 50))}/${ms(Math.max(...probes))}`,
    'server CPU µs/req': fmt((cpu * 1e6) / Math.max(1, run.results.length), 0),
  });
}
table(rows);
console.log('\np50/p99 are of admitted requests (200s); requests never answered count as infinitely slow.');

// The defaults (`shed: true`, nothing tuned) across routes, overloads and connection counts are
// benchmarks/shed-matrix.bench.mjs (issue #24).

// The price when there is no overload: the same app with a route that does no work (WORK_MS=0),
// loaded by autocannon; the difference in server CPU per request is what the shed feature adds.
const costRows = [];
for (const sc of [
  { name: 'autom8 metrics only', mode: 'none' },
  { name: 'autom8 + shed (defaults, concurrency on)', mode: 'autom8', shed: { concurrency: true } },
]) {
  const app = await startApp(sc.mode, sc.shed, { WORK_MS: '0' });
  const r = await measure({ url: app.url, pid: app.pid }, { path: '/work', connections: 16, duration: 4, warmup: 1 });
  await app.stop();
  costRows.push({ scenario: sc.name, 'req/s': fmt(r.rps, 0), 'p99 ms': fmt(r.p99), non2xx: r.non2xx, 'server CPU µs/req': fmt(r.cpuUsPerReq) });
}
console.log("\nNo overload, empty route (server CPU per request, the shed feature's cost is the difference):");
table(costRows);

// Micro: the per-request cost of the shed feature in-process (no HTTP noise): begin → admit → end
// through the core engine, with and without `shed`, same run, interleaved rounds, best round kept.
function engineLoop(engine, n) {
  const req = { method: 'GET', headers: {}, socket: { remoteAddress: '127.0.0.1' } };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = new EventEmitter();
    res.statusCode = 200;
    res.headersSent = false;
    res.getHeader = () => undefined;
    res.setHeader = () => res;
    const ex = engine.begin(req, res, '/work');
    if (engine.admit(ex) !== undefined) throw new Error('unexpected shed in the micro benchmark');
    res.emit('finish');
    res.emit('close');
  }
  return ((performance.now() - t0) * 1e6) / n;
}
const micro = [
  { name: 'engine, no shed', options: {} },
  { name: 'engine + shed (load)', options: { shed: true } },
  { name: 'engine + shed (load + concurrency)', options: { shed: { concurrency: true } } },
].map((m) => ({ ...m, engine: createEngine({ ...m.options, telemetry: { enabled: false }, monitoring: { enabled: false } }), best: Infinity }));
for (let round = 0; round < 5; round++) for (const m of micro) m.best = Math.min(m.best, engineLoop(m.engine, 100_000));
for (const m of micro) await m.engine.close();
console.log('\nIn-process, per request (best of 5 rounds of 100k):');
table(micro.map((m) => ({ variant: m.name, 'ns/request': fmt(m.best, 0), 'added ns': fmt(m.best - micro[0].best, 0) })));
