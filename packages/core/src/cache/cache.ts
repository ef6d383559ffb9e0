import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../util/clock.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';

/** Options of {@link createCache}. */
export interface CacheOptions<V = unknown> {
  /** Most entries kept (least recently used evicted first). Default 1000. */
  max?: number;
  /** Bound on the summed size of the values, bytes. Default: none (only `max` bounds the cache). */
  maxSizeBytes?: number;
  /**
   * Size of one value in bytes, for `maxSizeBytes`. Default: byte length of strings and buffers,
   * the JSON length of anything else (computed once per `set`).
   */
  sizeOf?: (value: V, key: string) => number;
  /** Freshness lifetime of an entry, ms. Default 300 000 (5 min); 0 = never expires (a pure LRU). */
  ttl?: number;
  /**
   * After `ttl`, an entry may still be returned by {@link cached} for this long, ms, while one
   * background call refreshes it. Default 0 (off).
   */
  staleWhileRevalidate?: number;
  /**
   * Cache rejections/throws of the computation for this long, ms, so a failing dependency is not
   * hammered. Default 0: errors are never cached.
   */
  errorTtl?: number;
  /** Time source (tests pass a ManualClock). */
  clock?: Clock;
}

/** One stored value with its timestamps. */
export interface CacheEntry<V> {
  readonly value: V | undefined;
  /** The cached error, when the entry records a failure (`errorTtl`). */
  readonly error: unknown;
  readonly isError: boolean;
  /** True when the value came from a Promise (memoize returns a Promise again on hits). */
  readonly async: boolean;
  /** Clock ms after which the entry is stale. */
  readonly expiresAt: number;
  /** Clock ms after which it is gone. */
  readonly staleUntil: number;
}

/** Counters of a cache. */
export interface CacheStats {
  name: string;
  entries: number;
  sizeBytes: number;
  hits: number;
  misses: number;
  stale: number;
  evictions: number;
  /** Calls of the computation (misses after coalescing, plus background refreshes). */
  loads: number;
  /** Background refreshes that failed (the stale value was kept). */
  refreshErrors: number;
}

const registry = new Map<string, Cache<unknown>>();

/**
 * A bounded in-memory cache on lru-cache: LRU eviction by entry count and optionally by bytes, a
 * TTL with an optional stale window, and the in-flight table {@link cached} coalesces on.
 * Expiry is checked against the injected clock on read, so tests can drive it with a ManualClock.
 */
export class Cache<V = unknown> {
  readonly name: string;
  readonly ttl: number;
  readonly staleWhileRevalidate: number;
  readonly errorTtl: number;
  readonly clock: Clock;
  /** @internal computations in flight, by key (request coalescing). */
  readonly inflight = new Map<string, Promise<V>>();
  /** @internal */
  readonly counters = { hits: 0, misses: 0, stale: 0, evictions: 0, loads: 0, refreshErrors: 0 };
  private readonly lru: LRUCache<string, CacheEntry<V>>;
  private closed = false;

  /** @internal use {@link createCache} (named) or {@link memoize}. */
  constructor(name: string, options: CacheOptions<V> = {}, optionPath = 'options') {
    const o = v.optionalObject(optionPath, options) ?? {};
    v.knownKeys(optionPath, o, ['max', 'maxSizeBytes', 'sizeOf', 'ttl', 'staleWhileRevalidate', 'errorTtl', 'clock']);
    this.name = name;
    const max = v.positiveInteger(`${optionPath}.max`, o.max, 1000);
    const maxSize = o.maxSizeBytes === undefined ? undefined : v.positiveInteger(`${optionPath}.maxSizeBytes`, o.maxSizeBytes, 1);
    const sizeOf = v.optionalFunction<(value: V, key: string) => number>(`${optionPath}.sizeOf`, o.sizeOf) ?? estimateSize;
    this.ttl = v.nonNegativeNumber(`${optionPath}.ttl`, o.ttl, 300_000);
    this.staleWhileRevalidate = v.nonNegativeNumber(`${optionPath}.staleWhileRevalidate`, o.staleWhileRevalidate, 0);
    this.errorTtl = v.nonNegativeNumber(`${optionPath}.errorTtl`, o.errorTtl, 0);
    if (o.clock !== undefined && typeof (o.clock as Clock).now !== 'function')
      throw new InvalidOptionError(`${optionPath}.clock`, 'an object with now()', o.clock);
    this.clock = (o.clock as Clock | undefined) ?? systemClock;
    const counters = this.counters;
    this.lru = new LRUCache<string, CacheEntry<V>>({
      max,
      ...(maxSize === undefined
        ? {}
        : { maxSize, sizeCalculation: (e: CacheEntry<V>, k: string) => Math.max(1, Math.ceil(e.isError ? 64 : sizeOf(e.value as V, k))) }),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') counters.evictions++;
      },
    });
  }

  /** The fresh value of `key`, or undefined (missing, stale or a cached error). */
  get(key: string): V | undefined {
    const e = this.lru.get(key);
    if (e === undefined || e.isError || this.clock.now() >= e.expiresAt) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    return e.value;
  }

  /** True when `key` holds a fresh value. */
  has(key: string): boolean {
    const e = this.lru.peek(key);
    return e !== undefined && !e.isError && this.clock.now() < e.expiresAt;
  }

  /** Stores `value` for `ttl` ms (default: the cache's ttl; 0 = no expiry). */
  set(key: string, value: V, ttl: number = this.ttl): this {
    this.store(key, value, undefined, false, ttl, false);
    return this;
  }

  /** Removes `key`; true if it was there. */
  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Removes every key starting with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const k of [...this.lru.keys()]) if (k.startsWith(prefix) && this.lru.delete(k)) n++;
    return n;
  }

  /** Removes everything. */
  clear(): void {
    this.lru.clear();
  }

  /** Number of entries (fresh or stale). */
  get size(): number {
    return this.lru.size;
  }

  /** @internal the raw entry, undefined when missing or past its stale window (then deleted). */
  entry(key: string): CacheEntry<V> | undefined {
    const e = this.lru.get(key);
    if (e !== undefined && this.clock.now() >= e.staleUntil) {
      this.lru.delete(key);
      return undefined;
    }
    return e;
  }

  /** @internal stores a value or an error with its timestamps. */
  store(key: string, value: V | undefined, error: unknown, isError: boolean, ttl: number, async: boolean): void {
    const now = this.clock.now();
    const expiresAt = ttl === 0 ? Infinity : now + ttl;
    const staleUntil = isError ? expiresAt : expiresAt + this.staleWhileRevalidate;
    this.lru.set(key, { value, error, isError, async, expiresAt, staleUntil });
  }

  /** Counters and sizes. */
  stats(): CacheStats {
    return { name: this.name, entries: this.lru.size, sizeBytes: this.lru.calculatedSize, ...this.counters };
  }

  /** Empties the cache and frees its name. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lru.clear();
    if (registry.get(this.name) === (this as Cache<unknown>)) registry.delete(this.name);
  }
}

/**
 * Creates a named cache (retrievable with {@link getCache}): `createCache('users', { ttl: 60_000 })`
 * for a TTL cache, `createCache('hot', { ttl: 0, max: 500 })` for an LRU of deterministic results.
 * Throws if the name is taken by a cache that is not closed, or an option is invalid.
 */
export function createCache<V = unknown>(name: string, options?: CacheOptions<V>): Cache<V> {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'a non-empty string', name);
  if (registry.has(name)) throw new InvalidOptionError('name', 'a name no open cache uses', name);
  const cache = new Cache<V>(name, options);
  registry.set(name, cache as Cache<unknown>);
  return cache;
}

/** The open cache named `name`, if any. */
export function getCache<V = unknown>(name: string): Cache<V> | undefined {
  return registry.get(name) as Cache<V> | undefined;
}

/** Stats of every open named cache. */
export function cacheStats(): CacheStats[] {
  return [...registry.values()].map((c) => c.stats());
}

function estimateSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value.byteLength;
  if (value === null || value === undefined || typeof value !== 'object') return 16;
  try {
    return JSON.stringify(value)?.length ?? 16;
  } catch {
    return 1024; // cyclic or unserialisable: a fixed guess
  }
}
