// Issue #8: HTTP stacks side by side. Bare node:http (the ceiling), each framework bare, with the
// whole autom8 suite (OTel SDK registered, every feature on, GET /users/:id: the cache-miss path),
// with the peer stack users assemble today, and with OTel auto-instrumentation alone. For each:
// requests/s, p50/p99 at saturation (autocannon, 32 connections), server CPU µs per request (user +
// sys from /proc/<pid>/stat over the measured window), and p99 at a moderate fixed arrival rate
// (the toolkit's open-model generator at a fraction of the bare framework's throughput).
// Every stack is checked to do its job first (lib/stack-sanity.mjs). Noisy machines: interleaved
// rounds, medians. Writes results/stacks-node<major>.json (one file per Node.js major line: the
// runtime changes the frameworks' own cost several-fold), which report.mjs turns into BENCHMARKS.md.
// Another Node.js: `BENCH_NODE=24.21.0 npm run bench -- stacks` (benchmarks/run.mjs fetches it).
//   BENCH_ROUNDS (default 3), BENCH_QUICK=1 (1 round, short runs), BENCH_STACKS=id,id | all,
//   BENCH_MODERATE_FRACTION (default 0.3), BENCH_MODERATE_MAX (default 5000 req/s: the most one
//   generator process sends on schedule beside the measured server), BENCH_WARMUP_S (default 8: each server's load before
//   the rounds), BENCH_CHECK_ONLY=1 (sanity checks only), BENCH_PIN=0 (servers and load generator
//   not pinned to separate CPUs; see lib/http-bench.mjs pinCpus).
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { runLoadTest } from '@autom8/toolkit';
import { startServer, measure, cpuSeconds, pinCpus, table, fmt } from './lib/http-bench.mjs';
import { checkStack } from './lib/stack-sanity.mjs';
import { writeResults, round } from './lib/results.mjs';

const quick = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const FRACTION = Number(process.env.BENCH_MODERATE_FRACTION ?? 0.3);
const MODERATE_MAX = Number(process.env.BENCH_MODERATE_MAX ?? 5000);
// The issue's time budgets (15 µs, 0.2 ms) are for "this kind of machine", where bare node:http costs
// about 17 µs of CPU per request. Machines differ by 2x; the limits are scaled by this run's node:http
// figure (see targets below).
const REFERENCE_NODE_US = 17;
const CPU_BUDGET_US = 15;
const P99_BUDGET_MS = 0.2;
const PATH = '/users/42';
const SATURATION = { path: PATH, connections: 32, duration: quick ? 2 : 3, warmup: 1 };
// Load each server gets once, before the rounds, to reach its steady state (see below).
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? (quick ? 2 : 8));
const MODERATE = { connections: 32, seconds: quick ? 2 : 3 };
const SERVER = new URL('./servers/stacks.mjs', import.meta.url);

const FRAMEWORKS = {
  node: 'node:http',
  express: 'Express 5',
  express4: 'Express 4',
  koa: 'Koa 3',
  koa2: 'Koa 2',
};
const VARIANTS = {
  bare: 'bare',
  autom8: '+ autom8 (every feature, OTel SDK)',
  front: '+ autom8 front mode (every feature, OTel SDK)',
  peers: '+ peers', // completed per family below
  otel: '+ OTel auto-instrumentation only',
  sdk: '+ OTel SDK registered, nothing instrumented',
  nosdk: '+ autom8 (every feature, no OTel SDK)',
  floor: '+ the SDK floor (hand-written: one span, its context, one duration record)',
  sampled: '+ autom8 (every feature, OTel SDK sampling 10 % of traces)',
};
const TARGET_NAMES = {
  express: 'Express 5',
  'express-front': 'Express 5 (front mode)',
  express4: 'Express 4',
  'express4-front': 'Express 4 (front mode)',
  koa: 'Koa 3',
  koa2: 'Koa 2',
};
const PEERS = {
  express: '+ express-rate-limit, express-prom-bundle, apicache, OTel http+express',
  koa: '+ koa-ratelimit, express-prom-bundle (koa-connect), koa-cash, OTel http+koa',
};
const DEFAULT_STACKS = [
  'node',
  'express-bare',
  'express-sdk',
  'express-floor',
  'express-nosdk',
  'express-autom8',
  'express-sampled',
  'express-front',
  'express-peers',
  'express-otel',
  'express4-bare',
  'express4-floor',
  'express4-nosdk',
  'express4-autom8',
  'express4-peers',
  'koa-bare',
  'koa-sdk',
  'koa-floor',
  'koa-nosdk',
  'koa-autom8',
  'koa-sampled',
  'koa-peers',
];
const ALL_STACKS = [...DEFAULT_STACKS, 'express4-front', 'express4-otel', 'koa-otel', 'koa2-bare', 'koa2-autom8', 'koa2-peers'];
const wanted = process.env.BENCH_STACKS === 'all' ? ALL_STACKS : process.env.BENCH_STACKS ? process.env.BENCH_STACKS.split(',') : DEFAULT_STACKS;

const stacks = wanted.map((id) => {
  const [framework, variant = 'bare'] = id === 'node' ? ['node', 'bare'] : id.split('-');
  const family = framework.replace(/\d+$/, '');
  if (!FRAMEWORKS[framework] || !VARIANTS[variant]) throw new Error(`unknown stack ${id}`);
  const label = `${FRAMEWORKS[framework]} ${variant === 'peers' ? PEERS[family] : VARIANTS[variant]}`;
  return { id, framework, family, variant, label: framework === 'node' ? 'node:http (bare, the ceiling)' : label };
});
// Each framework's bare stack runs first in its group: its throughput sets the moderate rate.
for (const s of stacks)
  if (s.variant !== 'bare' && s.framework !== 'node' && !stacks.some((b) => b.framework === s.framework && b.variant === 'bare'))
    throw new Error(`${s.id} needs ${s.framework}-bare in BENCH_STACKS`);
stacks.sort(
  (a, b) =>
    Object.keys(FRAMEWORKS).indexOf(a.framework) - Object.keys(FRAMEWORKS).indexOf(b.framework) || (a.variant === 'bare' ? -1 : b.variant === 'bare' ? 1 : 0),
);

// --- 1. every stack does its job ----------------------------------------------------------
const t0 = Date.now();
console.log('sanity checks (rate limit 3/min, cache, metrics endpoint, exported spans and metrics)');
for (const s of stacks) console.log(`  ${await checkStack(s)}`);
if (process.env.BENCH_CHECK_ONLY === '1') process.exit(0);

// --- 2. interleaved rounds ----------------------------------------------------------------
/** Fixed-rate pass with the open-model generator: latency counted from each request's due time. */
async function moderate(server, rate) {
  const url = server.url + PATH;
  await runLoadTest({ url, rates: [rate], stepDurationMs: 300, connections: MODERATE.connections }); // opens connections
  const cpu0 = cpuSeconds(server.pid);
  const r = await runLoadTest({ url, rates: [rate], stepDurationMs: MODERATE.seconds * 1000, connections: MODERATE.connections });
  const cpu1 = cpuSeconds(server.pid);
  const step = r.steps[0];
  // Two latencies: from each request's scheduled time (the generator's timer lag included), and from
  // its send (the service latency: what the server and the network added; the added-p99 target uses it).
  return {
    rate,
    achieved: step.achievedRate,
    p50: step.latency.p50,
    p99: step.latency.p99,
    svcP50: step.serviceLatency.p50,
    svcP99: step.serviceLatency.p99,
    errors: step.sent - step.ok,
    maxSendLagMs: step.maxSendLagMs,
    cpuUsPerReq: ((cpu1 - cpu0) * 1e6) / step.completed,
  };
}

const rates = {}; // framework → moderate arrival rate, fixed after round 1
const runs = Object.fromEntries(stacks.map((s) => [s.id, []]));
// Every server is started once and brought to its steady state before any round: a fresh process
// needs several seconds of load before V8 has optimised its hot code and sized its heap (measured:
// autom8 with the SDK on Koa served 8k req/s in its first 3 s and 13k from the 4th pass on), and a
// stack with more code or more allocation would otherwise be measured mid-warm-up. Idle servers only
// run their timers while another one is measured.
const servers = {};
const pinning = pinCpus();
try {
  for (const s of stacks) {
    servers[s.id] = await startServer(SERVER, [s.id], {}, pinning?.others);
    pinning?.measure(servers[s.id].pid);
    await measure(servers[s.id], { ...SATURATION, duration: WARMUP_S, warmup: 0 });
    pinning?.release(servers[s.id].pid);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of stacks) {
      const server = servers[s.id];
      pinning?.measure(server.pid);
      const sat = await measure(server, SATURATION);
      if (s.variant === 'bare' && rates[s.framework] === undefined)
        rates[s.framework] = Math.min(MODERATE_MAX, Math.max(100, Math.round((sat.rps * FRACTION) / 100) * 100));
      const mod = await moderate(server, rates[s.framework]);
      pinning?.release(server.pid);
      runs[s.id].push({ sat, mod });
      process.stdout.write(
        `  round ${r + 1}/${ROUNDS} ${s.id}: ${fmt(sat.rps, 0)} req/s, ${fmt(sat.cpuUsPerReq, 1)} µs/req; at ${mod.rate}/s p99 ${fmt(mod.p99, 2)} ms\n`,
      );
    }
  }
} finally {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
}

// --- 3. medians, table, targets -----------------------------------------------------------
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const med = (id, pick) => median(runs[id].map(pick));
// A stack against another (its bare framework, the floor) round by round, then the median of the
// differences: both were measured within a minute of each other, so a slow drift of the machine
// (the VM's neighbours) cancels out of each difference.
const pairedMedian = (id, baseId, pick) => median(runs[id].map((x, r) => pick(x) - pick(runs[baseId][r])));
const bareIdOf = (s) => (s.framework === 'node' ? 'node' : `${s.framework}-bare`);
const summary = {};
for (const s of stacks) {
  summary[s.id] = {
    rps: med(s.id, (x) => x.sat.rps),
    p50: med(s.id, (x) => x.sat.p50),
    p99: med(s.id, (x) => x.sat.p99),
    cpu: med(s.id, (x) => x.sat.cpuUsPerReq),
    failed: runs[s.id].reduce((n, x) => n + x.sat.errors + x.sat.non2xx + x.mod.errors, 0),
    modRate: rates[s.framework],
    modAchieved: med(s.id, (x) => x.mod.achieved),
    modP50: med(s.id, (x) => x.mod.p50),
    modP99: med(s.id, (x) => x.mod.p99),
    modSvcP50: med(s.id, (x) => x.mod.svcP50),
    modSvcP99: med(s.id, (x) => x.mod.svcP99),
    addedCpu: pairedMedian(s.id, bareIdOf(s), (x) => x.sat.cpuUsPerReq),
    addedModSvcP99: pairedMedian(s.id, bareIdOf(s), (x) => x.mod.svcP99),
    modCpu: med(s.id, (x) => x.mod.cpuUsPerReq),
    modLag: Math.max(...runs[s.id].map((x) => x.mod.maxSendLagMs)),
  };
}
const bareOf = (s) => summary[bareIdOf(s)];
const rows = stacks.map((s) => {
  const r = summary[s.id];
  const b = bareOf(s);
  const isBare = s.variant === 'bare';
  return {
    section: 'stacks',
    stack: s.id,
    label: s.label,
    framework: s.framework,
    variant: s.variant,
    rps: round(r.rps, 0),
    vsBare: isBare ? 1 : round(r.rps / b.rps, 3),
    p50Ms: round(r.p50, 2),
    p99Ms: round(r.p99, 2),
    cpuUsPerReq: round(r.cpu, 1),
    // Paired: the median of the round-by-round differences (not the difference of the medians).
    addedCpuUs: isBare ? 0 : round(r.addedCpu, 1),
    moderateRate: r.modRate,
    moderateAchieved: round(r.modAchieved, 0),
    moderateP50Ms: round(r.modP50, 3),
    moderateP99Ms: round(r.modP99, 3),
    moderateServiceP50Ms: round(r.modSvcP50, 3),
    moderateServiceP99Ms: round(r.modSvcP99, 3),
    addedModerateP99Ms: isBare ? 0 : round(r.addedModSvcP99, 3),
    moderateCpuUsPerReq: round(r.modCpu, 1),
    generatorMaxLagMs: round(r.modLag, 1),
    failedRequests: r.failed,
    // Every round's figures, to see the noise the medians smooth over.
    roundsRps: runs[s.id].map((x) => round(x.sat.rps, 0)),
    roundsCpuUsPerReq: runs[s.id].map((x) => round(x.sat.cpuUsPerReq, 1)),
    roundsModerateP99Ms: runs[s.id].map((x) => round(x.mod.p99, 3)),
    roundsModerateServiceP99Ms: runs[s.id].map((x) => round(x.mod.svcP99, 3)),
  };
});

const elapsed = (Date.now() - t0) / 1000;
console.log(
  `\nHTTP stacks: GET ${PATH} on loopback, server in its own process; saturation = autocannon ${SATURATION.connections} connections × ${SATURATION.duration} s (after ${SATURATION.warmup} s warm-up); moderate = open-model fixed rate (${FRACTION * 100}% of the bare framework's req/s, at most ${MODERATE_MAX}/s) × ${MODERATE.seconds} s, p99 from each send; median of ${ROUNDS} interleaved rounds, added figures the median of the per-round differences; ${pinning === undefined ? 'unpinned' : `the measured server pinned to CPU ${pinning.measured}, the load generator and idle servers to ${pinning.others}`}; ${fmt(elapsed, 0)} s in all`,
);
table(
  rows.map((r) => ({
    stack: r.label,
    'req/s': fmt(r.rps, 0),
    'vs bare': fmt(r.vsBare, 3),
    'p50 ms': fmt(r.p50Ms, 1),
    'p99 ms': fmt(r.p99Ms, 1),
    'CPU µs/req': fmt(r.cpuUsPerReq, 1),
    'added µs': r.variant === 'bare' ? '' : fmt(r.addedCpuUs, 1),
    'mod. rate': String(r.moderateRate),
    'mod. p99 ms': fmt(r.moderateServiceP99Ms, 2),
    'added p99 ms': r.variant === 'bare' ? '' : fmt(r.addedModerateP99Ms, 2),
    failed: r.failedRequests,
  })),
);
for (const r of rows)
  if (r.failedRequests > 0)
    console.log(`WARNING: ${r.stack} had ${r.failedRequests} failed or non-2xx responses (shed? limited?): its figures are not comparable`);

// Targets of issue #8 (a report: a miss is printed, not fatal). Time limits are the issue's, scaled
// by this machine's speed: 15 µs where node:http costs 17 µs is 15 × (node:http here / 17) here.
const nodeRow = rows.find((r) => r.stack === 'node');
const speedScale = nodeRow ? nodeRow.cpuUsPerReq / REFERENCE_NODE_US : 1;
const CPU_LIMIT = round(CPU_BUDGET_US * speedScale, 1);
const P99_LIMIT = round(P99_BUDGET_MS * speedScale, 3);
if (!nodeRow) console.log('WARNING: node:http was not measured: the time limits are not scaled to this machine');
const targets = [];
const target = (name, framework, value, limit, pass, unit) =>
  targets.push({
    target: name,
    framework,
    value: round(value, 3),
    limit,
    unit,
    pass,
    ...(unit === '×' ? {} : { referenceLimit: unit === 'µs' ? CPU_BUDGET_US : P99_BUDGET_MS }),
  });
for (const fw of ['express', 'express4', 'koa', 'koa2']) {
  const bare = rows.find((r) => r.stack === `${fw}-bare`);
  const peers = rows.find((r) => r.stack === `${fw}-peers`);
  // The targets are for autom8 as documented first (app.use); front mode gets the same lines.
  for (const full of rows.filter((r) => r.stack === `${fw}-autom8` || r.stack === `${fw}-front`)) {
    if (!bare) continue;
    const where = full.variant === 'front' ? `${fw}-front` : fw;
    target('autom8 adds ≤ 15 µs server CPU per request', where, full.addedCpuUs, CPU_LIMIT, full.addedCpuUs <= CPU_LIMIT, 'µs');
    if (fw.startsWith('express')) target('Express keeps ≥ 90 % of its throughput', where, full.vsBare, 0.9, full.vsBare >= 0.9, '×');
    target('added p99 at moderate load < 0.2 ms', where, full.addedModerateP99Ms, P99_LIMIT, full.addedModerateP99Ms < P99_LIMIT, 'ms');
    // Where the added CPU goes: autom8 itself (no SDK), and autom8 over the same app with the SDK
    // registered (the context manager's cost belongs to registering OTel, whoever instruments).
    const nosdk = rows.find((r) => r.stack === `${fw}-nosdk`);
    const floor = rows.find((r) => r.stack === `${fw}-floor`);
    const sampled = rows.find((r) => r.stack === `${fw}-sampled`);
    if (full.variant === 'autom8' && nosdk)
      target('autom8 itself (no OTel SDK) adds ≤ 15 µs server CPU per request', where, nosdk.addedCpuUs, CPU_LIMIT, nosdk.addedCpuUs <= CPU_LIMIT, 'µs');
    // What any instrumentation pays this SDK (one span, its context, one record) is the floor; the
    // rest is autom8's.
    if (full.variant === 'autom8' && floor) {
      const overFloor = pairedMedian(full.stack, floor.stack, (x) => x.sat.cpuUsPerReq);
      target('autom8 with the SDK adds ≤ 15 µs over the SDK floor', where, overFloor, CPU_LIMIT, overFloor <= CPU_LIMIT, 'µs');
    }
    if (full.variant === 'autom8' && sampled)
      target('autom8 with the SDK sampling 10 % of traces adds ≤ 15 µs', where, sampled.addedCpuUs, CPU_LIMIT, sampled.addedCpuUs <= CPU_LIMIT, 'µs');
    if (peers) {
      target('autom8 beats the peer stack: req/s ratio', where, full.rps / peers.rps, 1, full.rps > peers.rps, '×');
      target('autom8 beats the peer stack: CPU ratio', where, full.cpuUsPerReq / peers.cpuUsPerReq, 1, full.cpuUsPerReq < peers.cpuUsPerReq, '×');
    }
  }
}
console.log('');
console.log(
  `time limits scaled × ${fmt(speedScale, 3)} (node:http ${nodeRow ? fmt(nodeRow.cpuUsPerReq, 1) : '?'} µs/req here, ${REFERENCE_NODE_US} on the issue's reference machine)`,
);
for (const t of targets)
  console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${TARGET_NAMES[t.framework]}: ${t.target} — ${fmt(t.value, 3)} ${t.unit} (limit ${t.limit})`);

// Versions of what ran, read from the installed packages.
function version(pkg) {
  for (const dir of ['./node_modules/', '../node_modules/']) {
    const file = new URL(`${dir}${pkg}/package.json`, import.meta.url);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
  }
  return null;
}
const PACKAGES = [
  '@autom8/core',
  'express',
  'express4',
  'koa',
  'koa2',
  '@koa/router',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/instrumentation-http',
  '@opentelemetry/instrumentation-express',
  '@opentelemetry/instrumentation-koa',
  'express-rate-limit',
  'express-prom-bundle',
  'prom-client',
  'apicache',
  'koa-ratelimit',
  'koa-cash',
  'koa-connect',
  'lru-cache',
  'autocannon',
];
const versions = Object.fromEntries(PACKAGES.map((p) => [p, version(p)]));
let commit = null;
try {
  commit = execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}
writeResults(`stacks-node${process.versions.node.split('.')[0]}`, rows, {
  commit,
  versions,
  config: {
    rounds: ROUNDS,
    path: PATH,
    saturation: SATURATION,
    serverWarmupSec: WARMUP_S,
    pinning: pinning === undefined ? null : { measured: pinning.measured, others: pinning.others },
    speedScale: round(speedScale, 3),
    referenceNodeUs: REFERENCE_NODE_US,
    moderate: { ...MODERATE, fraction: FRACTION, maxRate: MODERATE_MAX, rates, generator: '@autom8/toolkit runLoadTest (open model)' },
    elapsedSec: round(elapsed, 0),
  },
  targets,
});
process.exit(0);
