// Issue #23: each autom8 feature alone against the cheapest single-purpose peer that does only that
// job, on Express 5, Express 4 and Koa 3. The per-feature section of the stacks benchmark: the same
// server (servers/stacks.mjs, one process per scenario), routes, pinning and CPU accounting as
// stacks.bench.mjs, saturation only (autocannon, 32 connections), interleaved rounds, medians.
//   metrics only      autom8 metrics + monitoring endpoints (telemetry off) vs express-prom-bundle
//                     (Koa: through koa-connect, as the stacks bench does)
//   rate limit only   autom8 rateLimit (metrics, telemetry off) vs express-rate-limit /
//                     koa-ratelimit and rate-limiter-flexible; the limit out of reach; also
//                     without RateLimit headers, like for like with rate-limiter-flexible
//   cache hits only   autom8 cache (metrics, telemetry off) vs apicache / koa-cash, timed on GET /catalog
//   OTel only         autom8 telemetry to the SDK (metrics off) vs the SDK floor and the OTel
//                     auto-instrumentation (http + the framework's)
//   combinations      metrics + rate limit (telemetry at its default, no SDK registered: issue #23's
//                     case), every feature without and with the SDK
// "added" is against the bare framework on the same path, paired round by round; "÷ cheapest peer"
// is this row's CPU over the cheapest peer of the same job, also paired round by round.
//   BENCH_ROUNDS (default 3), BENCH_FRAMEWORKS=express,express4,koa, BENCH_WARMUP_S (default 6),
//   BENCH_PIN=0, BENCH_CHECK=0 (skip the sanity checks). Writes results/perfeature-node<major>.json.
import { startServer, measure, pinCpus, table, fmt } from './lib/http-bench.mjs';
import { checkStack } from './lib/stack-sanity.mjs';
import { writeResults, round } from './lib/results.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 6);
const SATURATION = { connections: 32, duration: 3, warmup: 1 };
const SERVER = new URL('./servers/stacks.mjs', import.meta.url);
const USERS = '/users/42';
const CATALOG = '/catalog';
const FRAMEWORKS = { express: 'Express 5', express4: 'Express 4', koa: 'Koa 3' };
const wantedFrameworks = (process.env.BENCH_FRAMEWORKS ?? 'express,express4,koa').split(',');

/** [variant, path, job, label, autom8?]; a job's rows are compared with each other. */
function scenarios(family) {
  const ex = family === 'express';
  return [
    ['bare', USERS, 'bare', 'bare', false],
    ['a8metrics', USERS, 'metrics', 'autom8 metrics + monitoring endpoints (telemetry off)', true],
    ['prom', USERS, 'metrics', ex ? 'express-prom-bundle' : 'express-prom-bundle via koa-connect', false],
    ['a8rl', USERS, 'rate limit', 'autom8 rateLimit, memory (metrics, telemetry off)', true],
    ['a8rlnohdr', USERS, 'rate limit', 'autom8 rateLimit, memory, no RateLimit headers (as rate-limiter-flexible)', true],
    ex ? ['erl', USERS, 'rate limit', 'express-rate-limit, memory', false] : ['koarl', USERS, 'rate limit', 'koa-ratelimit, memory driver', false],
    ['rlflex', USERS, 'rate limit', 'rate-limiter-flexible (RateLimiterMemory)', false],
    ['bare', CATALOG, 'bare', 'bare, GET /catalog (no cache)', false],
    ['a8cache', CATALOG, 'cache hit', 'autom8 cache, hits (metrics, telemetry off)', true],
    ex ? ['apicache', CATALOG, 'cache hit', 'apicache, hits', false] : ['koacash', CATALOG, 'cache hit', 'koa-cash (lru-cache), hits', false],
    ['floor', USERS, 'OTel', 'the SDK floor (hand-written span + record)', false],
    ['a8otel', USERS, 'OTel', 'autom8 telemetry to the OTel SDK (metrics off)', true],
    ['otel', USERS, 'OTel', `OTel auto-instrumentation (http + ${ex ? 'express' : 'koa'})`, false],
    ['a8metrl', USERS, 'metrics + rate limit', 'autom8 metrics + rateLimit (telemetry on, no SDK)', true],
    ['nosdk', USERS, 'everything', 'autom8 every feature, no OTel SDK', true],
    ['autom8', USERS, 'everything', 'autom8 every feature, OTel SDK', true],
  ];
}

const stacks = [];
for (const framework of wantedFrameworks) {
  if (!FRAMEWORKS[framework]) throw new Error(`unknown framework ${framework}`);
  const family = framework.replace(/\d+$/, '');
  for (const [variant, path, job, label, autom8] of scenarios(family)) {
    stacks.push({
      key: `${framework}-${variant}${path === CATALOG ? '@catalog' : ''}`,
      id: `${framework}-${variant}`,
      framework,
      family,
      variant,
      path,
      job,
      label,
      autom8,
    });
  }
}

const t0 = Date.now();
if (process.env.BENCH_CHECK !== '0') {
  console.log('sanity checks (rate limit 3/min, cache, metrics endpoint, exported spans and metrics)');
  const seen = new Set();
  for (const s of stacks) if (!seen.has(s.id)) seen.add(s.id) && console.log(`  ${await checkStack(s)}`);
}

const runs = Object.fromEntries(stacks.map((s) => [s.key, []]));
const servers = {};
const pinning = pinCpus();
try {
  // One server per scenario (the bare one serves both paths), each brought to steady state first.
  for (const s of stacks) {
    servers[s.id] ??= await startServer(SERVER, [s.id], {}, pinning?.others);
    pinning?.measure(servers[s.id].pid);
    await measure(servers[s.id], { ...SATURATION, path: s.path, duration: WARMUP_S, warmup: 0 });
    pinning?.release(servers[s.id].pid);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of stacks) {
      pinning?.measure(servers[s.id].pid);
      const sat = await measure(servers[s.id], { ...SATURATION, path: s.path });
      pinning?.release(servers[s.id].pid);
      runs[s.key].push(sat);
      process.stdout.write(`  round ${r + 1}/${ROUNDS} ${s.key}: ${fmt(sat.rps, 0)} req/s, ${fmt(sat.cpuUsPerReq, 1)} µs/req\n`);
    }
  }
} finally {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const paired = (key, baseKey, f) => median(runs[key].map((x, r) => f(x, runs[baseKey][r])));
const rows = [];
for (const s of stacks) {
  const bareKey = `${s.framework}-bare${s.path === CATALOG ? '@catalog' : ''}`;
  const peers = stacks.filter((p) => p.framework === s.framework && p.job === s.job && !p.autom8 && p.job !== 'bare' && p.variant !== 'floor');
  // The cheapest peer of the job in this run (by median CPU).
  const cheapest = peers.sort((a, b) => median(runs[a.key].map((x) => x.cpuUsPerReq)) - median(runs[b.key].map((x) => x.cpuUsPerReq)))[0];
  const cpus = runs[s.key].map((x) => x.cpuUsPerReq);
  rows.push({
    section: 'perfeature',
    stack: s.key,
    framework: s.framework,
    job: s.job,
    label: s.label,
    autom8: s.autom8,
    path: s.path,
    rps: round(median(runs[s.key].map((x) => x.rps)), 0),
    cpuUsPerReq: round(median(cpus), 1),
    cpuMin: round(Math.min(...cpus), 1),
    cpuMax: round(Math.max(...cpus), 1),
    addedCpuUs:
      s.key === bareKey
        ? 0
        : round(
            paired(s.key, bareKey, (x, b) => x.cpuUsPerReq - b.cpuUsPerReq),
            1,
          ),
    cheapestPeer: s.autom8 && cheapest ? cheapest.label : undefined,
    vsCheapestPeer:
      s.autom8 && cheapest
        ? round(
            paired(s.key, cheapest.key, (x, p) => x.cpuUsPerReq / p.cpuUsPerReq),
            3,
          )
        : undefined,
    failedRequests: runs[s.key].reduce((n, x) => n + x.errors + x.non2xx, 0),
    roundsCpuUsPerReq: cpus.map((c) => round(c, 1)),
    roundsRps: runs[s.key].map((x) => round(x.rps, 0)),
  });
}

const elapsed = (Date.now() - t0) / 1000;
console.log(
  `\nper feature: saturation = autocannon ${SATURATION.connections} connections × ${SATURATION.duration} s; median of ${ROUNDS} interleaved rounds; ${pinning === undefined ? 'unpinned' : `measured server on CPU ${pinning.measured}, generator and idle servers on ${pinning.others}`}; ${fmt(elapsed, 0)} s`,
);
table(
  rows.map((r) => ({
    stack: `${FRAMEWORKS[r.framework]} ${r.label}`,
    job: r.job,
    'req/s': fmt(r.rps, 0),
    'CPU µs/req': fmt(r.cpuUsPerReq, 1),
    'min–max': `${fmt(r.cpuMin, 1)}–${fmt(r.cpuMax, 1)}`,
    added: r.job === 'bare' ? '' : fmt(r.addedCpuUs, 1),
    '÷ cheapest peer': r.vsCheapestPeer === undefined ? '' : fmt(r.vsCheapestPeer, 3),
    failed: r.failedRequests,
  })),
);
for (const r of rows) if (r.failedRequests > 0) console.log(`WARNING: ${r.stack} had ${r.failedRequests} failed or non-2xx responses`);

writeResults(`perfeature-node${process.versions.node.split('.')[0]}`, rows, {
  config: {
    rounds: ROUNDS,
    saturation: SATURATION,
    serverWarmupSec: WARMUP_S,
    pinning: pinning === undefined ? null : { measured: pinning.measured, others: pinning.others },
    elapsedSec: round(elapsed, 0),
  },
});
process.exit(0);
