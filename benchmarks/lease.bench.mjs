// Issue #22: the Redis rate-limit store's leased mode against its exact mode, side by side in one
// run on one redis-server started here, with 1 and 4 app processes (each its own ioredis client
// and store). Two key populations:
//   hot  = every process checks the same key (a per-tenant or global limit far above the load);
//   cold = every check is a new key (per-IP limits: one request per client), the case where
//          leasing must not cost more than exact mode.
// Per case: checks/s, Redis calls per check (INFO commandstats), Redis CPU per check and client
// CPU per check (/proc), and p50/p99 latency of one check. The cases run interleaved (exact,
// leased, exact, leased...) so load from other work on the machine falls on both modes alike.
// Then, once per mode: 4 processes hammer one key with a fixed quota; admitted against the limit.
// Last, client instructions per check under callgrind (cold exact/leased, hot leased vs memory store).
// Writes results/lease.json. `BENCH_QUICK=1` shortens the runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { table, fmt } from './lib/http-bench.mjs';
import { writeResults, round } from './lib/results.mjs';
import { clientAddress as addr, measureWindow, once, startWorker, stopWorkers } from './lib/fleet.mjs';
import { connectRedis, startRedis } from './lib/redis.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
const INFLIGHT = 64;

// ---------------------------------------------------------------------------------------------
// Child: one app process.
function worker() {
  const { RedisRateLimitStore } = require('@autom8/redis');
  const quiet = { info() {}, warn() {}, error() {} };
  let client;
  let store;
  let running = false;
  let loops = [];
  let stats;
  const fresh = () => ({ checks: 0, allowed: 0, samples: 0, lat: new Float64Array(500_000) });
  const yieldNow = () => new Promise((r) => setImmediate(r));
  process.on('message', async (msg) => {
    if (msg.type === 'init') {
      client = await connectRedis(msg.port);
      process.send({ type: 'ready' });
    } else if (msg.type === 'mode') {
      if (store !== undefined) await store.close();
      // A generous time budget: on shared cores a slow reply is load, not an outage.
      store = new RedisRateLimitStore({ client, logger: quiet, outage: { timeoutMs: 5000 }, lease: msg.leased ? true : undefined });
      process.send({ type: 'mode' });
    } else if (msg.type === 'load') {
      const { policy, population, worker: w, run } = msg;
      let next = w * 7919;
      stats = fresh();
      running = true;
      const loop = async () => {
        let sync = 0;
        while (running) {
          let key;
          if (population === 'hot') key = `hot-${run}`;
          else key = `${run}:${w}:${addr((next = (next + 1) | 0))}`;
          const t0 = performance.now();
          let r = store.consume(key, policy, 1);
          const local = typeof r.then !== 'function';
          if (!local) r = await r;
          const s = stats;
          if (s.samples < s.lat.length) s.lat[s.samples++] = performance.now() - t0;
          s.checks++;
          if (r.allowed) s.allowed++;
          // Answers served in process resolve no I/O: yield now and then so the process stays responsive.
          if (local && ++sync % 32 === 0) await yieldNow();
        }
      };
      loops = Array.from({ length: INFLIGHT }, loop);
      process.send({ type: 'loading' });
    } else if (msg.type === 'mark') {
      stats = fresh();
    } else if (msg.type === 'stop') {
      const s = stats;
      const lat = Array.from(s.lat.subarray(0, s.samples)).sort((a, b) => a - b);
      const q = (x) => lat[Math.min(lat.length - 1, Math.floor(lat.length * x))];
      const result = { type: 'result', checks: s.checks, allowed: s.allowed, p50: q(0.5), p99: q(0.99) };
      running = false;
      await Promise.all(loops);
      process.send({ ...result, guard: store.snapshot() });
    } else if (msg.type === 'burst') {
      const { policy, count, key } = msg;
      let issued = 0;
      let allowed = 0;
      const loop = async () => {
        let sync = 0;
        while (issued < count) {
          issued++;
          let r = store.consume(key, policy, 1);
          const local = typeof r.then !== 'function';
          if (!local) r = await r;
          if (r.allowed) allowed++;
          if (local && ++sync % 32 === 0) await yieldNow();
        }
      };
      await Promise.all(Array.from({ length: INFLIGHT }, loop));
      const heldAtEnd = store.snapshot().leasedUnits;
      await store.close();
      store = undefined;
      process.send({ type: 'burst', allowed, heldAtEnd });
    } else if (msg.type === 'exit') {
      if (store !== undefined) await store.close();
      client.disconnect();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Child under callgrind: `n` checks one at a time after a warm-up, in one of four cases.
async function irHarness(kase, n, port) {
  const { MemoryRateLimitStore } = require('@autom8/core/store');
  const { RedisRateLimitStore } = require('@autom8/redis');
  const quiet = { info() {}, warn() {}, error() {} };
  const client = await connectRedis(port);
  const store =
    kase === 'hot-memory'
      ? new MemoryRateLimitStore({})
      : new RedisRateLimitStore({ client, logger: quiet, outage: { timeoutMs: 60_000 }, lease: kase.endsWith('leased') ? true : undefined });
  const policy = { name: 'ir', algorithm: 'token-bucket', limit: 1e9, windowMs: 60_000, burst: 1e9, maxDelayMs: 0 };
  const run = `${kase}-${n}-${process.pid}`;
  let i = 0;
  const check = async () => {
    const key = kase.startsWith('cold') ? `${run}:${addr(i++)}` : `hot-${run}`;
    const r = store.consume(key, policy, 1);
    if (typeof r.then === 'function') await r;
  };
  for (let w = 0; w < IR_WARMUP; w++) await check();
  for (let k = 0; k < n; k++) await check();
  await store.close?.();
  client.disconnect();
}
const IR_WARMUP = 400;
const IR_LO = 400;
const IR_HI = 1600;

function irCount(kase, n, port, dir) {
  const out = `${dir}/${kase}.${n}.out`;
  const argv = [
    'valgrind',
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    process.execPath,
    '--single-threaded',
    '--hash-seed=1',
    '--random-seed=1',
    SELF,
    'ir',
    kase,
    String(n),
    String(port),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      let text = '';
      try {
        text = readFileSync(out, 'utf8');
      } catch {
        // no output: reported below
      }
      rmSync(out, { force: true });
      const m = /^totals:\s+(\d+)/m.exec(text);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`${kase} N=${n}: exit ${code}\n${err.slice(-2000)}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Parent.
async function scriptCalls(c) {
  const info = await c.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

async function main() {
  const Redis = require('ioredis');
  const redis = await startRedis();
  const admin = new Redis(redis.port, '127.0.0.1');
  const workers = [];
  const rows = [];
  const warmMs = QUICK ? 500 : 1000;
  const measureMs = QUICK ? 1500 : 3000;
  const rounds = QUICK ? 1 : 2;
  // Limits far above the load, so every check is admitted and the store's cost is what is measured.
  const policy = { name: 'lease', algorithm: 'token-bucket', limit: 1e9, windowMs: 60_000, burst: 1e9, maxDelayMs: 0 };
  let run = 0;
  try {
    for (const procs of [1, 4]) {
      while (workers.length < procs) workers.push(await startWorker(SELF, ['worker'], { port: redis.port }));
      const active = workers.slice(0, procs);
      for (let round = 0; round < rounds; round++) {
        for (const population of ['hot', 'cold']) {
          // Alternate which mode goes first, round by round.
          const modes = round % 2 === 0 ? ['exact', 'leased'] : ['leased', 'exact'];
          for (const mode of modes) {
            run++;
            await Promise.all(active.map((w) => (w.send({ type: 'mode', leased: mode === 'leased' }), once(w, 'mode'))));
            await Promise.all(active.map((w, i) => (w.send({ type: 'load', policy, population, worker: i, run }), once(w, 'loading'))));
            let calls0 = 0;
            const {
              results,
              seconds: secs,
              serverCpu,
              workersCpu,
            } = await measureWindow(active, redis.pid, {
              warmMs,
              measureMs,
              onMark: async () => (calls0 = await scriptCalls(admin)),
            });
            // The admin's own INFO call is one command, not a script: not counted.
            const calls = (await scriptCalls(admin)) - calls0;
            const checks = results.reduce((n, r) => n + r.checks, 0);
            rows.push({
              section: 'lease',
              population,
              mode,
              processes: procs,
              round,
              seconds: secs,
              checksPerSec: checks / secs,
              redisCallsPerCheck: calls / checks,
              redisCpuUsPerCheck: (serverCpu * 1e6) / checks,
              redisCpuShare: serverCpu / secs,
              appCpuUsPerCheck: (workersCpu * 1e6) / checks,
              p50Ms: Math.max(...results.map((r) => r.p50)),
              p99Ms: Math.max(...results.map((r) => r.p99)),
              admittedShare: results.reduce((n, r) => n + r.allowed, 0) / checks,
              storeFailures: results.reduce((n, r) => n + r.guard.failures, 0),
            });
          }
        }
      }
    }
    // Admitted against the limit: 4 processes, one key, a quota of L per day (no refill during the run).
    const L = 20_000;
    const correct = [];
    for (const mode of ['exact', 'leased']) {
      await Promise.all(workers.map((w) => (w.send({ type: 'mode', leased: mode === 'leased' }), once(w, 'mode'))));
      // A fixed window of a day: no refill, so the limit is the whole quota (a token bucket would refill a little).
      const day = { name: 'lease-quota', algorithm: 'fixed-window', limit: L, windowMs: 86_400_000, burst: L, maxDelayMs: 0 };
      const key = `quota-${mode}-${Date.now()}`;
      const calls0 = await scriptCalls(admin);
      const bursts = await Promise.all(workers.map((w, i) => (w.send({ type: 'burst', policy: day, count: (L / 4) * (1 + i * 0.5), key }), once(w, 'burst'))));
      const calls = (await scriptCalls(admin)) - calls0;
      const admitted = bursts.reduce((n, b) => n + b.allowed, 0);
      const left = L - Number(await admin.hget(`autom8:rl:{lease-quota:${key}}:fixed-window`, 'b'));
      correct.push({
        section: 'lease-quota',
        mode,
        processes: workers.length,
        limit: L,
        attempts: bursts.length === 4 ? (L / 4) * (1 + 1.5 + 2 + 2.5) : NaN,
        admitted,
        overLimit: Math.max(0, admitted - L),
        strandedAtStop: bursts.reduce((n, b) => n + b.heldAtEnd, 0),
        leftInRedisAfterClose: Math.floor(left),
        redisCalls: calls,
      });
    }
    rows.push(...correct);

    // Instructions per check under callgrind (repeatable under load): client side only, one
    // process, one check at a time; (count at IR_HI − count at IR_LO) / (IR_HI − IR_LO).
    if (process.env.LEASE_IR !== '0' && spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0) {
      const dir = mkdtempSync(join(tmpdir(), 'autom8-lease-ir-'));
      for (const kase of ['cold-exact', 'cold-leased', 'hot-leased', 'hot-memory']) {
        const [lo, hi] = await Promise.all([irCount(kase, IR_LO, redis.port, dir), irCount(kase, IR_HI, redis.port, dir)]);
        rows.push({ section: 'lease-ir', case: kase, instructionsPerCheck: (hi - lo) / (IR_HI - IR_LO) });
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await stopWorkers(workers);
    admin.disconnect();
    await redis.stop();
  }

  // Median over rounds per case (rounds alternate which mode runs first).
  const cases = new Map();
  for (const r of rows.filter((x) => x.section === 'lease')) {
    const k = `${r.population}|${r.mode}|${r.processes}`;
    if (!cases.has(k)) cases.set(k, []);
    cases.get(k).push(r);
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const summary = [...cases.values()].map((rs) => {
    const out = { population: rs[0].population, mode: rs[0].mode, processes: rs[0].processes };
    for (const f of ['checksPerSec', 'redisCallsPerCheck', 'redisCpuUsPerCheck', 'redisCpuShare', 'appCpuUsPerCheck', 'p50Ms', 'p99Ms'])
      out[f] = med(rs.map((r) => r[f]));
    out.storeFailures = rs.reduce((n, r) => n + r.storeFailures, 0);
    return out;
  });
  console.log(
    `Redis rate-limit store, exact vs leased (defaults), token bucket far above the load, ${INFLIGHT} checks in flight per process, median of ${rounds} interleaved round(s)`,
  );
  table(
    summary.map((r) => ({
      keys: r.population,
      mode: r.mode,
      procs: r.processes,
      'checks/s': fmt(r.checksPerSec, 0),
      'Redis calls/check': fmt(r.redisCallsPerCheck, 4),
      'Redis CPU µs/check': fmt(r.redisCpuUsPerCheck, 2),
      'Redis CPU share': fmt(r.redisCpuShare, 2),
      'client CPU µs/check': fmt(r.appCpuUsPerCheck, 2),
      'p50 ms': fmt(r.p50Ms, 3),
      'p99 ms': fmt(r.p99Ms, 3),
      failures: r.storeFailures,
    })),
  );
  console.log('\nOne key, quota L per day, 4 processes with 64 checks in flight each, stopping at different times');
  table(rows.filter((r) => r.section === 'lease-quota'));
  const ir = rows.filter((r) => r.section === 'lease-ir');
  if (ir.length > 0) {
    console.log('\nClient instructions per check (callgrind, one process, one check at a time)');
    table(ir.map((r) => ({ case: r.case, 'instructions/check': fmt(r.instructionsPerCheck, 0) })));
  }
  writeResults(
    'lease',
    [...summary.map((r) => ({ section: 'lease-summary', ...r })), ...rows].map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v, 4) : v])),
    ),
    { config: { inflight: INFLIGHT, warmMs, measureMs, rounds, quick: QUICK } },
  );
}

if (process.argv[2] === 'worker') worker();
else if (process.argv[2] === 'ir') await irHarness(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else await main();
