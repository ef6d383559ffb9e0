// Issue #3's benchmark, ratios from one run:
// 1. memory-store checks/s per algorithm (target ≥ 5 M ops/s);
// 2. Redis-store checks/s, single (one await at a time) and pipelined, on a redis-server started here;
// 3. HTTP: Express 5 + autom8 rate limiting vs + express-rate-limit vs + rate-limiter-flexible, same
//    limit (1e9 per minute per IP, so every request is allowed and the limiter's own cost shows), with
//    server CPU µs per request. Run as `node ratelimit.bench.mjs server <variant>` it is the server.
import http from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const LIMIT = 1_000_000_000;
const IN_FLIGHT = 64;

if (process.argv[2] === 'server') {
  runServer(process.argv[3]);
} else {
  await main();
}

function runServer(variant) {
  const express = require('express');
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  const lean = { metrics: { enabled: false }, telemetry: { enabled: false }, monitoring: { enabled: false } };
  if (variant === 'autom8-none') app.use(require('@autom8/express').autom8Express(lean));
  if (variant === 'autom8-fixed')
    app.use(require('@autom8/express').autom8Express({ ...lean, rateLimit: { algorithm: 'fixed-window', rate: LIMIT, per: 'minute' } }));
  if (variant === 'autom8-token')
    app.use(require('@autom8/express').autom8Express({ ...lean, rateLimit: { algorithm: 'token-bucket', rate: LIMIT, per: 'minute' } }));
  if (variant === 'autom8-full')
    app.use(require('@autom8/express').autom8Express({ telemetry: { enabled: false }, rateLimit: { algorithm: 'fixed-window', rate: LIMIT, per: 'minute' } }));
  if (variant === 'express-rate-limit') {
    const { rateLimit } = require('express-rate-limit');
    app.use(rateLimit({ windowMs: 60_000, limit: LIMIT, standardHeaders: 'draft-8', legacyHeaders: false }));
  }
  if (variant === 'rate-limiter-flexible') {
    const { RateLimiterMemory } = require('rate-limiter-flexible');
    const limiter = new RateLimiterMemory({ points: LIMIT, duration: 60 });
    app.use((req, res, next) => {
      limiter
        .consume(req.ip)
        .then((r) => {
          res.setHeader('RateLimit-Policy', `${LIMIT};w=60`);
          res.setHeader('RateLimit', `limit=${LIMIT}, remaining=${r.remainingPoints}, reset=${Math.ceil(r.msBeforeNext / 1000)}`);
          next();
        })
        .catch(() => res.status(429).send('Too Many Requests'));
    });
  }
  const body = (id) => JSON.stringify({ id, name: 'Ada Lovelace', email: 'ada@example.com' });
  app.get('/users/:id', (req, res) => res.type('json').send(body(req.params.id)));
  let handler = app;
  if (variant === 'autom8-fixed-front') {
    const mw = require('@autom8/express').autom8Express({ ...lean, rateLimit: { algorithm: 'fixed-window', rate: LIMIT, per: 'minute' } });
    handler = mw.front(app);
  }
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65000;
  server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}

async function main() {
  const { MemoryRateLimitStore } = require('@autom8/core/store');
  const ALGORITHM_NAMES = ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket', 'leaky-bucket', 'gcra'];
  const { table, fmt, startServer, measure } = await import('./lib/http-bench.mjs');
  const { startRedis } = await import('./lib/redis.mjs');
  const { writeResults, round } = await import('./lib/results.mjs');
  const json = [];
  const quick = process.env.BENCH_QUICK === '1';

  // --- 1. memory store ---------------------------------------------------------------------
  const keys = Array.from({ length: 1024 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const micro = [];
  for (const algorithm of ALGORITHM_NAMES) {
    const store = new MemoryRateLimitStore();
    const limit = algorithm === 'sliding-log' ? 10_000 : LIMIT;
    const policy = { name: 'bench', algorithm, limit, windowMs: 60_000, burst: limit, maxDelayMs: 0 };
    const loop = (n) => {
      let allowed = 0;
      for (let i = 0; i < n; i++) if (store.consume(keys[i & 1023], policy, 1).allowed) allowed++;
      return allowed;
    };
    loop(200_000); // warm-up
    const n = algorithm === 'sliding-log' ? 2_000_000 : quick ? 3_000_000 : 10_000_000;
    const t0 = performance.now();
    loop(n);
    const ops = n / ((performance.now() - t0) / 1000);
    json.push({ section: 'memory', algorithm, mChecksPerSec: round(ops / 1e6, 2), nsPerCheck: round(1e9 / ops, 1) });
    micro.push({ algorithm, 'M checks/s': fmt(ops / 1e6, 2), 'ns/check': fmt(1e9 / ops, 0), target: ops >= 5e6 ? '≥ 5 M ✓' : '< 5 M ✗' });
  }
  console.log('memory store: consume() on 1,024 keys, system clock (sliding-log: limit 10,000, mostly refusing once full)');
  table(micro);

  // --- 2. Redis store ----------------------------------------------------------------------
  const redis = await startRedis();
  try {
    const Redis = require('ioredis');
    const { RedisRateLimitStore, RATE_LIMIT_SCRIPTS } = require('@autom8/redis');
    const client = new Redis(redis.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await new Promise((r) => client.once('ready', r));
    const quiet = { info() {}, warn() {}, error() {} };
    const store = new RedisRateLimitStore({ client, logger: quiet, outage: { timeoutMs: 1000 } });
    const rows = [];
    for (const algorithm of ['token-bucket', 'fixed-window', 'sliding-window', 'gcra']) {
      const policy = { name: 'bench', algorithm, limit: LIMIT, windowMs: 60_000, burst: LIMIT, maxDelayMs: 0 };
      const single = async (n) => {
        for (let i = 0; i < n; i++) await store.consume(keys[i & 1023], policy, 1);
      };
      // As a server calls it: many requests' checks in flight at once, each through the guard.
      const concurrent = async (n) => {
        let i = 0;
        const lane = async () => {
          while (i < n) await store.consume(keys[i++ & 1023], policy, 1);
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      };
      const cmd = RATE_LIMIT_SCRIPTS[algorithm].command;
      const pipelined = async (n, batch) => {
        for (let done = 0; done < n; done += batch) {
          const p = client.pipeline();
          for (let i = 0; i < batch; i++) p[cmd](store.keyOf(keys[(done + i) & 1023], policy), LIMIT, 60_000, LIMIT, 1, 0);
          await p.exec();
        }
      };
      await single(500);
      const n1 = quick ? 2000 : 5000;
      let t0 = performance.now();
      await single(n1);
      const singleOps = n1 / ((performance.now() - t0) / 1000);
      await concurrent(2000);
      const n3 = quick ? 20_000 : 50_000;
      const cpu0 = process.cpuUsage();
      t0 = performance.now();
      await concurrent(n3);
      const concurrentOps = n3 / ((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      const cpuUsPerCheck = (cpu.user + cpu.system) / n3;
      await pipelined(2000, 100);
      const n2 = quick ? 20_000 : 50_000;
      t0 = performance.now();
      await pipelined(n2, 100);
      const pipeOps = n2 / ((performance.now() - t0) / 1000);
      json.push({
        section: 'redis',
        algorithm,
        singleKChecksPerSec: round(singleOps / 1e3, 1),
        concurrentKChecksPerSec: round(concurrentOps / 1e3, 1),
        clientCpuUsPerCheck: round(cpuUsPerCheck, 1),
        pipelinedKChecksPerSec: round(pipeOps / 1e3, 1),
      });
      rows.push({
        algorithm,
        'single (k checks/s)': fmt(singleOps / 1e3, 1),
        [`${IN_FLIGHT} in flight (k checks/s)`]: fmt(concurrentOps / 1e3, 1),
        'client CPU µs/check': fmt(cpuUsPerCheck, 1),
        'pipelined ×100 (k checks/s)': fmt(pipeOps / 1e3, 1),
        ratio: fmt(pipeOps / singleOps, 1),
      });
    }
    client.disconnect();
    console.log(
      `\nRedis store on a local redis-server (loopback): single = one awaited consume() (guard + EVALSHA) at a time; ${IN_FLIGHT} in flight = ${IN_FLIGHT} consume() calls waiting at once, as a busy server makes them, with this process's CPU per check (the client's work: guard, ioredis, reply parsing); pipelined = raw EVALSHA in pipelines of 100, no guard (the client's ceiling)`,
    );
    table(rows);
  } finally {
    await redis.stop();
  }

  // --- 3. HTTP -----------------------------------------------------------------------------
  const variants = ['bare', 'express-rate-limit', 'rate-limiter-flexible', 'autom8-none', 'autom8-fixed', 'autom8-fixed-front', 'autom8-token', 'autom8-full'];
  const labels = {
    bare: 'express 5 bare',
    'express-rate-limit': '+ express-rate-limit (memory, fixed window)',
    'rate-limiter-flexible': '+ rate-limiter-flexible (RateLimiterMemory)',
    'autom8-none': '+ autom8 engine, no feature (baseline of the rows below)',
    'autom8-fixed': '+ autom8 rateLimit (memory, fixed window)',
    'autom8-fixed-front': '+ autom8 rateLimit (fixed window), front mode',
    'autom8-token': '+ autom8 rateLimit (memory, token bucket)',
    'autom8-full': '+ autom8 metrics + rateLimit (fixed window)',
  };
  const opts = { path: '/users/42', connections: 32, duration: quick ? 2 : 3, warmup: 1 };
  // Noisy machines: interleaved rounds, median round per variant.
  const ROUNDS = quick ? 1 : 3;
  const runs = Object.fromEntries(variants.map((v) => [v, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const s = await startServer(new URL(import.meta.url), ['server', v]);
      try {
        runs[v].push(await measure(s, opts));
      } finally {
        await s.stop();
      }
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const results = {};
  for (const v of variants) {
    const rs = runs[v];
    results[v] = {
      rps: med(rs.map((r) => r.rps)),
      p99: med(rs.map((r) => r.p99)),
      cpuUsPerReq: med(rs.map((r) => r.cpuUsPerReq)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
    };
  }
  const fastestPeer = Math.max(results['express-rate-limit'].rps, results['rate-limiter-flexible'].rps);
  console.log(
    `\nHTTP: Express 5, GET /users/:id, ${opts.connections} connections, ${opts.duration} s each, median of ${ROUNDS} interleaved rounds, limit ${LIMIT}/min per IP (all allowed)`,
  );
  table(
    variants.map((v) => {
      const r = results[v];
      return {
        stack: labels[v],
        'req/s': fmt(r.rps, 0),
        'vs bare': fmt(r.rps / results.bare.rps, 3),
        'vs faster peer': v.startsWith('autom8') && v !== 'autom8-none' ? fmt(r.rps / fastestPeer, 3) : '',
        'p99 ms': fmt(r.p99, 0),
        'server CPU µs/req': fmt(r.cpuUsPerReq, 1),
        'added µs/req': v === 'bare' ? '' : fmt(r.cpuUsPerReq - results.bare.cpuUsPerReq, 1),
        errors: r.errors + r.non2xx,
      };
    }),
  );
  for (const v of variants) {
    const r = results[v];
    json.push({
      section: 'http',
      stack: labels[v],
      rps: round(r.rps, 0),
      vsBare: round(r.rps / results.bare.rps, 3),
      p99Ms: round(r.p99, 1),
      cpuUsPerReq: round(r.cpuUsPerReq, 1),
      addedCpuUs: v === 'bare' ? 0 : round(r.cpuUsPerReq - results.bare.cpuUsPerReq, 1),
      failedRequests: r.errors + r.non2xx,
    });
  }
  writeResults('ratelimit', json, { config: { rounds: ROUNDS, ...opts, limitPerMinute: LIMIT } });
}
