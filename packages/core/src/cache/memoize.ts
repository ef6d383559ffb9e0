import { Cache, type CacheOptions } from './cache.js';
import { load } from './cached.js';
import { InvalidOptionError } from '../util/errors.js';

/** Options of {@link memoize} and {@link memoized}: the cache's options plus how keys are made. */
export interface MemoizeOptions<A extends unknown[]> extends CacheOptions {
  /**
   * The cache key of a call. Default: the argument itself for one string/number/boolean argument,
   * else `JSON.stringify(args)`.
   */
  key?: (...args: A) => string;
  /** Use this cache (e.g. a named one from `createCache`) instead of a private one. */
  cache?: Cache;
}

/** A memoized function, with its cache. */
export type Memoized<A extends unknown[], R> = ((...args: A) => R) & { readonly cache: Cache };

/**
 * Memoizes `fn` in a bounded cache. A synchronous `fn` stays synchronous (hits return the value,
 * no Promise); an async `fn` gets request coalescing (concurrent calls with one key share one
 * call), stale-while-revalidate and the error policy of {@link cached}.
 */
export function memoize<A extends unknown[], R>(fn: (...args: A) => R, options: MemoizeOptions<A> = {}): Memoized<A, R> {
  if (typeof fn !== 'function') throw new InvalidOptionError('fn', 'a function', fn);
  const { key, cache: given, ...cacheOptions } = options;
  if (key !== undefined && typeof key !== 'function') throw new InvalidOptionError('key', 'a function', key);
  if (given !== undefined && !(given instanceof Cache)) throw new InvalidOptionError('cache', 'a Cache', given);
  const cache = given ?? new Cache<unknown>(`memoize:${fn.name || 'anonymous'}`, cacheOptions);
  const keyOf = key ?? defaultKey;

  const memoized = function memoizedCall(this: unknown, ...args: A): R {
    const k = keyOf(...args);
    const e = cache.entry(k);
    if (e !== undefined) {
      const fresh = cache.clock.now() < e.expiresAt;
      if (fresh) {
        cache.counters.hits++;
        if (e.isError) return Promise.reject(e.error) as R;
        return (e.async ? Promise.resolve(e.value) : e.value) as R;
      }
      if (e.async && !e.isError) {
        cache.counters.stale++;
        if (!cache.inflight.has(k)) load(cache, k, () => fn.apply(this, args), undefined, true).catch(() => undefined);
        return Promise.resolve(e.value) as R;
      }
    }
    cache.counters.misses++;
    const pending = cache.inflight.get(k);
    if (pending !== undefined) return pending as R;
    cache.counters.loads++;
    const result = fn.apply(this, args);
    if (isThenable(result)) {
      cache.counters.loads--; // load() counts it
      return load(cache, k, () => result as unknown as Promise<unknown>, undefined, false) as R;
    }
    cache.store(k, result, undefined, false, cache.ttl, false);
    return result;
  } as Memoized<A, R>;
  Object.defineProperty(memoized, 'cache', { value: cache, enumerable: true });
  return memoized;
}

/**
 * A method decorator (TypeScript 5 standard decorators) memoizing a method per instance:
 *
 * ```ts
 * class Prices {
 *   @memoized({ ttl: 60_000 })
 *   async quote(sku: string) { ... }
 * }
 * ```
 * Each instance gets its own bounded cache, released with the instance.
 */
export function memoized<A extends unknown[]>(options: MemoizeOptions<A> = {}) {
  if (options.cache !== undefined) throw new InvalidOptionError('cache', 'unset for a decorator (each instance gets its own cache)', options.cache);
  const { key: _key, cache: _cache, ...cacheOptions } = options;
  new Cache('memoized', cacheOptions); // validates now, at class definition
  return function <This extends object, R>(
    method: (this: This, ...args: A) => R,
    _context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => R {
    const perInstance = new WeakMap<This, Memoized<A, R>>();
    return function memoizedMethod(this: This, ...args: A): R {
      let m = perInstance.get(this);
      if (m === undefined) perInstance.set(this, (m = memoize(method, options)));
      return m.apply(this, args);
    };
  };
}

function defaultKey(...args: unknown[]): string {
  if (args.length === 1) {
    const a = args[0];
    if (typeof a === 'string') return a;
    if (typeof a === 'number' || typeof a === 'boolean') return `\u0000${String(a)}`;
  }
  return JSON.stringify(args);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}
