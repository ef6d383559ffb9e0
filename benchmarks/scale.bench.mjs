// Issue #8, scale: what 10k, 100k and 1M distinct client keys cost, and how the Redis store scales
// with 1, 2 and 4 app processes sharing one Redis. Figures side by side from one run.
// 1. MemoryRateLimitStore per algorithm, at N keys with a cap that holds them all and with the
//    default cap (100k, evicting): heap after GC per key, RSS, and check latency on hot keys, on
//    random held keys and on new keys (the insert, and at the cap the eviction, path).
// 2. The Autom8 engine with the rate limiter, no HTTP: ns per request with N client addresses.
// 3. RedisRateLimitStore in 1, 2 and 4 processes against one redis-server started here: checks/s,
//    latency, Redis CPU per check; and once, 4 processes on one key with limit L admit exactly L.
// Sections 1 and 2 run each case in a fresh child process, so RSS and JIT state are its own.
// Writes results/scale.json. `BENCH_QUICK=1` shortens it (smaller samples, 2 s Redis runs).
import http from 'node:http';
import os from 'node:os';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { table, fmt } from './lib/http-bench.mjs';
import { writeResults, round } from './lib/results.mjs';
import { clientAddress as addr, measureWindow, once, startWorker, stopWorkers } from './lib/fleet.mjs';
import { connectRedis, startRedis } from './lib/redis.mjs';
import { endOfLap, pipelineRequest } from './lib/request-pair.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
// SCALE_ONLY=memory,engine,redis runs a subset (for working on one section); the JSON is then partial.
const ONLY = (process.env.SCALE_ONLY ?? 'memory,engine,redis').split(',');
const SIZES = [10_000, 100_000, 1_000_000];
const DEFAULT_CAP = 100_000; // MemoryRateLimitStore's default maxKeys
const ALGORITHMS = ['token-bucket', 'fixed-window', 'sliding-window', 'gcra', 'leaky-bucket', 'sliding-log'];
const SAMPLE = QUICK ? 5_000 : 20_000; // individually timed checks per kind
const BATCH = QUICK ? 50_000 : 200_000; // checks per batch-timed mean (hot, cold)
// New keys per size: sample + batch stay under 100k - 10k, so the default cap's 10k row never evicts.
const NEW_BATCH = QUICK ? 20_000 : 50_000;

// Deterministic spread of indices (a 32-bit LCG), so every run samples the same keys.
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

// A case run by hand (no IPC channel) prints its rows.
const emit = (rows) => (process.send !== undefined ? process.send(rows) : console.log(JSON.stringify(rows, null, 1)));

// ---------------------------------------------------------------------------------------------
// Child: one algorithm, one cap mode ('all' = cap above 1M, 'default' = 100k).
async function memoryCase(algorithm, capMode) {
  const { MemoryRateLimitStore } = require('@autom8/core/store');
  // Limits so high every check is admitted: the store's cost, not refusals, is measured. Sliding
  // log keeps one timestamp per admitted unit, so it gets a small limit, as it is meant for.
  const limit = algorithm === 'sliding-log' ? 100 : 1e9;
  const policy = { name: 'scale', algorithm, limit, windowMs: 60_000, burst: limit, maxDelayMs: 0 };
  const heap = () => {
    globalThis.gc();
    globalThis.gc();
    return process.memoryUsage();
  };
  const base = heap().heapUsed;
  const store = new MemoryRateLimitStore(capMode === 'all' ? { maxKeys: 2_000_000 } : {});
  const timerFloor = floorOfTimer();
  const rows = [];
  let inserted = 0; // clients 0..inserted-1 have been seen
  for (const n of SIZES) {
    const t0 = performance.now();
    for (; inserted < n; inserted++) store.consume(addr(inserted), policy, 1);
    const fillNs = ((performance.now() - t0) * 1e6) / n;
    const mem = heap();
    const held = store.size;
    // Latency on three kinds of keys. Held keys are the most recently inserted `held` clients
    // (eviction takes the oldest), so every sampled key below is in the store.
    const rnd = lcg(n);
    const hot = Array.from({ length: 1024 }, (_, i) => addr(inserted - 1 - i));
    const cold = Array.from({ length: 1 << 18 }, () => addr(inserted - 1 - (rnd() % held)));
    const fresh = Array.from({ length: SAMPLE + NEW_BATCH }, (_, i) => addr(50_000_000 + n + i));
    const lat = {};
    for (const [kind, keys] of [
      ['hot', hot],
      ['cold', cold],
    ]) {
      for (let i = 0; i < 20_000; i++) store.consume(keys[i % keys.length], policy, 1); // warm-up
      lat[kind] = { mean: batchMean(store, policy, keys, BATCH), ...sampled(store, policy, keys, SAMPLE, timerFloor) };
    }
    // New keys are spent once each: the timed sample first, then the batch.
    const pct = sampled(store, policy, fresh, SAMPLE, timerFloor);
    const mean = batchMean(store, policy, fresh.slice(SAMPLE), NEW_BATCH);
    lat.new = { mean, ...pct };
    rows.push({
      section: 'memory-store',
      algorithm,
      cap: capMode === 'all' ? 2_000_000 : DEFAULT_CAP,
      clients: n,
      held,
      evictions: store.evictions,
      heapBytesPerKey: (mem.heapUsed - base) / held,
      heapMB: (mem.heapUsed - base) / 2 ** 20,
      rssMB: mem.rss / 2 ** 20,
      fillNsPerInsert: fillNs,
      hot: lat.hot,
      cold: lat.cold,
      new: lat.new,
      timerFloorNs: timerFloor,
    });
    // Back to clients only for the next size: the latency samples added keys.
    for (const k of fresh) store.reset(k, policy);
  }
  emit(rows);
}

/** Mean ns per check over `count` checks cycling through `keys`, one timer around the loop. */
function batchMean(store, policy, keys, count) {
  const len = keys.length;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) store.consume(keys[i % len], policy, 1);
  return ((performance.now() - t0) * 1e6) / count;
}

/** p50/p99/max ns of single checks, each timed alone, minus the timer's own median cost. */
function sampled(store, policy, keys, count, floor) {
  const d = new Float64Array(count);
  const len = keys.length;
  for (let i = 0; i < count; i++) {
    const k = keys[i % len];
    const t0 = performance.now();
    store.consume(k, policy, 1);
    d[i] = Math.max(0, (performance.now() - t0) * 1e6 - floor);
  }
  d.sort();
  return { p50: d[count >> 1], p99: d[Math.floor(count * 0.99)], max: d[count - 1] };
}

/** Median ns of two back-to-back performance.now() calls: what `sampled` subtracts. */
function floorOfTimer() {
  const d = new Float64Array(20_000);
  for (let i = 0; i < d.length; i++) {
    const t0 = performance.now();
    d[i] = (performance.now() - t0) * 1e6;
  }
  d.sort();
  return d[d.length >> 1];
}

// ---------------------------------------------------------------------------------------------
// Child: the engine's request-start path with the rate limiter (no HTTP), clients = N addresses.
async function engineCase() {
  const { createEngine: createAutom8 } = require('@autom8/core/adapter');
  const { Socket } = require('node:net');
  const lean = { metrics: { enabled: false }, telemetry: { enabled: false }, monitoring: { enabled: false }, logger: { info() {}, warn() {}, error() {} } };
  // Real IncomingMessage/ServerResponse; the socket is a plain object whose address we set.
  const pairs = Array.from({ length: 2000 }, () => {
    const req = new http.IncomingMessage(new Socket());
    req.method = 'GET';
    req.url = '/users/42';
    req.headers = { host: 'localhost', 'user-agent': 'bench' };
    const res = new http.ServerResponse(req);
    const sock = { remoteAddress: '' };
    req.socket = sock;
    return { req, res, sock };
  });
  let refused = 0;
  const request = (engine, i, address) => {
    const pair = pairs[i % 2000];
    pair.sock.remoteAddress = address;
    if (pipelineRequest(engine, pair) !== undefined) refused++;
    endOfLap(pairs, i);
  };
  // Requests from `keys` (cycled), timed as one loop.
  const timed = (engine, keys, count) => {
    for (let i = 0; i < 20_000; i++) request(engine, i, keys[i % keys.length]);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) request(engine, i, keys[i % keys.length]);
    return ((performance.now() - t0) * 1e6) / count;
  };
  const rows = [];
  const count = QUICK ? 100_000 : 300_000;
  const none = createAutom8(lean);
  const baseKeys = Array.from({ length: 1 << 16 }, (_, i) => addr(i));
  const baseline = timed(none, baseKeys, count);
  await none.close();
  for (const capMode of ['all', 'default']) {
    const maxKeys = capMode === 'all' ? 2_000_000 : DEFAULT_CAP;
    const engine = createAutom8({ ...lean, rateLimit: { algorithm: 'token-bucket', rate: 1e9, per: 'minute', maxKeys } });
    let seen = 0;
    for (const n of SIZES) {
      for (; seen < n; seen++) request(engine, seen, addr(seen));
      const rnd = lcg(n);
      const held = Math.min(n, maxKeys);
      const keys = Array.from({ length: 1 << 16 }, () => addr(seen - 1 - (rnd() % held)));
      rows.push({ section: 'engine', algorithm: 'token-bucket', cap: maxKeys, clients: n, baselineNs: baseline, nsPerRequest: timed(engine, keys, count) });
    }
    await engine.close();
  }
  if (refused !== 0) throw new Error(`engine bench: ${refused} requests were refused; the limit should admit all`);
  emit(rows);
}

// ---------------------------------------------------------------------------------------------
// Child: one app process with its own ioredis client and RedisRateLimitStore.
function redisWorker() {
  const { RedisRateLimitStore } = require('@autom8/redis');
  const quiet = { info() {}, warn() {}, error() {} };
  let client, store;
  let running = false;
  let loops = [];
  let stats;
  const fresh = () => ({ checks: 0, allowed: 0, samples: 0, lat: new Float64Array(1_000_000) });
  process.on('message', async (msg) => {
    if (msg.type === 'init') {
      client = await connectRedis(msg.port);
      // A generous time budget: on 2 shared cores a slow reply is load, not an outage.
      store = new RedisRateLimitStore({ client, logger: quiet, outage: { timeoutMs: 5000 } });
      process.send({ type: 'ready' });
    } else if (msg.type === 'load') {
      // `inflight` loops, each awaiting one check at a time: `inflight` checks outstanding.
      const { policy, inflight, worker, keySpace } = msg;
      let next = worker * 7919;
      stats = fresh();
      running = true;
      const loop = async () => {
        while (running) {
          next = (next + 104_729) % keySpace; // stride through the key space: mostly distinct keys
          const t0 = performance.now();
          const r = await store.consume(`${worker}:${addr(next)}`, policy, 1);
          const s = stats;
          if (s.samples < s.lat.length) s.lat[s.samples++] = performance.now() - t0;
          s.checks++;
          if (r.allowed) s.allowed++;
        }
      };
      loops = Array.from({ length: inflight }, loop);
      process.send({ type: 'loading' });
    } else if (msg.type === 'mark') {
      stats = fresh(); // count only what completes from here to 'stop'
    } else if (msg.type === 'stop') {
      const s = stats;
      const result = { type: 'result', checks: s.checks, allowed: s.allowed, lat: Array.from(s.lat.subarray(0, s.samples)) };
      running = false;
      await Promise.all(loops);
      process.send({ ...result, guard: store.guard.snapshot() });
    } else if (msg.type === 'burst') {
      // Correctness: `count` checks on one shared key, `inflight` at a time; report admissions.
      const { policy, inflight, count, key } = msg;
      let issued = 0;
      let allowed = 0;
      const loop = async () => {
        while (issued < count) {
          issued++;
          if ((await store.consume(key, policy, 1)).allowed) allowed++;
        }
      };
      await Promise.all(Array.from({ length: inflight }, loop));
      process.send({ type: 'burst', allowed, guard: store.guard.snapshot() });
    } else if (msg.type === 'exit') {
      client.disconnect();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Parent.
function child(args) {
  return new Promise((resolve, reject) => {
    const c = fork(SELF, args, { execArgv: ['--expose-gc'], stdio: 'inherit' });
    let out;
    c.on('message', (m) => (out = m));
    c.on('exit', (code) => (code === 0 && out !== undefined ? resolve(out) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

function percentile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

async function redisSection(rows) {
  const redis = await startRedis();
  const workers = [];
  const spawnWorkers = async (n) => {
    while (workers.length < n) workers.push(await startWorker(SELF, ['redis-worker'], { port: redis.port }));
  };
  const warmMs = QUICK ? 500 : 1000;
  const measureMs = QUICK ? 2000 : 3000;
  const inflight = 64;
  // A realistic per-client limit; each key is seen rarely, so practically every check is admitted
  // and each one reads and writes a hash in Redis.
  const policy = { name: 'scale', algorithm: 'token-bucket', limit: 100, windowMs: 60_000, burst: 100, maxDelayMs: 0 };
  const out = [];
  try {
    for (const procs of [1, 2, 4]) {
      await spawnWorkers(procs);
      const active = workers.slice(0, procs);
      await Promise.all(active.map((w, i) => (w.send({ type: 'load', policy, inflight, worker: i, keySpace: 1_000_000 }), once(w, 'loading'))));
      const { results, seconds: secs, serverCpu, workersCpu } = await measureWindow(active, redis.pid, { warmMs, measureMs });
      const checks = results.reduce((n, r) => n + r.checks, 0);
      const lat = results.flatMap((r) => r.lat).sort((a, b) => a - b);
      const row = {
        section: 'redis',
        algorithm: policy.algorithm,
        processes: procs,
        inflightPerProcess: inflight,
        seconds: secs,
        checksPerSec: checks / secs,
        perProcessChecksPerSec: results.map((r) => r.checks / secs),
        admittedShare: results.reduce((n, r) => n + r.allowed, 0) / checks,
        p50Ms: percentile(lat, 0.5),
        p99Ms: percentile(lat, 0.99),
        redisCpuUsPerCheck: (serverCpu * 1e6) / checks,
        redisCpuShare: serverCpu / secs,
        appCpuUsPerCheck: (workersCpu * 1e6) / checks,
        appCpuShare: workersCpu / secs,
        storeFailures: results.reduce((n, r) => n + r.guard.failures, 0),
      };
      out.push(row);
      rows.push(row);
    }
    // Correctness once: 4 processes, one shared key, limit L per day (no refill during the run).
    const L = 1000;
    const day = { name: 'scale-shared', algorithm: 'token-bucket', limit: L, windowMs: 86_400_000, burst: L, maxDelayMs: 0 };
    const key = `shared-${Date.now()}`;
    const bursts = await Promise.all(workers.map((w) => (w.send({ type: 'burst', policy: day, inflight, count: L, key }), once(w, 'burst'))));
    const admitted = bursts.reduce((n, b) => n + b.allowed, 0);
    const failures = bursts.reduce((n, b) => n + b.guard.failures, 0);
    const correct = {
      section: 'redis-shared-key',
      processes: workers.length,
      limit: L,
      attempts: workers.length * L,
      admitted,
      perProcessAdmitted: bursts.map((b) => b.allowed),
      storeFailures: failures,
      exact: admitted === L && failures === 0,
    };
    rows.push(correct);
    return { rows: out, correct };
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
}

async function main() {
  const started = performance.now();
  const rows = [];

  // --- 1. memory store --------------------------------------------------------------------------
  if (ONLY.includes('memory')) await memorySection(rows);
  if (ONLY.includes('engine')) await engineSection(rows);
  if (ONLY.includes('redis')) await redisReport(rows);
  const seconds = (performance.now() - started) / 1000;
  writeResults(
    'scale',
    rows.map((r) => flat(r)),
    {
      seconds: round(seconds, 0),
      config: { sizes: SIZES, defaultCap: DEFAULT_CAP, sample: SAMPLE, batch: BATCH, newBatch: NEW_BATCH, quick: QUICK, sections: ONLY },
    },
  );
  console.log(`scale bench took ${fmt(seconds, 0)} s`);
}

async function memorySection(rows) {
  const mem = [];
  for (const algorithm of ALGORITHMS) for (const capMode of ['all', 'default']) mem.push(...(await child(['memory', algorithm, capMode])));
  rows.push(...mem);
  const lat = (l) => `${fmt(l.mean, 0)} / ${fmt(l.p50, 0)} / ${fmt(l.p99, 0)}`;
  console.log(`memory store: N distinct clients (IPv4 keys), limit never reached; cap 2M holds all, cap 100k (default) evicts`);
  console.log(`latency ns/check as mean (one timer per ${BATCH} checks) / p50 / p99 (each of ${SAMPLE} checks timed alone, timer floor subtracted)`);
  console.log('hot = 1,024 recent keys; cold = random held keys; new = unseen keys (insert; at the cap, insert + evict)');
  table(
    mem.map((r) => ({
      algorithm: r.algorithm,
      cap: r.cap === DEFAULT_CAP ? '100k' : '2M',
      clients: r.clients.toLocaleString('en-US'),
      held: r.held.toLocaleString('en-US'),
      'heap B/key': fmt(r.heapBytesPerKey, 0),
      'heap MB': fmt(r.heapMB, 1),
      'RSS MB': fmt(r.rssMB, 0),
      'hot ns': lat(r.hot),
      'cold ns': lat(r.cold),
      'new ns': lat(r.new),
      'new max µs': fmt(r.new.max / 1000, 0),
      'fill ns/key': fmt(r.fillNsPerInsert, 0),
    })),
  );
  // Ratios: cost at 1M vs 10k, per algorithm and cap.
  console.log('\ngrowth from 10k to 1M clients (ratio of the 1M row to the 10k row; 1.0 = flat)');
  const growth = [];
  for (const algorithm of ALGORITHMS) {
    for (const cap of [2_000_000, DEFAULT_CAP]) {
      const a = mem.find((r) => r.algorithm === algorithm && r.cap === cap && r.clients === SIZES[0]);
      const b = mem.find((r) => r.algorithm === algorithm && r.cap === cap && r.clients === SIZES[2]);
      growth.push({
        algorithm,
        cap: cap === DEFAULT_CAP ? '100k' : '2M',
        'heap B/key': fmt(b.heapBytesPerKey / a.heapBytesPerKey, 2),
        'hot mean': fmt(b.hot.mean / a.hot.mean, 2),
        'cold mean': fmt(b.cold.mean / a.cold.mean, 2),
        'new mean': fmt(b.new.mean / a.new.mean, 2),
        'new p99': fmt(b.new.p99 / a.new.p99, 2),
      });
    }
  }
  table(growth);
}

async function engineSection(rows) {
  const eng = await child(['engine']);
  rows.push(...eng);
  console.log('\nengine (no HTTP): begin → admit (token-bucket rate limit, 1e9/min per IP) → setRoute → close; metrics/telemetry off');
  table(
    eng.map((r) => ({
      cap: r.cap === DEFAULT_CAP ? '100k' : '2M',
      clients: r.clients.toLocaleString('en-US'),
      'ns/request': fmt(r.nsPerRequest, 0),
      'engine without rate limit ns': fmt(r.baselineNs, 0),
      'added by rate limit ns': fmt(r.nsPerRequest - r.baselineNs, 0),
      'vs 10k': fmt(r.nsPerRequest / eng.find((e) => e.cap === r.cap && e.clients === SIZES[0]).nsPerRequest, 2),
    })),
  );
}

async function redisReport(rows) {
  const redis = await redisSection(rows);
  console.log(
    `\nRedisRateLimitStore: P app processes × 64 checks in flight, one local redis-server, token-bucket 100/min, keys from 1M clients per process (${os.cpus().length} cores shared by all)`,
  );
  const one = redis.rows[0].checksPerSec;
  table(
    redis.rows.map((r) => ({
      processes: r.processes,
      'checks/s': fmt(r.checksPerSec, 0),
      'vs 1 process': fmt(r.checksPerSec / one, 2),
      'per process checks/s': r.perProcessChecksPerSec.map((x) => fmt(x, 0)).join(' '),
      'p50 ms': fmt(r.p50Ms, 2),
      'p99 ms': fmt(r.p99Ms, 2),
      'Redis CPU µs/check': fmt(r.redisCpuUsPerCheck, 2),
      'Redis CPU busy': `${fmt(r.redisCpuShare * 100, 0)}%`,
      'app CPU µs/check': fmt(r.appCpuUsPerCheck, 1),
      'app CPU (cores)': fmt(r.appCpuShare, 2),
      admitted: `${fmt(r.admittedShare * 100, 1)}%`,
      'store failures': r.storeFailures,
    })),
  );
  const c = redis.correct;
  console.log(
    `\nshared key: ${c.processes} processes × ${c.limit} checks on one key, limit ${c.limit}/day → admitted ${c.admitted} (${c.perProcessAdmitted.join(' + ')}), store failures ${c.storeFailures}: ${c.exact ? 'exactly L ✓' : 'NOT exactly L ✗'}`,
  );
  if (!c.exact) process.exitCode = 1;
}

/** A row for results/scale.json: nested figures flattened (`hot.p99` → `hotP99`), numbers rounded. */
function flat(row, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(row)) {
    const name = prefix === '' ? k : prefix + k[0].toUpperCase() + k.slice(1);
    if (Array.isArray(v)) out[name] = v.map((x) => (typeof x === 'number' ? round(x, 1) : x)).join(' ');
    else if (v !== null && typeof v === 'object') flat(v, name, out);
    else out[name] = typeof v === 'number' ? round(v, v !== 0 && Math.abs(v) < 10 ? 3 : 1) : v;
  }
  return out;
}

// Last, so every helper above is initialised before the role runs.
const role = process.argv[2];
if (role === 'memory') await memoryCase(process.argv[3], process.argv[4]);
else if (role === 'engine') await engineCase();
else if (role === 'redis-worker') redisWorker();
else await main();
