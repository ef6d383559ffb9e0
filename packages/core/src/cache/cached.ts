import type { Cache } from './cache.js';

/**
 * Returns the cached value of `key`, or computes it with `fn` and caches it.
 *
 * - Concurrent misses for one key run `fn` once and share its result (request coalescing).
 * - Within the cache's `staleWhileRevalidate` window a stale value is returned at once while one
 *   background call of `fn` refreshes it (a failing refresh keeps the stale value).
 * - A rejection is cached for `errorTtl` ms when the cache has one (off by default): calls in that
 *   time reject with the same error without running `fn`.
 */
export function cached<V>(cache: Cache<V>, key: string, fn: () => V | Promise<V>, ttl?: number): Promise<V> {
  const e = cache.entry(key);
  if (e !== undefined) {
    const now = cache.clock.now();
    if (now < e.expiresAt) {
      cache.counters.hits++;
      return e.isError ? Promise.reject(e.error) : Promise.resolve(e.value as V);
    }
    if (!e.isError) {
      // stale but inside the stale-while-revalidate window
      cache.counters.stale++;
      if (!cache.inflight.has(key)) load(cache, key, fn, ttl, true).catch(() => undefined);
      return Promise.resolve(e.value as V);
    }
  }
  cache.counters.misses++;
  return cache.inflight.get(key) ?? load(cache, key, fn, ttl, false);
}

/** Runs `fn` once for `key`, registered in the in-flight table until it settles. */
export function load<V>(cache: Cache<V>, key: string, fn: () => V | Promise<V>, ttl: number | undefined, refresh: boolean): Promise<V> {
  cache.counters.loads++;
  let p: Promise<V>;
  try {
    p = Promise.resolve(fn());
  } catch (err) {
    p = Promise.reject(err);
  }
  const settled = p.then(
    (value) => {
      if (cache.inflight.get(key) === settled) cache.inflight.delete(key);
      cache.store(key, value, undefined, false, ttl ?? cache.ttl, true);
      return value;
    },
    (err: unknown) => {
      if (cache.inflight.get(key) === settled) cache.inflight.delete(key);
      if (refresh) cache.counters.refreshErrors++;
      else if (cache.errorTtl > 0) cache.store(key, undefined, err, true, cache.errorTtl, true);
      throw err;
    },
  );
  cache.inflight.set(key, settled);
  return settled;
}
