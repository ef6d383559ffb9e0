// The Redis rate-limit store on a real redis-server the test starts (and kills) on a spare port:
// every algorithm’s script, NOSCRIPT reload, hash-tagged keys, exact admission across two app
// instances, and each outage policy with Redis killed mid-run and brought back.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { ManualClock, subscribe, type Autom8Event, type Autom8Options, type LimitPolicy, type RateLimitAlgorithm } from '@autom8/core';
import { engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { RedisRateLimitStore, type RedisOutageOptions } from '@autom8/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';
import { close, listen } from '../../../test/support/http';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
// Outside the outage tests the time budget must never be what decides: the machine may be loaded.
const roomy = { timeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The test helper's redis-server child is unref'd, so awaiting its exit with nothing else pending
 * would let the event loop drain (and node:test cancel the test): hold a timer meanwhile.
 */
async function held<T>(p: Promise<T>): Promise<T> {
  const t = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(t);
  }
}

/** A client configured as the docs recommend: fail fast, reconnect forever. */
async function client(port: number): Promise<Redis> {
  const c = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  c.on('error', () => {}); // connection errors are expected while the server is down
  await ready(c);
  return c;
}

async function ready(c: Redis): Promise<void> {
  for (let i = 0; i < 200 && c.status !== 'ready'; i++) await sleep(25);
  assert.equal(c.status, 'ready', 'redis client ready');
}

interface App {
  server: Server;
  engine: Autom8;
  base: string;
}

async function app(kind: 'express' | 'koa', options: Autom8Options): Promise<App> {
  let server: Server;
  let engine: Autom8;
  if (kind === 'express') {
    const express = require('express');
    const a = express();
    const mw = autom8Express({ logger: quiet, ...options });
    engine = engineOf(mw)!;
    a.use(mw);
    a.get('/r', (_req: any, res: any) => res.send('ok'));
    server = http.createServer(a);
  } else {
    const Koa = require('koa');
    const Router = require('@koa/router');
    const a = new Koa();
    const mw = autom8Koa({ logger: quiet, ...options });
    engine = engineOf(mw)!;
    a.use(mw);
    const router = new Router();
    router.get('/r', (ctx: any) => {
      ctx.body = 'ok';
    });
    a.use(router.routes());
    server = http.createServer(a.callback());
  }
  return { server, engine, base: await listen(server) };
}

async function stop(a: App): Promise<void> {
  await close(a.server);
  await a.engine.close();
}

/** `n` GETs with at most `parallel` in flight; resolves to the statuses. */
async function burst(base: string, n: number, parallel: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const url = new URL(`${base}/r`);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      http
        .get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  try {
    return await Promise.all(Array.from({ length: n }, one));
  } finally {
    agent.destroy();
  }
}

const status = async (base: string) => (await fetch(`${base}/r`)).status;

describe('RedisRateLimitStore', () => {
  let redis: TestRedis;
  let c: Redis;
  before(async () => {
    redis = await startRedis();
    c = await client(redis.port);
  });
  after(async () => {
    c.disconnect();
    await held(redis.stop());
  });

  const policy = (algorithm: RateLimitAlgorithm, extra: Partial<LimitPolicy> = {}): LimitPolicy => ({
    name: `p-${algorithm}`,
    algorithm,
    limit: 3,
    windowMs: 86_400_000, // a day: nothing refills or rolls over during the test
    burst: 3,
    maxDelayMs: 0,
    ...extra,
  });

  for (const algorithm of ['token-bucket', 'leaky-bucket', 'fixed-window', 'sliding-window', 'sliding-log', 'gcra'] as const) {
    test(`${algorithm}: 3 allowed with remaining 2, 1, 0; then refused with a retry time`, async () => {
      const store = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy });
      const p = policy(algorithm);
      const key = `k-${Math.random()}`;
      for (const remaining of [2, 1, 0]) {
        const r = await store.consume(key, p, 1);
        assert.equal(r.allowed, true, JSON.stringify(r));
        assert.equal(r.remaining, remaining, JSON.stringify(r));
        assert.equal(r.limit, 3);
      }
      const denied = await store.consume(key, p, 1);
      assert.equal(denied.allowed, false);
      // Sliding window: the previous window's count fades out during the next one, so early in a
      // window the wait reaches past its end (up to twice the window).
      const longest = algorithm === 'sliding-window' ? 2 * 86_400_000 : 86_400_000;
      assert.ok(denied.retryAfterMs > 0 && denied.retryAfterMs <= longest, JSON.stringify(denied));
      assert.equal((await store.consume(`${key}-other`, p, 1)).allowed, true, 'keys are independent');
      assert.equal((await store.consume(key, p, 4)).retryAfterMs, Infinity, 'a cost above the capacity never passes');
    });
  }

  test('leaky-bucket shaper: delays grow by the emission interval, then refusal', async () => {
    const store = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy });
    // one per 10 s, wait at most 25 s
    const p = policy('leaky-bucket', { name: 'shaper', limit: 1, windowMs: 10_000, maxDelayMs: 25_000 });
    const key = `s-${Math.random()}`;
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await store.consume(key, p, 1);
      assert.equal(r.allowed, true);
      delays.push(r.delayMs ?? 0);
    }
    assert.ok(delays[0]! <= 1, String(delays));
    assert.ok(Math.abs(delays[1]! - 10_000) <= 50 && Math.abs(delays[2]! - 20_000) <= 50, String(delays));
    assert.equal((await store.consume(key, p, 1)).allowed, false);
  });

  test('keys are hash-tagged; scripts reload after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const store = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy, prefix: 'test:rl:' });
    const p = policy('fixed-window', { name: 'tagged' });
    assert.equal((await store.consume('alice', p, 1)).allowed, true);
    assert.deepEqual(await c.keys('test:rl:*'), ['test:rl:{tagged:alice}:fixed-window']);
    await c.script('FLUSH');
    const r = await store.consume('alice', p, 1);
    assert.equal(r.allowed, true);
    assert.equal(r.remaining, 1, 'state survived, script reloaded');
    assert.equal(store.guard.failures, 0);
  });

  test('a policy whose algorithm changes starts afresh under its new algorithm (no WRONGTYPE)', async () => {
    const store = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy, prefix: 'switch:rl:' });
    // sliding-log keeps a sorted set, the others a hash: one key for both would answer WRONGTYPE.
    const log = policy('sliding-log', { name: 'switching' });
    for (let i = 0; i < 3; i++) assert.equal((await store.consume('bob', log, 1)).allowed, true);
    assert.equal((await store.consume('bob', log, 1)).allowed, false);
    for (const algorithm of ['token-bucket', 'gcra', 'sliding-window'] as const) {
      const r = await store.consume('bob', policy(algorithm, { name: 'switching' }), 1);
      assert.equal(r.allowed, true, `${algorithm}: ${JSON.stringify(r)}`);
      assert.equal(r.remaining, 2, algorithm);
    }
    assert.equal(store.guard.failures, 0, 'no Redis error on the way');
    const keys = (await c.keys('switch:rl:*')).sort();
    assert.deepEqual(keys, [
      'switch:rl:{switching:bob}:gcra',
      'switch:rl:{switching:bob}:sliding-log',
      'switch:rl:{switching:bob}:sliding-window',
      'switch:rl:{switching:bob}:token-bucket',
    ]);
    // The algorithm sits outside the hash tag, so Cluster puts every algorithm's key in one slot
    // (cluster-stores.test.ts checks the slots on a real cluster).
    assert.deepEqual(new Set(keys.map((k) => k.slice(k.indexOf('{'), k.indexOf('}') + 1))), new Set(['{switching:bob}']));
  });

  test('invalid options throw naming the option', () => {
    assert.throws(() => new RedisRateLimitStore({ client: {} as never }), /client/);
    assert.throws(() => new RedisRateLimitStore({ client: c, outage: { policy: 'maybe' as never } }), /outage\.policy/);
    assert.throws(() => new RedisRateLimitStore({ client: c, outage: { timeoutMs: -1 } }), /outage\.timeoutMs/);
    assert.throws(() => new RedisRateLimitStore({ client: c, prefix: 'a{b' }), /prefix/);
  });

  test('1,000 concurrent requests over two app instances (Express and Koa) sharing Redis admit exactly 100', async () => {
    const c2 = await client(redis.port);
    const rateLimit = (cl: Redis) => ({
      rate: 100,
      per: 'day' as const,
      algorithm: 'gcra' as const,
      name: 'shared',
      store: new RedisRateLimitStore({ client: cl, logger: quiet, outage: roomy }),
    });
    const ra = rateLimit(c);
    const rb = rateLimit(c2);
    const a = await app('express', { rateLimit: ra });
    const b = await app('koa', { rateLimit: rb });
    try {
      await c.del('autom8:rl:{shared:127.0.0.1}:gcra', 'autom8:rl:{shared:::ffff:127.0.0.1}:gcra');
      const stats = async () => {
        const info = await c.info('all');
        const n = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0);
        return { connections: n(/total_connections_received:(\d+)/), evalsha: n(/cmdstat_evalsha:calls=(\d+)/), eval: n(/cmdstat_eval:calls=(\d+)/) };
      };
      const s0 = await stats();
      const [sa, sb] = await Promise.all([burst(a.base, 500, 50), burst(b.base, 500, 50)]);
      const s1 = await stats();
      // Everything that can explain a wrong count, in the failure message: what each instance
      // answered, whether a store left Redis, and what Redis saw (a reconnect resends commands).
      const count = (xs: number[]) => JSON.stringify(xs.reduce<Record<number, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {}));
      const why =
        `express ${count(sa)}, koa ${count(sb)}; stores ${JSON.stringify(ra.store.snapshot())} ${JSON.stringify(rb.store.snapshot())}; ` +
        `redis: ${s1.connections - s0.connections} new connections, ${s1.evalsha - s0.evalsha} EVALSHA, ${s1.eval - s0.eval} EVAL`;
      const ok = [...sa, ...sb].filter((x) => x === 200).length;
      const limited = [...sa, ...sb].filter((x) => x === 429).length;
      assert.equal(ok, 100, why);
      assert.equal(limited, 900, why);
      assert.equal(ra.store.snapshot().failures + rb.store.snapshot().failures, 0, why);
    } finally {
      await stop(a);
      await stop(b);
      c2.disconnect();
    }
  });
});

describe('leased mode behind the engines', () => {
  test('3,000 concurrent requests over Express and Koa instances with leased stores: at most the limit, within the bound of it', async () => {
    const redis = await startRedis();
    const c1 = await client(redis.port);
    const c2 = await client(redis.port);
    const rateLimit = (cl: Redis) => ({
      rate: 1000,
      per: 'day' as const,
      algorithm: 'gcra' as const,
      name: 'leased',
      store: new RedisRateLimitStore({ client: cl, logger: quiet, outage: roomy, lease: { maxShare: 0.05, minRequests: 4 } }),
    });
    const ra = rateLimit(c1);
    const rb = rateLimit(c2);
    const a = await app('express', { rateLimit: ra });
    const b = await app('koa', { rateLimit: rb });
    try {
      const calls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await c1.info('commandstats'))?.[1] ?? 0);
      const calls0 = await calls();
      const [sa, sb] = await Promise.all([burst(a.base, 1500, 50), burst(b.base, 1500, 50)]);
      const ok = [...sa, ...sb].filter((x) => x === 200).length;
      assert.ok(ok <= 1000, `admitted ${ok} ≤ 1000`);
      const used = (await calls()) - calls0;
      assert.ok(used < ok / 2, `leased: ${used} Redis calls for ${ok} admissions`);
      // Each instance holds at most one lease of ⌊0.05 × 1000⌋ units.
      assert.ok(ok >= 1000 - 2 * 50, `admitted ${ok} ≥ 1000 − 2 × 50`);
      assert.equal([...sa, ...sb].filter((x) => x !== 200 && x !== 429).length, 0, 'only 200 and 429');
      // Headers on a refusal still name the policy and its quota.
      const res = await fetch(`${a.base}/r`);
      assert.equal(res.status, 429);
      assert.match(res.headers.get('ratelimit-policy') ?? '', /q=1000/);
      assert.equal(ra.store.snapshot().failures + rb.store.snapshot().failures, 0);
    } finally {
      await stop(a);
      await stop(b);
      await ra.store.close();
      await rb.store.close();
      c1.disconnect();
      c2.disconnect();
      await redis.stop();
    }
  });
  // Issue #22: dry run, costs and per-route limits work in leased mode as in exact mode, and the
  // headers stay truthful. One instance asks both stores the same sequence: a global limit, a
  // per-route limit on POST /login and a route costing 3; the answers and the remaining counts in
  // the headers must be the same, request by request, the lease taken early (minRequests 2).
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
    test(`${algorithm}: one instance answers as in exact mode, request by request: statuses, remaining, dry run`, async () => {
      const redis = await startRedis();
      const cl = await client(redis.port);
      const express = require('express');
      const stores: RedisRateLimitStore[] = [];
      const servers: App[] = [];
      const build = async (lease: boolean, dryRun: boolean) => {
        const store = new RedisRateLimitStore({
          client: cl,
          logger: quiet,
          outage: roomy,
          prefix: `t:${lease ? 'leased' : 'exact'}:${dryRun ? 'dry' : 'live'}:`,
          ...(lease ? { lease: { maxShare: 0.2, minRequests: 2 } } : {}),
        });
        stores.push(store);
        const mw = autom8Express({
          logger: quiet,
          rateLimit: { store, dryRun, algorithm, rate: 40, per: 'day', routes: { 'POST /login': { rate: 5, per: 'day' }, 'GET /search': { cost: 3 } } },
        });
        const a = express();
        a.use(mw);
        a.get('/r', (_req: any, res: any) => res.send('ok'));
        a.get('/search', (_req: any, res: any) => res.send('found'));
        a.post('/login', (_req: any, res: any) => res.send('in'));
        const server = http.createServer(a);
        const out = { server, engine: engineOf(mw)!, base: await listen(server) };
        servers.push(out);
        return out;
      };
      try {
        for (const dryRun of [false, true]) {
          const exact = await build(false, dryRun);
          const leased = await build(true, dryRun);
          const seen: string[][] = [[], []];
          for (let i = 0; i < 60; i++) {
            const [method, path] = i % 5 === 4 ? ['POST', '/login'] : i % 7 === 6 ? ['GET', '/search'] : ['GET', '/r'];
            for (const [j, a] of [exact, leased].entries()) {
              const res = await fetch(`${a.base}${path}`, { method });
              await res.arrayBuffer();
              // The reset times are the algorithm's and the clock's; the remaining counts must agree.
              const remaining = (res.headers.get('ratelimit') ?? '').replace(/;t=\d+/g, '');
              seen[j]!.push(`${i} ${method} ${path} ${res.status} ${remaining}`);
            }
          }
          assert.deepEqual(seen[1], seen[0], `leased answers as exact (dryRun ${dryRun})`);
          // Per limit: allowed and refused (in a dry run, what would have been), the same in both.
          type Stats = Record<string, { limited: number; dryRunLimited: number }>;
          const limiters = (a: App) => (a.engine.metricsSnapshot().features.rateLimit as { limiters: Stats }).limiters;
          assert.deepEqual(limiters(leased), limiters(exact), `the same decisions counted (dryRun ${dryRun})`);
          const refused = Object.values(limiters(exact)).map((x) => (dryRun ? x.dryRunLimited : x.limited));
          assert.ok(refused.length === 2 && refused.every((n) => n > 0), `both limits refused some (dryRun ${dryRun}): ${refused.join(', ')}`);
          const statuses = new Set(seen[0]!.map((l) => l.split(' ')[3]));
          assert.deepEqual([...statuses].sort(), dryRun ? ['200'] : ['200', '429'], `dryRun ${dryRun}: ${seen[0]!.slice(-12).join(' | ')}`);
          if (!dryRun) {
            assert.ok(
              seen[0]!.some((l) => /"default";r=0/.test(l)),
              'the global quota is used up',
            );
            assert.ok(
              seen[0]!.some((l) => /"POST:\/login";r=0/.test(l)),
              'the login quota is used up',
            );
          }
          assert.ok(stores.at(-1)!.snapshot().leaseKeys > 0, 'the leased store took leases');
        }
      } finally {
        for (const a of servers) await stop(a);
        for (const st of stores) await st.close();
        cl.disconnect();
        await redis.stop();
      }
    });
  }
});

describe('Redis killed mid-run: each outage policy, then recovery', () => {
  const cases: { policy: RedisOutageOptions['policy']; during: (statuses: number[]) => void }[] = [
    { policy: 'fail-open', during: (s) => assert.deepEqual(s, [200, 200, 200, 200, 200, 200, 200, 200]) },
    { policy: 'fail-closed', during: (s) => assert.deepEqual(s, [429, 429, 429, 429, 429, 429, 429, 429]) },
    // limit 10 shared by 2 expected instances → 5 each, locally
    { policy: 'fallback', during: (s) => assert.deepEqual(s, [200, 200, 200, 200, 200, 429, 429, 429]) },
  ];
  for (const { policy, during } of cases) {
    test(`${policy}: behaves as documented, the process lives, shared limiting returns`, async () => {
      const redis = await startRedis();
      const clock = new ManualClock();
      const events: Autom8Event[] = [];
      const unsubscribe = subscribe(['store.degraded', 'store.recovered'], (e) => events.push(e));
      const warnings: string[] = [];
      const logger = { info() {}, warn: (_o: object, m?: string) => warnings.push(m ?? ''), error() {} };
      const c1 = await client(redis.port);
      const c2 = await client(redis.port);
      const outage: RedisOutageOptions = { policy, expectedInstances: 2, probeIntervalMs: 1000, recoverAfterSuccesses: 2, timeoutMs: 3000 };
      const reader = new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 3_600_000,
      });
      const meterProvider = new MeterProvider({ readers: [reader] });
      const transitions = async () => {
        const { resourceMetrics } = await reader.collect();
        const m = resourceMetrics.scopeMetrics.flatMap((x) => x.metrics).find((x) => x.descriptor.name === 'autom8.store.transitions') as
          SumMetricData | undefined;
        return (m?.dataPoints ?? []).map((p) => `${p.attributes['autom8.store.state']}=${p.value}`).sort();
      };
      const mk = (cl: Redis) => new RedisRateLimitStore({ client: cl, logger, clock, outage, meterProvider });
      const s1 = mk(c1);
      const a = await app('express', { clock, rateLimit: { rate: 10, per: 'day', algorithm: 'token-bucket', store: s1 } });
      const b = await app('koa', { clock, rateLimit: { rate: 10, per: 'day', algorithm: 'token-bucket', store: mk(c2) } });
      try {
        assert.equal(await status(a.base), 200);
        assert.equal(await status(b.base), 200);

        await held(redis.kill());
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push(await status(a.base));
        during(statuses);
        assert.equal(s1.guard.degraded, true);
        assert.ok(
          events.some((e) => e.type === 'store.degraded'),
          'degraded event',
        );
        assert.ok(
          warnings.some((w) => w.includes('unavailable')),
          'warning logged',
        );
        const snap = (a.engine.metricsSnapshot().features.rateLimit as { storeStatus: { degraded: boolean; outages: number } }).storeStatus;
        assert.equal(snap.degraded, true);
        assert.equal(snap.outages, 1);

        await held(redis.restart());
        await ready(c1);
        await ready(c2);
        // Probes: one per probe interval; two successes in a row bring Redis back (hysteresis).
        for (let i = 0; i < 10 && s1.guard.degraded; i++) {
          clock.advance(1000);
          await status(a.base);
        }
        assert.equal(s1.guard.degraded, false, 'recovered');
        assert.ok(
          events.some((e) => e.type === 'store.recovered'),
          'recovered event',
        );
        assert.deepEqual(await transitions(), ['degraded=1', 'recovered=1'], 'OTel transition counter');
        // Drive instance b back too, then check the two share one counter again.
        for (let i = 0; i < 4; i++) {
          clock.advance(1000);
          await status(b.base);
        }
        await c1.flushall();
        const both = [...(await burst(a.base, 8, 4)), ...(await burst(b.base, 8, 4))];
        assert.equal(both.filter((s) => s === 200).length, 10, String(both));
      } finally {
        unsubscribe();
        await stop(a);
        await stop(b);
        c1.disconnect();
        c2.disconnect();
        await held(redis.stop());
        await meterProvider.shutdown();
      }
    });
  }
});

describe('a store takes its engine’s logger and meter', () => {
  test('unless its own options set them: outage warnings, the offline-queue advice and the transition counter', async () => {
    const redis = await startRedis();
    const engineWarnings: string[] = [];
    const engineLogger = { info() {}, warn: (_o: object, m?: string) => engineWarnings.push(m ?? ''), error() {} };
    const ownWarnings: string[] = [];
    const ownLogger = { info() {}, warn: (_o: object, m?: string) => ownWarnings.push(m ?? ''), error() {} };
    const reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    const meterProvider = new MeterProvider({ readers: [reader] });
    // The offline queue left on (ioredis's default), so the store has advice to give.
    const c = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    c.on('error', () => {});
    await ready(c);
    const store = new RedisRateLimitStore({ client: c, outage: { policy: 'fail-open', timeoutMs: 200 } });
    // A second store with its own logger keeps it.
    const own = new RedisRateLimitStore({ client: c, logger: ownLogger, outage: roomy });
    assert.equal(ownWarnings.length, 1, 'a store with its own logger advises at once');
    assert.equal(engineWarnings.length, 0);
    const a = await app('express', { logger: engineLogger, telemetry: { meterProvider }, rateLimit: { rate: 10, per: 'day', store } });
    const b = await app('koa', { logger: engineLogger, rateLimit: { rate: 10, per: 'day', store: own } });
    try {
      assert.match(engineWarnings[0] ?? '', /enableOfflineQueue/, 'the advice goes to the engine’s logger');
      assert.equal(ownWarnings.length, 1, 'said once');
      assert.equal(await status(a.base), 200);
      await held(redis.kill());
      assert.equal(await status(a.base), 200, 'fail-open');
      assert.equal(store.guard.degraded, true);
      assert.ok(
        engineWarnings.some((w) => w.includes('store ratelimit:redis unavailable')),
        `the outage warning went to the engine’s logger: ${JSON.stringify(engineWarnings)}`,
      );
      assert.equal(ownWarnings.length, 1, 'the other store said nothing it was not asked');
      const { resourceMetrics } = await reader.collect();
      const scope = resourceMetrics.scopeMetrics.find((s) => s.metrics.some((m) => m.descriptor.name === 'autom8.store.transitions'));
      assert.equal(scope?.scope.name, '@autom8/core', 'counted on the engine’s meter');
      const points = (scope.metrics.find((m) => m.descriptor.name === 'autom8.store.transitions') as SumMetricData).dataPoints;
      assert.deepEqual(
        points.map((p) => [p.attributes['autom8.store.state'], p.value]),
        [['degraded', 1]],
      );
    } finally {
      await stop(a);
      await stop(b);
      c.disconnect();
      await held(redis.stop());
      await meterProvider.shutdown();
    }
  });
});
