// The cache toolkit: named caches on lru-cache, TTL on a ManualClock, byte bounds, cached() with
// coalescing, stale-while-revalidate and the error policy, memoize() sync and async, @memoized.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, cached, cacheStats, createCache, getCache, memoize, memoized, InvalidOptionError } from '../src/index';
import { Cache } from '../src/cache/cache';

const tick = () => new Promise((r) => setImmediate(r));

describe('createCache', () => {
  test('named caches: one per name, retrievable, freed by close()', () => {
    const c = createCache<number>('toolkit-a', { max: 10 });
    assert.equal(getCache('toolkit-a'), c);
    assert.throws(() => createCache('toolkit-a'), InvalidOptionError);
    assert.ok(cacheStats().some((s) => s.name === 'toolkit-a'));
    c.close();
    assert.equal(getCache('toolkit-a'), undefined);
    createCache('toolkit-a').close();
  });

  test('invalid options throw naming the option', () => {
    assert.throws(() => createCache('bad1', { max: 0 }), /options\.max/);
    assert.throws(() => createCache('bad2', { ttl: -1 }), /options\.ttl/);
    assert.throws(() => createCache('bad3', { maxSizeBytes: 1.5 }), /options\.maxSizeBytes/);
    assert.throws(() => createCache('bad4', { nope: 1 } as never), /options\.nope/);
    assert.throws(() => createCache(''), /name/);
  });

  test('TTL (default 300 s) over a controllable clock; ttl 0 never expires', () => {
    const clock = new ManualClock();
    const c = new Cache<string>('ttl', { clock });
    const lru = new Cache<string>('lru', { clock, ttl: 0 });
    c.set('k', 'v');
    lru.set('k', 'v');
    clock.advance(299_999);
    assert.equal(c.get('k'), 'v');
    clock.advance(1);
    assert.equal(c.get('k'), undefined);
    clock.advance(10 ** 9);
    assert.equal(lru.get('k'), 'v');
  });

  test('evicts least recently used beyond max, and stays within maxSizeBytes', () => {
    const c = new Cache<string>('bounded', { max: 3 });
    c.set('a', '1').set('b', '2').set('c', '3');
    c.get('a');
    c.set('d', '4');
    assert.equal(c.has('b'), false);
    assert.equal(c.has('a'), true);
    const bytes = new Cache<string>('bytes', { max: 100_000, maxSizeBytes: 10_000 });
    for (let i = 0; i < 1000; i++) bytes.set(`k${i}`, 'x'.repeat(100));
    const s = bytes.stats();
    assert.ok(s.sizeBytes <= 10_000, `size ${s.sizeBytes}`);
    assert.ok(s.entries <= 100);
    assert.ok(s.evictions >= 900);
  });
});

describe('cached()', () => {
  test('concurrent misses for one key run fn once', async () => {
    const c = new Cache<number>('coalesce');
    let calls = 0;
    const fn = async () => {
      calls++;
      await tick();
      return 42;
    };
    const results = await Promise.all(Array.from({ length: 100 }, () => cached(c, 'k', fn)));
    assert.deepEqual(new Set(results), new Set([42]));
    assert.equal(calls, 1);
    assert.equal(await cached(c, 'k', fn), 42);
    assert.equal(calls, 1);
  });

  test('stale-while-revalidate returns the stale value and refreshes once in the background', async () => {
    const clock = new ManualClock();
    const c = new Cache<number>('swr', { clock, ttl: 1000, staleWhileRevalidate: 5000 });
    let n = 0;
    const fn = async () => ++n;
    assert.equal(await cached(c, 'k', fn), 1);
    clock.advance(1500);
    const [a, b] = await Promise.all([cached(c, 'k', fn), cached(c, 'k', fn)]);
    assert.equal(a, 1);
    assert.equal(b, 1);
    await tick();
    assert.equal(n, 2, 'one background refresh');
    assert.equal(await cached(c, 'k', fn), 2);
    clock.advance(7000); // past the stale window: a plain miss
    assert.equal(await cached(c, 'k', fn), 3);
  });

  test('errors are not cached by default; with errorTtl they are, for that long', async () => {
    const clock = new ManualClock();
    const plain = new Cache<number>('errors-off', { clock });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('down');
    };
    await assert.rejects(cached(plain, 'k', failing), /down/);
    await assert.rejects(cached(plain, 'k', failing), /down/);
    assert.equal(calls, 2);
    const withErrors = new Cache<number>('errors-on', { clock, errorTtl: 1000 });
    calls = 0;
    await assert.rejects(cached(withErrors, 'k', failing), /down/);
    await assert.rejects(cached(withErrors, 'k', failing), /down/);
    assert.equal(calls, 1);
    clock.advance(1000);
    assert.equal(await cached(withErrors, 'k', async () => 7), 7);
  });
});

describe('memoize()', () => {
  test('a sync function stays sync and is called once per key', () => {
    let calls = 0;
    const square = memoize((x: number) => {
      calls++;
      return x * x;
    });
    assert.equal(square(4), 16);
    assert.equal(square(4), 16);
    assert.equal(square(5), 25);
    assert.equal(calls, 2);
    assert.equal(square.cache.stats().hits, 1);
  });

  test('an async function is coalesced and returns promises on hits', async () => {
    let calls = 0;
    const load = memoize(async (id: string, lang: string) => {
      calls++;
      await tick();
      return `${id}/${lang}`;
    });
    const all = await Promise.all([load('a', 'en'), load('a', 'en'), load('a', 'fr')]);
    assert.deepEqual(all, ['a/en', 'a/en', 'a/fr']);
    assert.equal(calls, 2);
    const again = load('a', 'en');
    assert.ok(again instanceof Promise);
    assert.equal(await again, 'a/en');
    assert.equal(calls, 2);
  });

  test('custom keys and a shared named cache', () => {
    const shared = createCache<unknown>('memo-shared');
    let calls = 0;
    const f = memoize((o: { id: number }) => ++calls + o.id * 0, { key: (o) => String(o.id), cache: shared });
    f({ id: 1 });
    f({ id: 1 });
    assert.equal(calls, 1);
    assert.equal(shared.size, 1);
    shared.close();
    assert.throws(() => memoize(42 as never), /fn/);
  });

  test('@memoized memoizes a method per instance', async () => {
    class Prices {
      calls = 0;
      constructor(readonly factor: number) {}
      @memoized({ ttl: 60_000 })
      async quote(sku: string): Promise<number> {
        this.calls++;
        return sku.length * this.factor;
      }
    }
    const p1 = new Prices(1);
    const p2 = new Prices(10);
    assert.equal(await p1.quote('abc'), 3);
    assert.equal(await p1.quote('abc'), 3);
    assert.equal(await p2.quote('abc'), 30);
    assert.equal(p1.calls, 1);
    assert.equal(p2.calls, 1);
  });
});
