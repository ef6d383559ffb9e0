// Leased mode of the Redis rate-limit store on a real redis-server the test starts: the global
// bound proven by several store instances (each with its own connection) hammering one key, cold
// keys costing what exact mode costs, give-back on eviction and close, outage behaviour, and the
// algorithms that cannot lease being served exactly by the store and refused when an engine or a
// limiter is built on it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createRateLimiter, InvalidOptionError, type ConsumeResult, type LimitPolicy, type RateLimitAlgorithm } from '@autom8/core';
import { engineOf, isPromise } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { RedisRateLimitStore, type RedisLeaseOptions, type RedisOutageOptions } from '@autom8/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';
import { FRAMEWORKS, MODES, raw, start } from '../../../test/support/rule-app';

const quiet = { info() {}, warn() {}, error() {} };
// The time budget must never be what decides here: the machine may be loaded.
const roomy = { timeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY = 86_400_000;
const LEASING: RateLimitAlgorithm[] = ['token-bucket', 'gcra', 'leaky-bucket', 'fixed-window', 'sliding-window'];

async function client(port: number): Promise<Redis> {
  const c = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  c.on('error', () => {});
  for (let i = 0; i < 200 && c.status !== 'ready'; i++) await sleep(25);
  assert.equal(c.status, 'ready', 'redis client ready');
  return c;
}

function policy(name: string, algorithm: RateLimitAlgorithm, limit: number, windowMs: number, burst = limit): LimitPolicy {
  return { name, algorithm, limit, windowMs, burst, maxDelayMs: 0 };
}

const settle = async (r: ConsumeResult | Promise<ConsumeResult>): Promise<ConsumeResult> => (isPromise(r) ? await r : r);

/** Script calls Redis has run so far (EVALSHA and EVAL), from INFO commandstats. */
async function scriptCalls(c: Redis): Promise<number> {
  const info = await c.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

/**
 * `stores.length` instances, `loops` concurrent callers each, hammer `key` until instance i has
 * made `attemptsOf(i)` checks; yields to I/O every few local answers so every instance progresses.
 */
async function hammer(
  stores: RedisRateLimitStore[],
  key: string,
  p: LimitPolicy,
  attemptsOf: (i: number) => number,
  loops: number,
  onTick?: () => void,
): Promise<number[]> {
  return Promise.all(
    stores.map(async (store, i) => {
      const attempts = attemptsOf(i);
      let issued = 0;
      let admitted = 0;
      const loop = async () => {
        let sync = 0;
        while (issued < attempts) {
          issued++;
          const r = store.consume(key, p, 1);
          if (isPromise(r)) {
            if ((await r).allowed) admitted++;
          } else {
            if (r.allowed) admitted++;
            if (++sync % 16 === 0) await new Promise((res) => setImmediate(res));
          }
          onTick?.();
        }
      };
      await Promise.all(Array.from({ length: loops }, loop));
      return admitted;
    }),
  );
}

describe('RedisRateLimitStore leased mode', () => {
  let redis: TestRedis;
  let c: Redis;
  const clients: Redis[] = [];
  before(async () => {
    redis = await startRedis();
    c = await client(redis.port);
    for (let i = 0; i < 4; i++) clients.push(await client(redis.port));
  });
  after(async () => {
    c.disconnect();
    for (const x of clients) x.disconnect();
    await redis.stop();
  });
  // An attacker's spellings of one route (case, HEAD for GET, absolute-form, trailing slash,
  // fragment, query) must all draw on the one quota, also when it is served from a lease: one
  // client cycles through them, and the handler may run at most the limit.
  for (const fw of FRAMEWORKS) {
    test(`${fw}: every spelling of a limited route draws on one leased quota`, async () => {
      const LIMIT = 20;
      const store = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy, lease: { maxShare: 0.5, minRequests: 2 } });
      const app = await start(fw, MODES[0]!, {
        rateLimit: {
          store,
          rate: 1000,
          per: 'minute',
          key: { header: 'x-client' },
          routes: { 'POST /login': { rate: LIMIT, per: 'minute', name: `login-${fw}` }, 'GET /users/:id': { rate: LIMIT, per: 'minute', name: `users-${fw}` } },
        },
      });
      try {
        const spell = (p: string) => [
          p,
          p.toUpperCase(),
          `${p}/`,
          `http://evil.example${p}`,
          `HTTP://EVIL.EXAMPLE:8080${p.toUpperCase()}`,
          `${p}#f`,
          `${p}?x=1`,
        ];
        const cases: [string, string][] = [];
        for (const t of spell('/login')) cases.push(['POST', t]);
        for (const t of spell('/users/42')) cases.push(['GET', t], ['HEAD', t]);
        const statuses = new Map<number, number>();
        for (let round = 0; round < 4; round++) {
          for (const [method, target] of cases) {
            const r = await raw(app.port, method, target, 'attacker');
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          }
        }
        const login = app.hits.get('login|attacker') ?? 0;
        const users = app.hits.get('users|attacker') ?? 0;
        const why = `handler runs: login ${login}, users ${users}; statuses ${JSON.stringify([...statuses])}`;
        assert.ok(login <= LIMIT && users <= LIMIT, `at most ${LIMIT} each: ${why}`);
        // Not vacuous: the spellings reached the handlers until the quota was spent, from a lease.
        assert.ok(login >= LIMIT / 2 && users >= LIMIT / 2, why);
        assert.ok((statuses.get(429) ?? 0) > 0, why);
        assert.ok(store.snapshot().leaseKeys > 0, 'the quotas were leased');
      } finally {
        await app.close();
        await store.close();
      }
    });
  }

  const stores = (lease: RedisLeaseOptions, outage: RedisOutageOptions = roomy) =>
    clients.map((cl) => new RedisRateLimitStore({ client: cl, logger: quiet, outage, lease }));

  for (const algorithm of LEASING) {
    test(`${algorithm}: 4 instances hammering one key never admit more than the limit, strand at most 4 leases, and lease`, async () => {
      const L = 5000;
      const share = 0.05;
      const p = policy(`ham-${algorithm}`, algorithm, L, DAY);
      const s = stores({ maxShare: share, maxUnits: 1000 });
      const calls0 = await scriptCalls(c);
      let maxHeld = 0;
      const held = () => {
        const h = s.reduce((n, x) => n + x.snapshot().leasedUnits, 0);
        if (h > maxHeld) maxHeld = h;
      };
      // Instances stop at different times, the first ones still holding leased units.
      const admitted = (await hammer(s, 'k', p, (i) => 700 * (i + 1), 16, held)).reduce((a, b) => a + b, 0);
      const calls = (await scriptCalls(c)) - calls0;
      // A unit is served only after Redis granted it: never more than the limit.
      assert.ok(admitted <= L, `admitted ${admitted} ≤ limit ${L}`);
      // Each instance holds at most one lease of at most maxShare of the capacity.
      const bound = s.length * Math.floor(share * L);
      assert.ok(maxHeld <= bound, `units held at once ${maxHeld} ≤ ${bound}`);
      assert.ok(L - admitted <= bound, `refused only with at most ${bound} units stranded in leases (admitted ${admitted})`);
      assert.ok(calls < admitted / 4, `leasing: ${calls} Redis calls for ${admitted} admissions`);
      for (const x of s) assert.equal(x.snapshot().failures, 0);
      await Promise.all(s.map((x) => x.close()));
      // Every stranded unit went back: Redis now admits exactly what is left.
      const probe = new RedisRateLimitStore({ client: c, logger: quiet, outage: roomy });
      let more = 0;
      while ((await probe.consume('k', p, 1)).allowed) more++;
      assert.ok(L - admitted > 0, 'some units were stranded in leases when instances stopped');
      assert.equal(admitted + more, L, `admitted ${admitted} + given back and left ${more} = ${L}`);
    });
  }

  for (const algorithm of ['token-bucket', 'gcra'] as const) {
    test(`${algorithm} refilling: a fresh key admits at most burst + rate × elapsed (Redis clock), and leases stay within maxShare`, async () => {
      const rate = 4000; // per second
      const burst = 400;
      const share = 0.1;
      const p = policy(`refill-${algorithm}`, algorithm, rate, 1000, burst);
      const s = stores({ maxShare: share, maxUnits: 1000, ttlMs: 200 });
      let maxHeld = 0;
      const held = () => {
        const h = s.reduce((n, x) => n + x.snapshot().leasedUnits, 0);
        if (h > maxHeld) maxHeld = h;
      };
      const [sec0, us0] = await c.time();
      const admitted = (await hammer(s, 'k', p, () => 3000, 16, held)).reduce((a, b) => a + b, 0);
      const [sec1, us1] = await c.time();
      const elapsed = Number(sec1) - Number(sec0) + (Number(us1) - Number(us0)) / 1e6;
      assert.ok(admitted <= burst + rate * elapsed, `admitted ${admitted} ≤ ${burst} + ${rate} × ${elapsed.toFixed(3)} s`);
      assert.ok(maxHeld <= s.length * Math.floor(share * burst), `units held at once ${maxHeld} ≤ ${s.length * Math.floor(share * burst)}`);
      await Promise.all(s.map((x) => x.close()));
    });
  }

  test('cold keys cost exactly one Redis call each, as in exact mode; a hot key turns leased', async () => {
    const p = policy('cold', 'fixed-window', 100_000, DAY); // no refill: remaining is exact
    const [store] = stores({ minRequests: 8 });
    const calls0 = await scriptCalls(c);
    for (let i = 0; i < 300; i++) assert.equal((await settle(store!.consume(`ip-${i}`, p, 1))).allowed, true);
    assert.equal((await scriptCalls(c)) - calls0, 300, 'one call per cold key');
    assert.equal(store!.leaseKeys, 0, 'cold keys keep no entry in the lease table');
    const calls1 = await scriptCalls(c);
    const remaining: number[] = [];
    for (let i = 0; i < 500; i++) remaining.push((await settle(store!.consume('hot', p, 1))).remaining);
    const hotCalls = (await scriptCalls(c)) - calls1;
    assert.ok(hotCalls <= 25, `hot key: ${hotCalls} calls for 500 checks`);
    // Headers stay truthful: remaining counts down by one per admission, the lease included.
    assert.equal(remaining[499], 100_000 - 500, 'remaining after 500 admissions, one instance');
    for (let i = 1; i < remaining.length; i++) assert.equal(remaining[i], remaining[i - 1]! - 1, `remaining counts down at check ${i}`);
    await store!.close();
  });

  // Issue #22: cold keys must not cost more than exact mode. A key turns hot (and takes a table
  // entry) only once it asks minRequests units within ttlMs; slower keys stay exact and keep nothing.
  test('a key leases once it asks minRequests within ttlMs; a slower one stays exact', async () => {
    const p = policy('warm', 'fixed-window', 100_000, DAY);
    const [store] = stores({ minRequests: 4, ttlMs: 200 });
    for (let i = 0; i < 3; i++) {
      assert.ok(isPromise(store!.consume('slow', p, 1)), `slow check ${i} asks Redis`);
      await sleep(120); // 3 checks over 240 ms: never 4 within one 200 ms sample
    }
    assert.equal(store!.leaseKeys, 0, 'under minRequests per ttlMs: no entry');
    for (let i = 0; i < 4; i++) await settle(store!.consume('fast', p, 1));
    assert.equal(store!.leaseKeys, 1, 'the fast key took an entry');
    assert.ok(store!.snapshot().leasedUnits > 0, 'and a lease');
    assert.equal(isPromise(store!.consume('fast', p, 1)), false, 'served from its lease');
    await store!.close();
    // What was served is what Redis counted: the lease went back on close.
    assert.equal(Number(await c.hget(store!.keyOf('fast', p), 'b')), 5);
  });

  test('the lease table is capped; evicted and closed leases give their units back', async () => {
    const p = policy('evict', 'fixed-window', 100_000, DAY);
    const [store] = stores({ maxKeys: 3, minRequests: 2 });
    for (let k = 0; k < 8; k++) for (let i = 0; i < 20; i++) await settle(store!.consume(`k${k}`, p, 1));
    assert.ok(store!.leaseKeys <= 3, `table holds ${store!.leaseKeys} ≤ 3 keys`);
    await store!.close();
    assert.equal(store!.leaseKeys, 0);
    for (let k = 0; k < 8; k++) {
      const count = await c.hget(store!.keyOf(`k${k}`, p), 'b');
      assert.equal(Number(count), 20, `k${k}: Redis counts what was served, nothing leased and unused`);
    }
  });

  test('reset() drops the local lease with the key', async () => {
    const p = policy('reset', 'fixed-window', 100_000, DAY);
    const [store] = stores({ minRequests: 2 });
    for (let i = 0; i < 20; i++) await settle(store!.consume('k', p, 1));
    assert.ok(store!.snapshot().leasedUnits > 0, 'a lease is held');
    await store!.reset('k', p);
    assert.equal(store!.snapshot().leasedUnits, 0);
    const r = store!.consume('k', p, 1);
    assert.ok(isPromise(r), 'after reset the key asks Redis again');
    assert.equal((await r).remaining, 100_000 - 1, 'a fresh count');
    await store!.close();
  });

  test('sliding log and the leaky-bucket shaper cannot lease and are served exactly', async () => {
    const [store] = stores({});
    const log = policy('log', 'sliding-log', 100_000, DAY);
    const shaper = { ...policy('shaper', 'leaky-bucket', 100_000, DAY), maxDelayMs: 1000 };
    const small = policy('small', 'token-bucket', 100, DAY); // 1 % of 100 is one unit: nothing to lease
    assert.equal(store!.canLease(log), false);
    assert.equal(store!.canLease(shaper), false);
    assert.equal(store!.canLease(small), false);
    assert.equal(store!.canLease(policy('big', 'gcra', 100_000, DAY)), true);
    const calls0 = await scriptCalls(c);
    for (let i = 0; i < 50; i++) {
      await settle(store!.consume('x', log, 1));
      await settle(store!.consume('x', small, 1));
    }
    assert.equal((await scriptCalls(c)) - calls0, 100);
    await store!.close();
  });

  // Issue #22: "an algorithm that cannot [lease] says so at construction".
  test('a limit that cannot lease is refused when an engine is built, naming its option', async () => {
    const [leased] = stores({});
    const exact = new RedisRateLimitStore({ client: c, logger: quiet });
    const refuses = (build: () => unknown, option: string) =>
      assert.throws(build, (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.option, option, err.message);
        assert.match(err.message, /lease/);
        return true;
      });
    const per = 'minute' as const;
    refuses(() => autom8Express({ logger: quiet, rateLimit: { store: leased, algorithm: 'sliding-log', rate: 100, per } }), 'rateLimit.algorithm');
    refuses(() => autom8Koa({ logger: quiet, rateLimit: { store: leased, algorithm: 'sliding-log', rate: 100, per } }), 'rateLimit.algorithm');
    refuses(
      () => autom8Express({ logger: quiet, rateLimit: { store: leased, algorithm: 'leaky-bucket', rate: 100, per, maxDelayMs: 500 } }),
      'rateLimit.maxDelayMs',
    );
    refuses(
      () =>
        autom8Express({ logger: quiet, rateLimit: { store: leased, rate: 1000, per, routes: { 'POST /login': { rate: 5, per, algorithm: 'sliding-log' } } } }),
      'rateLimit.routes["POST /login"].algorithm',
    );
    // Accepted: the same limits on an exact store, leasing algorithms on the leased one, and a
    // sliding-log global limit that `global: false` leaves unused.
    const built = [
      autom8Express({ logger: quiet, rateLimit: { store: exact, algorithm: 'sliding-log', rate: 100, per } }),
      autom8Express({ logger: quiet, rateLimit: { store: exact, algorithm: 'leaky-bucket', rate: 100, per, maxDelayMs: 500 } }),
      ...LEASING.map((algorithm) => autom8Express({ logger: quiet, rateLimit: { store: leased, algorithm, rate: 100, per } })),
      autom8Express({ logger: quiet, rateLimit: { store: leased, algorithm: 'leaky-bucket', rate: 100, per, maxDelayMs: 0 } }),
      autom8Express({
        logger: quiet,
        rateLimit: { store: leased, algorithm: 'sliding-log', rate: 100, per, global: false, routes: { 'POST /login': { rate: 5, per } } },
      }),
    ];
    for (const mw of built) await engineOf(mw)!.close();
    await leased!.close();
  });

  test('createRateLimiter on a leased store refuses a limit that cannot lease, naming its option', async () => {
    const [leased] = stores({});
    const refuses = (build: () => unknown, option: string) =>
      assert.throws(build, (err: unknown) => err instanceof InvalidOptionError && err.option === option && /lease/.test(err.message));
    refuses(() => createRateLimiter('log', { store: leased, algorithm: 'sliding-log', rate: 10 }), 'algorithm');
    refuses(() => createRateLimiter('shaper', { store: leased, algorithm: 'leaky-bucket', rate: 10, maxDelayMs: 100 }), 'maxDelayMs');
    const ok = createRateLimiter('bucket', { store: leased, algorithm: 'gcra', rate: 10 });
    assert.equal((await ok.check('k')).allowed, true, 'a leasing algorithm is built and served');
    const exact = createRateLimiter('log-exact', { store: new RedisRateLimitStore({ client: c, logger: quiet }), algorithm: 'sliding-log', rate: 10 });
    assert.equal((await exact.check('k')).allowed, true, 'an exact store serves the sliding log');
    await leased!.close();
  });

  test('invalid lease options throw naming the option', () => {
    assert.throws(() => new RedisRateLimitStore({ client: c, lease: { maxShare: 1.5 } }), /lease\.maxShare/);
    assert.throws(() => new RedisRateLimitStore({ client: c, lease: { ttlMs: 0 } }), /lease\.ttlMs/);
    assert.throws(() => new RedisRateLimitStore({ client: c, lease: { maxKeys: 2.5 } }), /lease\.maxKeys/);
    assert.throws(() => new RedisRateLimitStore({ client: c, lease: 'yes' as never }), /lease/);
    assert.equal(new RedisRateLimitStore({ client: c, logger: quiet }).leased, false, 'exact mode is the default');
  });
});

describe('leased mode with Redis killed', () => {
  test('a held lease keeps serving until it expires; then the outage policy (fail-closed) applies', async () => {
    const redis = await startRedis();
    const cl = await client(redis.port);
    const store = new RedisRateLimitStore({
      client: cl,
      logger: quiet,
      outage: { policy: 'fail-closed', timeoutMs: 2000 },
      lease: { ttlMs: 1500, minRequests: 4 },
    });
    const p = policy('outage', 'token-bucket', 1_000_000, DAY);
    try {
      for (let i = 0; i < 40; i++) await settle(store.consume('k', p, 1));
      const held = store.snapshot().leasedUnits;
      assert.ok(held >= 100, `a lease is held (${held} units)`);
      const t0 = performance.now();
      await redis.stop();
      let served = 0;
      while (served < 50) {
        const r = store.consume('k', p, 1);
        assert.ok(!isPromise(r), 'served locally, without Redis');
        assert.equal(r.allowed, true);
        served++;
      }
      assert.equal(store.snapshot().failures, 0, 'Redis was not asked');
      // After the lease expires, requests go to Redis, fail, and the policy refuses them.
      await sleep(Math.max(0, 1600 - (performance.now() - t0)));
      const r = await settle(store.consume('k', p, 1));
      assert.equal(r.allowed, false, 'fail-closed after the lease expired');
      assert.ok(store.snapshot().failures >= 1);
    } finally {
      cl.disconnect();
      await redis.stop();
    }
  });
});
