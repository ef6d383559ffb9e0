// Issue #22: fleet rate limiting on one Redis, side by side in one run on one redis-server started
// here. Five ways to answer "may this client go on?", each asked at the layer it talks to its store:
//   memory  autom8's MemoryRateLimitStore (no Redis; each process counts alone): the reference;
//   exact   autom8's RedisRateLimitStore, one Redis call per check (the default);
//   leased  the same store with `lease: true` (defaults);
//   rlf     rate-limiter-flexible's RateLimiterRedis, `consume(key)`;
//   erl     express-rate-limit's Redis store (rate-limit-redis), `increment(key)` and the
//           middleware's own test, `totalHits > limit`.
// With 1, 2, 4 and 8 app processes (each its own ioredis client and limiter), on two key
// populations:
//   hot  = every process checks the same key (a per-tenant or global limit);
//   cold = every check is a new key (per-IP limits: one request per client), the case where
//          leasing must not cost more than exact mode.
// Per row, two phases:
//   load   the limit far above the load, so every check is admitted and the limiter's cost is what
//          is measured: checks/s, Redis calls per admitted check (script calls from INFO
//          commandstats), Redis CPU per check (/proc) and script time per check (commandstats
//          usec), client CPU per check (/proc), p50/p99 of one check (the latency it adds to a
//          request). The systems run interleaved, in reverse order every other round, so other
//          work on the machine falls on all of them alike.
//   quota  a binding limit, no refill during the run: hot = one key, a quota of QUOTA per day,
//          1.75 × QUOTA attempts split unevenly between the processes; cold = COLD_KEYS keys with a
//          limit of 2 per day, asked 3 times each by different processes. Admitted against the limit.
// Then Redis killed (exact vs leased, 4 processes, a paced load): what is served during the outage,
// and what is admitted beyond the limit, under fail-closed and fallback.
// Last, client instructions per check under callgrind (cold exact/leased, hot leased vs memory store).
// Writes results/lease.json. `BENCH_QUICK=1` runs every row briefly (callgrind only with LEASE_IR=1);
// `LEASE_IR=0` skips callgrind in a full run. `LEASE_AUTOPIPELINE=1` adds exact-ap and leased-ap:
// the same stores on an ioredis client with `enableAutoPipelining: true`, interleaved with the
// others. A partial run (it then writes results/lease-partial.json, not results/lease.json):
// `LEASE_SYSTEMS=exact,leased` and `LEASE_PROCS=1,4` pick rows, `LEASE_OUTAGE=0` skips the
// Redis-killed case.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { table, fmt } from './lib/http-bench.mjs';
import { writeResults, round } from './lib/results.mjs';
import { clientAddress as addr, measureWindow, once, sleep, startWorker, stopWorkers } from './lib/fleet.mjs';
import { connectRedis, startRedis } from './lib/redis.mjs';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const QUICK = process.env.BENCH_QUICK === '1';
const INFLIGHT = 64;
const AUTOPIPELINE = process.env.LEASE_AUTOPIPELINE === '1';
const ALL_SYSTEMS = ['memory', 'exact', 'leased', 'rlf', 'erl', ...(AUTOPIPELINE ? ['exact-ap', 'leased-ap'] : [])];
const SYSTEM_NAMES = {
  memory: 'autom8 memory store (per process)',
  exact: 'autom8 Redis, exact',
  leased: 'autom8 Redis, leased',
  rlf: 'rate-limiter-flexible RateLimiterRedis',
  erl: 'express-rate-limit + rate-limit-redis',
  'exact-ap': 'autom8 Redis, exact, ioredis enableAutoPipelining',
  'leased-ap': 'autom8 Redis, leased, ioredis enableAutoPipelining',
};
const listEnv = (name) => process.env[name]?.split(',').filter(Boolean);
const SYSTEMS = ALL_SYSTEMS.filter((s) => listEnv('LEASE_SYSTEMS')?.includes(s.replace(/-ap$/, '')) ?? true);
const PROCS = listEnv('LEASE_PROCS')?.map(Number) ?? [1, 2, 4, 8];
const PARTIAL = process.env.LEASE_SYSTEMS !== undefined || process.env.LEASE_PROCS !== undefined || process.env.LEASE_OUTAGE === '0';
const DAY = 86_400_000;
// Quota phase: hot quota, cold keys (limit 2 each, asked 3 times).
const QUOTA = QUICK ? 2000 : 10_000;
const COLD_KEYS = QUICK ? 500 : 2000;
const COLD_LIMIT = 2;
const COLD_ASKS = 3;
// Redis killed: processes, paced checks per second per process, seconds up then down.
const OUTAGE_PROCS = 4;
const OUTAGE_RATE = 400;
// Up for a time that is not a multiple of the lease lifetime (1 s): the kill falls mid-lease.
const OUTAGE_UP_MS = 1500;
const OUTAGE_DOWN_MS = QUICK ? 2000 : 3000;

const quiet = { info() {}, warn() {}, error() {} };
const refused = (err) => {
  // rate-limiter-flexible rejects with a RateLimiterRes when limited, with an Error when it fails.
  if (err instanceof Error) throw err;
  return false;
};

/**
 * One way of limiting, built in a worker: `check(key)` answers admitted (true/false) synchronously
 * when the limiter can, else with a promise.
 */
async function limiterOf(system, client, policy, run, outage) {
  if (system === 'memory') {
    const { MemoryRateLimitStore } = require('@autom8/core/store');
    const store = new MemoryRateLimitStore({});
    return { check: (key) => store.consume(key, policy, 1).allowed, close() {}, snapshot: () => ({ failures: 0, leasedUnits: 0 }) };
  }
  if (system === 'exact' || system === 'leased') {
    const { RedisRateLimitStore } = require('@autom8/redis');
    // A generous time budget: on shared cores a slow reply is load, not an outage.
    const store = new RedisRateLimitStore({ client, logger: quiet, outage: outage ?? { timeoutMs: 5000 }, lease: system === 'leased' ? true : undefined });
    const allowed = (r) => r.allowed;
    return {
      check(key) {
        const r = store.consume(key, policy, 1);
        return typeof r.then === 'function' ? r.then(allowed) : r.allowed;
      },
      close: () => store.close(),
      snapshot: () => store.snapshot(),
    };
  }
  if (system === 'rlf') {
    const { RateLimiterRedis } = require('rate-limiter-flexible');
    const rl = new RateLimiterRedis({ storeClient: client, points: policy.limit, duration: policy.windowMs / 1000, keyPrefix: `rlf${run}` });
    const yes = () => true;
    return { check: (key) => rl.consume(key, 1).then(yes, refused), close() {}, snapshot: () => ({ failures: 0, leasedUnits: 0 }) };
  }
  if (system === 'erl') {
    const { RedisStore } = require('rate-limit-redis');
    const store = new RedisStore({ sendCommand: (...args) => client.call(...args), prefix: `erl${run}:` });
    await store.init({ windowMs: policy.windowMs });
    const limit = policy.limit;
    const under = (r) => r.totalHits <= limit;
    return { check: (key) => store.increment(key).then(under), close() {}, snapshot: () => ({ failures: 0, leasedUnits: 0 }) };
  }
  throw new Error(`unknown system ${system}`);
}

// ---------------------------------------------------------------------------------------------
// Child: one app process.
function worker() {
  let client;
  // The same server through an ioredis client with enableAutoPipelining (systems *-ap).
  let clientAp;
  let limiter;
  let running = false;
  let loops = [];
  let stats;
  const fresh = () => ({ checks: 0, allowed: 0, errors: 0, samples: 0, lat: new Float64Array(500_000) });
  const yieldNow = () => new Promise((r) => setImmediate(r));
  // The Redis-killed case: its own server, client and limiter, and a paced load.
  let outage;
  process.on('message', async (msg) => {
    if (msg.type === 'init') {
      client = await connectRedis(msg.port);
      if (AUTOPIPELINE) clientAp = await connectRedis(msg.port, { enableAutoPipelining: true });
      process.send({ type: 'ready' });
    } else if (msg.type === 'mode') {
      if (limiter !== undefined) await limiter.close();
      const ap = msg.system.endsWith('-ap');
      limiter = await limiterOf(ap ? msg.system.slice(0, -3) : msg.system, ap ? clientAp : client, msg.policy, msg.run);
      process.send({ type: 'mode' });
    } else if (msg.type === 'load') {
      const { population, worker: w, run } = msg;
      let next = w * 7919;
      stats = fresh();
      running = true;
      const loop = async () => {
        let sync = 0;
        while (running) {
          const key = population === 'hot' ? `hot-${run}` : `${run}:${w}:${addr((next = (next + 1) | 0))}`;
          const t0 = performance.now();
          let r = limiter.check(key);
          const local = r === true || r === false;
          if (!local) {
            try {
              r = await r;
            } catch {
              stats.errors++;
              r = false;
            }
          }
          const s = stats;
          if (s.samples < s.lat.length) s.lat[s.samples++] = performance.now() - t0;
          s.checks++;
          if (r) s.allowed++;
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
      const result = { type: 'result', checks: s.checks, allowed: s.allowed, errors: s.errors, p50: q(0.5), p99: q(0.99) };
      running = false;
      await Promise.all(loops);
      process.send({ ...result, guard: limiter.snapshot() });
    } else if (msg.type === 'burst') {
      // The quota phase: hot = `count` checks of one key; cold = this worker's share of the
      // sequence n = 0 .. keys × asks − 1 (n ≡ worker mod processes), key ⌊n / asks⌋.
      const { population, count, key, keys, asks, processes, worker: w } = msg;
      let issued = 0;
      let allowed = 0;
      let errors = 0;
      const total = keys * asks;
      const nextKey =
        population === 'hot'
          ? () => (issued < count ? (issued++, key) : undefined)
          : () => {
              const n = w + processes * issued;
              if (n >= total) return undefined;
              issued++;
              return `${key}:${addr(Math.floor(n / asks))}`;
            };
      const loop = async () => {
        let sync = 0;
        for (let k = nextKey(); k !== undefined; k = nextKey()) {
          let r = limiter.check(k);
          const local = r === true || r === false;
          if (!local) {
            try {
              r = await r;
            } catch {
              errors++;
              r = false;
            }
          }
          if (r) allowed++;
          if (local && ++sync % 32 === 0) await yieldNow();
        }
      };
      await Promise.all(Array.from({ length: INFLIGHT }, loop));
      const heldAtEnd = limiter.snapshot().leasedUnits;
      await limiter.close();
      limiter = undefined;
      process.send({ type: 'burst', attempts: issued, allowed, errors, heldAtEnd });
    } else if (msg.type === 'outage-mode') {
      const Redis = require('ioredis');
      const c = new Redis(msg.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      c.on('error', () => {}); // expected once the server is killed
      await new Promise((r) => c.once('ready', r));
      const outagePolicy = { policy: msg.policy, expectedInstances: msg.expected, timeoutMs: 1000 };
      outage = { client: c, limiter: await limiterOf(msg.system, c, msg.quota, msg.run, outagePolicy), timer: undefined, pending: 0, phase: 'up' };
      outage.counts = { up: { offered: 0, admitted: 0, local: 0, errors: 0 }, down: { offered: 0, admitted: 0, local: 0, errors: 0 } };
      process.send({ type: 'outage-mode' });
    } else if (msg.type === 'pace') {
      // `perSec` checks a second, issued every 10 ms whatever the answers: a fixed offered load.
      const o = outage;
      const perTick = Math.max(1, Math.round(msg.perSec / 100));
      o.timer = setInterval(() => {
        for (let i = 0; i < perTick; i++) {
          const c = o.counts[o.phase];
          c.offered++;
          const r = o.limiter.check(msg.key);
          if (r === true || r === false) {
            c.local++;
            if (r) c.admitted++;
            continue;
          }
          o.pending++;
          r.then(
            (ok) => {
              if (ok) c.admitted++;
            },
            () => c.errors++,
          ).finally(() => o.pending--);
        }
      }, 10);
      process.send({ type: 'pacing' });
    } else if (msg.type === 'down') {
      outage.phase = 'down';
    } else if (msg.type === 'stop-pace') {
      const o = outage;
      clearInterval(o.timer);
      for (let i = 0; i < 300 && o.pending > 0; i++) await sleep(10);
      const snap = o.limiter.snapshot();
      await o.limiter.close();
      o.client.disconnect();
      outage = undefined;
      process.send({ type: 'paced', counts: o.counts, failures: snap.failures ?? 0, outages: snap.outages ?? 0 });
    } else if (msg.type === 'exit') {
      if (limiter !== undefined) await limiter.close();
      client.disconnect();
      clientAp?.disconnect();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Child under callgrind: `n` checks one at a time after a warm-up, in one of four cases.
async function irHarness(kase, n, port) {
  const { MemoryRateLimitStore } = require('@autom8/core/store');
  const { RedisRateLimitStore } = require('@autom8/redis');
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

/**
 * What Redis has run so far, from INFO commandstats: `calls` = script calls (EVALSHA, EVAL: every
 * limiter here makes one per Redis check), their time in µs (`usec`, the commands they run
 * included), and `commands` = every command run, those inside scripts included (the harness's
 * INFO left out).
 */
async function commands(c) {
  const info = await c.info('commandstats');
  let calls = 0;
  let usec = 0;
  let all = 0;
  for (const m of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/g)) {
    if (m[1] === 'info') continue;
    all += Number(m[2]);
    if (/^eval(sha)?(_ro)?$/.test(m[1])) {
      calls += Number(m[2]);
      usec += Number(m[3]);
    }
  }
  return { calls, usec, commands: all };
}

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Sends `msg` to each worker (a function of its index) and waits for each one's `reply`. */
const ask = (ws, msg, reply) => Promise.all(ws.map((w, i) => (w.send(typeof msg === 'function' ? msg(i) : msg), once(w, reply))));

async function main() {
  const Redis = require('ioredis');
  const redis = await startRedis();
  const admin = new Redis(redis.port, '127.0.0.1');
  const workers = [];
  const rows = [];
  const warmMs = QUICK ? 300 : 1000;
  const measureMs = QUICK ? 700 : 3000;
  const rounds = QUICK ? 1 : 2;
  // Load phase: limits far above the load, so every check is admitted and the limiter's cost is what is measured.
  const far = { name: 'lease', algorithm: 'token-bucket', limit: 1e9, windowMs: 60_000, burst: 1e9, maxDelayMs: 0 };
  // Quota phase: fixed windows of a day (no refill during the run; rate-limiter-flexible and
  // express-rate-limit count fixed windows too).
  const hotQuota = { name: 'lease-quota', algorithm: 'fixed-window', limit: QUOTA, windowMs: DAY, burst: QUOTA, maxDelayMs: 0 };
  const coldQuota = { name: 'lease-cold', algorithm: 'fixed-window', limit: COLD_LIMIT, windowMs: DAY, burst: COLD_LIMIT, maxDelayMs: 0 };
  let run = 0;
  const t0 = performance.now();
  try {
    for (const procs of PROCS) {
      while (workers.length < procs) workers.push(await startWorker(SELF, ['worker'], { port: redis.port }));
      const active = workers.slice(0, procs);
      for (let round = 0; round < rounds; round++) {
        for (const population of ['hot', 'cold']) {
          const order = round % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
          for (const system of order) {
            run++;
            await ask(active, { type: 'mode', system, policy: far, run }, 'mode');
            await ask(active, (i) => ({ type: 'load', population, worker: i, run }), 'loading');
            let c0;
            const { results, seconds, serverCpu, workersCpu } = await measureWindow(active, redis.pid, {
              warmMs,
              measureMs,
              onMark: async () => (c0 = await commands(admin)),
            });
            const c1 = await commands(admin);
            const checks = results.reduce((n, r) => n + r.checks, 0);
            const admitted = results.reduce((n, r) => n + r.allowed, 0);
            rows.push({
              section: 'lease',
              system,
              population,
              processes: procs,
              round,
              seconds,
              checksPerSec: checks / seconds,
              redisCallsPerCheck: (c1.calls - c0.calls) / checks,
              redisCallsPerAdmitted: (c1.calls - c0.calls) / admitted,
              redisCommandsPerCheck: (c1.commands - c0.commands) / checks,
              redisCpuUsPerCheck: (serverCpu * 1e6) / checks,
              redisCmdUsPerCheck: (c1.usec - c0.usec) / checks,
              redisCpuShare: serverCpu / seconds,
              appCpuUsPerCheck: (workersCpu * 1e6) / checks,
              p50Ms: Math.max(...results.map((r) => r.p50)),
              p99Ms: Math.max(...results.map((r) => r.p99)),
              admittedShare: admitted / checks,
              errors: results.reduce((n, r) => n + r.errors, 0),
              storeFailures: results.reduce((n, r) => n + (r.guard.failures ?? 0), 0),
            });
            console.error(
              `[${((performance.now() - t0) / 1000).toFixed(0)} s] load ${procs}p ${population} ${system} round ${round}: ${fmt(checks / seconds, 0)} checks/s`,
            );
          }
        }
      }
      // Quota phase, once per system (the memory store counts per process: not a fleet limit).
      const weights = active.map((_, i) => 1 + i * 0.5);
      const wsum = weights.reduce((a, b) => a + b, 0);
      for (const population of ['hot', 'cold']) {
        for (const system of SYSTEMS.filter((s) => s !== 'memory')) {
          run++;
          const policy = population === 'hot' ? hotQuota : coldQuota;
          await ask(active, { type: 'mode', system, policy, run }, 'mode');
          const key = `quota-${run}`;
          const c0 = await commands(admin);
          const bursts = await ask(
            active,
            (i) => ({
              type: 'burst',
              population,
              key,
              count: Math.round((1.75 * QUOTA * weights[i]) / wsum),
              keys: COLD_KEYS,
              asks: COLD_ASKS,
              processes: procs,
              worker: i,
            }),
            'burst',
          );
          const c1 = await commands(admin);
          const admitted = bursts.reduce((n, b) => n + b.allowed, 0);
          const limit = population === 'hot' ? QUOTA : COLD_KEYS * COLD_LIMIT;
          let leftInRedisAfterClose = null;
          if (population === 'hot' && /^(exact|leased)/.test(system)) {
            leftInRedisAfterClose = QUOTA - Number(await admin.hget(`autom8:rl:{lease-quota:${key}}:fixed-window`, 'b'));
          }
          rows.push({
            section: 'lease-quota',
            system,
            population,
            processes: procs,
            limit,
            attempts: bursts.reduce((n, b) => n + b.attempts, 0),
            admitted,
            overLimit: Math.max(0, admitted - limit),
            errors: bursts.reduce((n, b) => n + b.errors, 0),
            strandedAtStop: bursts.reduce((n, b) => n + b.heldAtEnd, 0),
            leftInRedisAfterClose,
            redisCalls: c1.calls - c0.calls,
            redisCallsPerAdmitted: (c1.calls - c0.calls) / admitted,
            redisCommands: c1.commands - c0.commands,
          });
          console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] quota ${procs}p ${population} ${system}: ${admitted} / ${limit}`);
        }
      }
    }

    // Redis killed: 4 processes with a paced load on one key; after OUTAGE_UP_MS the server is
    // SIGKILLed and stays down for OUTAGE_DOWN_MS. A far quota shows what leases ride through;
    // a binding one (all of it would be used about 1 s into the outage) what each policy admits
    // beyond the limit.
    const outWorkers = workers.slice(0, OUTAGE_PROCS);
    const bindingQuota = Math.round((OUTAGE_PROCS * OUTAGE_RATE * (OUTAGE_UP_MS + 1000)) / 1000);
    const outageCases =
      process.env.LEASE_OUTAGE === '0'
        ? []
        : [
            { quotaName: 'far', limit: 1_000_000, policy: 'fail-closed' },
            { quotaName: 'binding', limit: bindingQuota, policy: 'fail-closed' },
            { quotaName: 'binding', limit: bindingQuota, policy: 'fallback' },
          ];
    for (const oc of outageCases) {
      for (const system of ['exact', 'leased']) {
        run++;
        const r2 = await startRedis();
        const quota = { name: 'outage', algorithm: 'fixed-window', limit: oc.limit, windowMs: DAY, burst: oc.limit, maxDelayMs: 0 };
        await ask(outWorkers, { type: 'outage-mode', port: r2.port, system, quota, run, policy: oc.policy, expected: OUTAGE_PROCS }, 'outage-mode');
        await ask(outWorkers, { type: 'pace', key: `outage-${run}`, perSec: OUTAGE_RATE }, 'pacing');
        await sleep(OUTAGE_UP_MS);
        await r2.kill();
        for (const w of outWorkers) w.send({ type: 'down' });
        await sleep(OUTAGE_DOWN_MS);
        const paced = await ask(outWorkers, { type: 'stop-pace' }, 'paced');
        const sum = (phase, f) => paced.reduce((n, p) => n + p.counts[phase][f], 0);
        const admitted = sum('up', 'admitted') + sum('down', 'admitted');
        rows.push({
          section: 'lease-outage',
          system,
          quota: oc.quotaName,
          outagePolicy: oc.policy,
          processes: OUTAGE_PROCS,
          limit: oc.limit,
          offeredUp: sum('up', 'offered'),
          admittedUp: sum('up', 'admitted'),
          offeredDown: sum('down', 'offered'),
          servedDown: sum('down', 'admitted'),
          servedDownLocally: sum('down', 'local'),
          admitted,
          overLimit: Math.max(0, admitted - oc.limit),
          storeFailures: paced.reduce((n, p) => n + p.failures, 0),
        });
        console.error(
          `[${((performance.now() - t0) / 1000).toFixed(0)} s] outage ${oc.quotaName} ${oc.policy} ${system}: served ${sum('down', 'admitted')} during the outage`,
        );
      }
    }

    // Instructions per check under callgrind (repeatable under load): client side only, one
    // process, one check at a time; (count at IR_HI − count at IR_LO) / (IR_HI − IR_LO).
    const irOn = QUICK ? process.env.LEASE_IR === '1' : process.env.LEASE_IR !== '0';
    if (irOn && spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0) {
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

  // Median over rounds per row (rounds alternate the order of the systems), with the row's quota phase.
  const cases = new Map();
  for (const r of rows.filter((x) => x.section === 'lease')) {
    const k = `${r.population}|${r.system}|${r.processes}`;
    if (!cases.has(k)) cases.set(k, []);
    cases.get(k).push(r);
  }
  const quotaOf = (r) => rows.find((q) => q.section === 'lease-quota' && q.system === r.system && q.population === r.population && q.processes === r.processes);
  const summary = [...cases.values()].map((rs) => {
    const out = { population: rs[0].population, system: rs[0].system, processes: rs[0].processes };
    for (const f of [
      'checksPerSec',
      'redisCallsPerCheck',
      'redisCallsPerAdmitted',
      'redisCommandsPerCheck',
      'redisCpuUsPerCheck',
      'redisCmdUsPerCheck',
      'redisCpuShare',
      'appCpuUsPerCheck',
      'p50Ms',
      'p99Ms',
    ])
      out[f] = med(rs.map((r) => r[f]));
    out.errors = rs.reduce((n, r) => n + r.errors, 0);
    out.storeFailures = rs.reduce((n, r) => n + r.storeFailures, 0);
    const q = quotaOf(out);
    out.quotaLimit = q?.limit ?? null;
    out.quotaAdmitted = q?.admitted ?? null;
    out.quotaOverLimit = q?.overLimit ?? null;
    out.quotaRedisCallsPerAdmitted = q?.redisCallsPerAdmitted ?? null;
    return out;
  });
  console.log(
    `\nFleet rate limiting on one Redis, ${INFLIGHT} checks in flight per process, median of ${rounds} interleaved round(s); quota: admitted / limit`,
  );
  table(
    summary.map((r) => ({
      keys: r.population,
      system: r.system,
      procs: r.processes,
      'checks/s': fmt(r.checksPerSec, 0),
      'Redis calls/admitted': fmt(r.redisCallsPerAdmitted, 4),
      'Redis CPU µs/check': fmt(r.redisCpuUsPerCheck, 2),
      'client CPU µs/check': fmt(r.appCpuUsPerCheck, 2),
      'p99 ms': fmt(r.p99Ms, 3),
      quota: r.quotaLimit === null ? 'n/a' : `${r.quotaAdmitted} / ${r.quotaLimit}`,
      errors: r.errors + r.storeFailures,
    })),
  );
  const outage = rows.filter((r) => r.section === 'lease-outage');
  if (outage.length > 0) {
    console.log(
      `\nRedis killed after ${OUTAGE_UP_MS / 1000} s, down ${OUTAGE_DOWN_MS / 1000} s; ${OUTAGE_PROCS} processes × ${OUTAGE_RATE} checks/s on one key`,
    );
    table(
      outage.map((r) => ({
        mode: r.system,
        quota: `${r.quota} (${r.limit})`,
        policy: r.outagePolicy,
        'admitted up': r.admittedUp,
        'offered down': r.offeredDown,
        'served down': r.servedDown,
        'served locally': r.servedDownLocally,
        'beyond limit': r.overLimit,
        failures: r.storeFailures,
      })),
    );
  }
  const ir = rows.filter((r) => r.section === 'lease-ir');
  if (ir.length > 0) {
    console.log('\nClient instructions per check (callgrind, one process, one check at a time)');
    table(ir.map((r) => ({ case: r.case, 'instructions/check': fmt(r.instructionsPerCheck, 0) })));
  }
  writeResults(
    PARTIAL ? 'lease-partial' : 'lease',
    [...summary.map((r) => ({ section: 'lease-summary', ...r })), ...rows].map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v, 4) : v])),
    ),
    {
      config: {
        inflight: INFLIGHT,
        warmMs,
        measureMs,
        rounds,
        quick: QUICK,
        systems: SYSTEM_NAMES,
        processes: PROCS,
        quota: QUOTA,
        coldKeys: COLD_KEYS,
        coldLimit: COLD_LIMIT,
        coldAsks: COLD_ASKS,
        outage: {
          processes: OUTAGE_PROCS,
          perSec: OUTAGE_RATE,
          upMs: OUTAGE_UP_MS,
          downMs: OUTAGE_DOWN_MS,
          bindingQuota: Math.round((OUTAGE_PROCS * OUTAGE_RATE * (OUTAGE_UP_MS + 1000)) / 1000),
        },
      },
    },
  );
}

if (process.argv[2] === 'worker') worker();
else if (process.argv[2] === 'ir') await irHarness(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else await main();
