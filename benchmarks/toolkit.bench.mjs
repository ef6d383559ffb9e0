// The toolkit's own claims, measured side by side in one run:
// 1. Benchmarker precision: @autom8/toolkit's bench() vs tinybench and mitata on functions of known
//    cost (the reference is one long timed loop of the same function, ns per call).
// 2. Load generator: the open-model generator (runLoadTest) vs autocannon at the same fixed rate
//    against the same bare node server: schedule accuracy and client CPU µs per request.
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { measure as mitataMeasure } from 'mitata';
import autocannon from 'autocannon';
import { bench, runLoadTest } from '@autom8/toolkit';
import { cpuSeconds, fmt, startServer, table } from './lib/http-bench.mjs';

let sink = 0;
const FNS = {
  'xorshift (~1 ns)': () => (sink = (sink ^ (sink << 13) ^ 0x5bd1e995) | 0),
  'sqrt loop ×100 (~0.3 µs)': () => {
    let x = 0;
    for (let i = 0; i < 100; i++) x += Math.sqrt(i + sink);
    return (sink = x | 0);
  },
  'sqrt loop ×3000 (~8 µs)': () => {
    let x = 0;
    for (let i = 0; i < 3000; i++) x += Math.sqrt(i + sink);
    return (sink = x | 0);
  },
};

// Reference: N calls in one timed loop (best of 5), after a warmup.
function reference(fn) {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t0 > 100) break;
    n *= 2;
  }
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
  }
  return best;
}

console.log('1. bench() precision vs tinybench and mitata (mean ns per call; error vs a long timed loop)\n');
const rows = [];
for (const [name, fn] of Object.entries(FNS)) {
  const ref = reference(fn);
  const ours = await bench(name, fn, { time: 700, warmup: 100 });
  const tb = new Bench({ time: 700, warmupTime: 100 });
  tb.add(name, fn);
  await tb.run();
  const tbMean = tb.tasks[0].result.latency.mean * 1e6;
  const tbRme = tb.tasks[0].result.latency.rme;
  const mi = await mitataMeasure(fn, { min_cpu_time: 700e6 });
  const err = (v) => `${v >= ref ? '+' : ''}${fmt(((v - ref) / ref) * 100, 1)}%`;
  rows.push({
    function: name,
    'reference ns': fmt(ref, 2),
    'autom8 ns': fmt(ours.mean, 2),
    'autom8 err': err(ours.mean),
    'autom8 ±rme': `${fmt(ours.rme, 2)}%`,
    'tinybench ns': fmt(tbMean, 2),
    'tinybench err': err(tbMean),
    'tinybench ±rme': `${fmt(tbRme, 2)}%`,
    'mitata ns': fmt(mi.avg, 2),
    'mitata err': err(mi.avg),
  });
}
table(rows);

console.log('\n2. Load generator at a fixed 2000 req/s for 3 s, bare node server (separate process)\n');
const server = await startServer(new URL('./servers/app.mjs', import.meta.url), ['node', 'bare']);
const RATE = 2000;
const SECONDS = 3;
const gen = [];
try {
  // Warm both sides once (not counted).
  await runLoadTest({ url: `${server.url}/users/1`, rates: [RATE], stepDurationMs: 1000 });

  let c0 = process.cpuUsage();
  let s0 = cpuSeconds(server.pid);
  const r = await runLoadTest({ url: `${server.url}/users/1`, rates: [RATE], stepDurationMs: SECONDS * 1000 });
  let c = process.cpuUsage(c0);
  let s = cpuSeconds(server.pid) - s0;
  const step = r.steps[0];
  gen.push({
    client: 'autom8 load (open model)',
    sent: step.sent,
    'achieved/s': fmt(step.achievedRate, 0),
    'p50 ms': fmt(step.latency.p50, 2),
    'p99 ms': fmt(step.latency.p99, 2),
    'max lag ms': fmt(step.maxSendLagMs, 1),
    'client CPU µs/req': fmt((c.user + c.system) / step.sent, 1),
    'server CPU µs/req': fmt((s * 1e6) / step.sent, 1),
  });

  c0 = process.cpuUsage();
  s0 = cpuSeconds(server.pid);
  const a = await new Promise((resolve, reject) =>
    autocannon({ url: `${server.url}/users/1`, connections: 16, overallRate: RATE, duration: SECONDS }, (e, res) => (e ? reject(e) : resolve(res))),
  );
  c = process.cpuUsage(c0);
  s = cpuSeconds(server.pid) - s0;
  const total = a.requests.total;
  gen.push({
    client: 'autocannon overallRate (16 conns)',
    sent: total,
    'achieved/s': fmt(a.requests.average, 0),
    'p50 ms': fmt(a.latency.p50, 2),
    'p99 ms': fmt(a.latency.p99, 2),
    'max lag ms': 'n/a',
    'client CPU µs/req': fmt((c.user + c.system) / total, 1),
    'server CPU µs/req': fmt((s * 1e6) / total, 1),
  });
} finally {
  await server.stop();
}
table(gen);
console.log('\nautocannon measures latency from the actual send (closed loop per connection); autom8 load from the scheduled time.');
