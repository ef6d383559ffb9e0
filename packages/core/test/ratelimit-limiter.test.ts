// The programmatic API: createRateLimiter / check / execute / wait, and option validation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter, InvalidOptionError, ManualClock, RateLimitedError, type RateLimitStore } from '@autom8/core';
import { MemoryRateLimitStore } from '@autom8/core/store';
import { groupAddress } from '../src/ratelimit/client-key';
import { createEngine } from '@autom8/core/adapter';

describe('createRateLimiter', () => {
  test('the seed API: "api_requests", token bucket, rate 100/s, burst 500', () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter('api_requests', { algorithm: 'token-bucket', rate: 100, burst: 500, clock });
    for (let i = 0; i < 500; i++) assert.equal((limiter.check('u1') as { allowed: boolean }).allowed, true, `request ${i}`);
    const d = limiter.check('u1');
    assert.ok(!('then' in d), 'the memory store answers synchronously');
    assert.equal(d.allowed, false);
    assert.equal(d.waitTimeMs, 10); // one token per 10 ms
    assert.equal((limiter.check('u2') as { allowed: boolean }).allowed, true, 'keys are independent');
    clock.advance(10);
    assert.equal((limiter.check('u1') as { allowed: boolean }).allowed, true);
  });

  test('execute runs fn when allowed and rejects with a typed RateLimitedError otherwise', async () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter('jobs', { algorithm: 'fixed-window', rate: 2, per: 'minute', clock });
    let runs = 0;
    assert.equal(await limiter.execute('k', () => ++runs), 1);
    assert.equal(await limiter.execute('k', async () => ++runs), 2);
    await assert.rejects(
      limiter.execute('k', () => ++runs),
      (err: unknown) => {
        assert.ok(err instanceof RateLimitedError);
        assert.equal(err.code, 'AUTOM8_ERR_RATE_LIMITED');
        assert.equal(err.status, 429);
        assert.equal(err.limiter, 'jobs');
        assert.ok(err.waitTimeMs > 0 && err.waitTimeMs <= 60_000, String(err.waitTimeMs));
        return true;
      },
    );
    assert.equal(runs, 2, 'fn did not run when limited');
  });

  test('wait resolves once a slot frees up', async () => {
    // Real clock: 1 per 30 ms. Only the outcome is asserted, never the timing.
    const limiter = createRateLimiter('w', { algorithm: 'gcra', rate: 1, per: 30, burst: 1 });
    assert.equal((limiter.check('k') as { allowed: boolean }).allowed, true);
    const d = await limiter.wait('k');
    assert.equal(d.allowed, true);
  });

  test('wait is abortable', async () => {
    const limiter = createRateLimiter('w2', { algorithm: 'fixed-window', rate: 1, per: 'hour' });
    void limiter.check('k');
    const ac = new AbortController();
    const p = limiter.wait('k', { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 5);
    await assert.rejects(p, /stop/);
  });

  test('wait gives up past maxWaitMs with RateLimitedError', async () => {
    const limiter = createRateLimiter('w3', { algorithm: 'fixed-window', rate: 1, per: 'hour' });
    void limiter.check('k');
    await assert.rejects(limiter.wait('k', { maxWaitMs: 1000 }), RateLimitedError);
  });

  test('the leaky-bucket shaper reports the delay as the wait time of an allowed request', () => {
    const clock = new ManualClock();
    const limiter = createRateLimiter('shape', { algorithm: 'leaky-bucket', rate: 10, per: 'second', maxDelayMs: 500, clock });
    const a = limiter.check('k') as { allowed: boolean; delayMs?: number };
    const b = limiter.check('k') as { allowed: boolean; delayMs?: number; waitTimeMs: number };
    assert.equal(a.allowed && b.allowed, true);
    assert.equal(b.delayMs, 100);
    assert.equal(b.waitTimeMs, 100);
  });
});

/** A store that cannot serve a burst above 10 (the `unsupported` hook of the store contract). */
const smallBursts: RateLimitStore = {
  kind: 'small-bursts',
  consume: () => ({ allowed: true, remaining: 1, limit: 1, resetMs: 0, retryAfterMs: 0 }),
  reset: () => undefined,
  unsupported: (p) => (p.burst > 10 ? { option: 'burst', expected: 'at most 10 in this store' } : undefined),
};

describe('invalid options throw at construction, naming the option', () => {
  const cases: [string, () => unknown, string][] = [
    ['store cannot serve the limit', () => createRateLimiter('a', { rate: 50, store: smallBursts }), 'burst'],
    ['middleware: store cannot serve the global limit', () => createEngine({ rateLimit: { rate: 50, store: smallBursts } }), 'rateLimit.burst'],
    [
      'middleware: store cannot serve a route limit',
      () => createEngine({ rateLimit: { rate: 5, store: smallBursts, routes: { 'GET /a': { rate: 5, burst: 20 } } } }),
      'rateLimit.routes["GET /a"].burst',
    ],
    ['negative rate', () => createRateLimiter('a', { rate: -1 }), 'rate'],
    ['missing rate', () => createRateLimiter('a', {}), 'rate'],
    ['unknown algorithm', () => createRateLimiter('a', { rate: 1, algorithm: 'magic' as never }), 'algorithm'],
    ['bad period', () => createRateLimiter('a', { rate: 1, per: 'fortnight' as never }), 'per'],
    ['zero burst', () => createRateLimiter('a', { rate: 1, burst: 0 }), 'burst'],
    ['fractional window limit', () => createRateLimiter('a', { rate: 1.5, algorithm: 'fixed-window' }), 'rate'],
    ['huge sliding log', () => createRateLimiter('a', { rate: 1e6, algorithm: 'sliding-log' }), 'rate'],
    ['maxDelayMs on GCRA', () => createRateLimiter('a', { rate: 1, algorithm: 'gcra', maxDelayMs: 10 }), 'maxDelayMs'],
    ['bad name', () => createRateLimiter('a b"', { rate: 1 }), 'name'],
    ['unknown key', () => createRateLimiter('a', { rate: 1, rat: 2 } as never), 'rat'],
    ['middleware: negative rate', () => createEngine({ rateLimit: { rate: -5 } }), 'rateLimit.rate'],
    ['middleware: unknown algorithm', () => createEngine({ rateLimit: { algorithm: 'nope' as never } }), 'rateLimit.algorithm'],
    ['middleware: bad route pattern', () => createEngine({ rateLimit: { routes: { 'POST login': { rate: 5 } } } }), 'rateLimit.routes["POST login"]'],
    ['middleware: route rate', () => createEngine({ rateLimit: { routes: { 'POST /login': { rate: 0 } } } }), 'rateLimit.routes["POST /login"].rate'],
    [
      'middleware: cost above capacity',
      () => createEngine({ rateLimit: { routes: { 'POST /login': { rate: 5, cost: 6 } } } }),
      'rateLimit.routes["POST /login"].cost',
    ],
    ['middleware: headers', () => createEngine({ rateLimit: { headers: 'draft-99' as never } }), 'rateLimit.headers'],
    ['middleware: key', () => createEngine({ rateLimit: { key: 42 as never } }), 'rateLimit.key'],
    ['middleware: ipv6Prefix', () => createEngine({ rateLimit: { ipv6Prefix: 60 } }), 'rateLimit.ipv6Prefix'],
    ['middleware: store', () => createEngine({ rateLimit: { store: {} as never } }), 'rateLimit.store'],
    ['middleware: unknown option', () => createEngine({ rateLimit: { limit: 5 } as never }), 'rateLimit.limit'],
  ];
  test('a store that serves the limits as configured builds', async () => {
    createRateLimiter('a', { rate: 10, store: smallBursts });
    await createEngine({ rateLimit: { rate: 10, store: smallBursts, routes: { 'GET /a': { rate: 5 } } } }).close();
  });
  for (const [what, fn, option] of cases) {
    test(what, () => {
      assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.option, option, err.message);
        return true;
      });
    });
  }
});

describe('client addresses: IPv6 grouped by prefix', () => {
  const cases: [string, number, string][] = [
    ['203.0.113.9', 4, '203.0.113.9'],
    ['::ffff:203.0.113.9', 4, '203.0.113.9'],
    ['2001:DB8:1:2:3:4:5:6', 4, '2001:db8:1:2::/64'],
    ['2001:db8:0001:0002::ffff', 4, '2001:db8:1:2::/64'],
    ['2001:db8::1', 4, '2001:db8:0:0::/64'],
    ['::1', 4, '0:0:0:0::/64'],
    ['fe80::1%eth0', 4, 'fe80:0:0:0::/64'],
    ['2001:db8:aaaa:bbbb::1', 3, '2001:db8:aaaa::/48'],
    ['2001:db8::1', 8, '2001:db8::1'],
  ];
  for (const [addr, hextets, expected] of cases) {
    test(`${addr} /${hextets * 16} → ${expected}`, () => assert.equal(groupAddress(addr, hextets), expected));
  }
});

describe('the middleware decision with a store that answers later', () => {
  // The results of a request the store answers synchronously share one array per limit set; a
  // request that waits for the store must keep its own, whatever the requests started meanwhile do.
  function fakeExchange(engine: ReturnType<typeof createEngine>, client: string) {
    const headers: Record<string, unknown> = {};
    const req = { method: 'GET', headers: {}, socket: { remoteAddress: client } };
    const res = {
      statusCode: 200,
      headersSent: false,
      finished: false,
      getHeader: (name: string) => headers[name] as string | undefined,
      setHeader: (name: string, value: unknown) => void (headers[name] = value),
      on: () => undefined,
    };
    return { ex: engine.begin(req, res, '/a'), headers };
  }

  test('a waiting request keeps its own results while others are decided', async () => {
    const clock = new ManualClock();
    const memory = new MemoryRateLimitStore({ clock });
    // The route's limit is answered at once, the global one a tick later.
    const store: RateLimitStore = {
      kind: 'mixed',
      consume: (key, policy, cost) => {
        const r = memory.consume(key, policy, cost);
        return policy.name === 'default' ? new Promise((resolve) => setImmediate(resolve, r)) : r;
      },
      reset: (key, policy) => memory.reset(key, policy),
    };
    const engine = createEngine({
      clock,
      metrics: { enabled: false },
      telemetry: { enabled: false },
      rateLimit: { rate: 100, algorithm: 'fixed-window', store, routes: { 'GET /a': { rate: 3, algorithm: 'fixed-window' } } },
    });
    try {
      const first = fakeExchange(engine, '10.0.0.1');
      await engine.admit(first.ex);
      const a = fakeExchange(engine, '10.0.0.1');
      const b = fakeExchange(engine, '10.0.0.2');
      const pa = engine.admit(a.ex);
      const pb = engine.admit(b.ex);
      assert.ok(pa instanceof Promise && pb instanceof Promise, 'both wait for the global limit');
      assert.equal(await pa, undefined);
      assert.equal(await pb, undefined);
      assert.equal(a.headers.ratelimit, '"GET:/a";r=1;t=40, "default";r=98;t=40');
      assert.equal(b.headers.ratelimit, '"GET:/a";r=2;t=40, "default";r=99;t=40');
    } finally {
      await engine.close();
    }
  });
});
