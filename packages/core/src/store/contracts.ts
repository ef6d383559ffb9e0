/**
 * The store contracts: every piece of state that may be shared between instances (rate-limit
 * counters, the shared cache tier) goes through one of these. The in-memory stores are the embedded
 * default; `@autom8/redis` implements the same contracts on a real Redis server with one atomic Lua
 * script per operation.
 *
 * A store answers synchronously when it can (memory) and with a Promise only when it does I/O, so
 * the in-memory hot path allocates no promise.
 */

import type { Meter } from '@opentelemetry/api';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/**
 * What an engine lends a store it is given (`rateLimit.store`, `cache.store`), so one `logger`, one
 * clock and one telemetry setting cover the store too: a store built before the engine cannot know them. A store keeps what
 * its own options set; a store shared by several engines takes the first engine's.
 */
export interface StoreHost {
  /** The engine's `logger`: where the store's outage warnings go. */
  readonly logger: Logger;
  /** The engine's clock: what timestamps it hands the store (cache records) are read against. */
  readonly clock: Clock;
  /** The meter the engine's telemetry records on; undefined when telemetry is off. Asked lazily. */
  meter(): Meter | undefined;
}

/** A value or a promise of it: sync for memory stores, async for network stores. */
export type MaybePromise<T> = T | Promise<T>;

/** The rate-limit algorithms every store implements. */
export type RateLimitAlgorithm = 'token-bucket' | 'leaky-bucket' | 'fixed-window' | 'sliding-window' | 'sliding-log' | 'gcra';

/** The resolved, validated parameters of one limit, built once at construction. */
export interface LimitPolicy {
  /** Policy name, used in keys and in RateLimit headers (`"default"`, `"login"`). */
  readonly name: string;
  readonly algorithm: RateLimitAlgorithm;
  /** Requests (cost units) allowed per `windowMs`. */
  readonly limit: number;
  /** Window, or refill period for `limit` units, in ms. */
  readonly windowMs: number;
  /** Extra capacity above the steady rate (bucket size = burst for buckets and GCRA). */
  readonly burst: number;
  /**
   * Leaky bucket only: 0 (default) polices (rejects what overflows); above 0 it shapes, admitting a
   * request that must wait at most this long (ms) for its turn and telling the caller to delay it.
   */
  readonly maxDelayMs?: number;
}

/** What a store answers for one consume: the new state of the key, in one round trip. */
export interface ConsumeResult {
  allowed: boolean;
  /** Units left after this call (0 when denied). */
  remaining: number;
  /** The policy's quota. */
  limit: number;
  /** Milliseconds until the quota is fully available again. */
  resetMs: number;
  /** Milliseconds to wait before a retry can succeed (0 when allowed; Infinity when it never can). */
  retryAfterMs: number;
  /** Leaky-bucket shaper: how long (ms) to delay this allowed request before serving it; else 0. */
  delayMs?: number;
}

/**
 * What a store cannot do for one limit, as {@link RateLimitStore.unsupported} answers it: which of
 * the limit's options to change, and to what.
 */
export interface UnsupportedLimit {
  /** The limit's option at fault, as the user writes it; the caller prefixes its path (`rateLimit.routes["POST /login"].algorithm`). */
  readonly option: 'algorithm' | 'rate' | 'per' | 'burst' | 'maxDelayMs';
  /** What this store needs the option to be, read after "expected <option path> to be". */
  readonly expected: string;
}

/** Counter state for rate limiting. */
export interface RateLimitStore {
  /** Store kind for logs and metrics (`memory`, `redis`). */
  readonly kind: string;
  /** Atomically applies `policy` to `key`, consuming `cost` units, and returns the new state. */
  consume(key: string, policy: LimitPolicy, cost: number): MaybePromise<ConsumeResult>;
  /** Forgets a key. */
  reset(key: string, policy: LimitPolicy): MaybePromise<void>;
  /**
   * Optional: what this store cannot do for `policy` as configured, or undefined when it serves it.
   * Asked once per limit, with the validated policy, when an engine (`rateLimit`) or
   * `createRateLimiter` builds its limits; an answer becomes an `InvalidOptionError` naming the
   * limit's option path, thrown at construction. Without it a store is taken to serve every policy.
   */
  unsupported?(policy: LimitPolicy): UnsupportedLimit | undefined;
  /** Called once by each engine the store is given to, before its first request. */
  attach?(host: StoreHost): void;
  close?(): MaybePromise<void>;
}

/** A cached response or value as stores keep it. */
export interface CacheRecord {
  /** The stored bytes (for responses: status, headers and body, serialised by the cache). */
  readonly value: Buffer;
  /** Epoch ms after which the record is stale. */
  readonly expiresAt: number;
  /** Epoch ms after which it may not be served even as stale. */
  readonly staleUntil: number;
  /** Invalidation tags. */
  readonly tags: readonly string[];
}

/** A shared key-value tier for the cache. */
export interface CacheStore {
  readonly kind: string;
  get(key: string): MaybePromise<CacheRecord | undefined>;
  set(key: string, record: CacheRecord): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  /** Deletes every key carrying `tag`; resolves to how many were deleted. */
  deleteByTag(tag: string): MaybePromise<number>;
  /** Deletes every key starting with `prefix` (optional: prefix invalidation of the shared tier). */
  deleteByPrefix?(prefix: string): MaybePromise<number>;
  /** Called once by each engine the store is given to, before its first request. */
  attach?(host: StoreHost): void;
  /** Broadcasts an invalidation to every instance's local tier (optional; Redis: PUBLISH). */
  publishInvalidation?(message: string): MaybePromise<void>;
  /** Listens to invalidations broadcast by any instance; returns the function that stops listening. */
  onInvalidation?(listener: (message: string) => void): () => void;
  close?(): MaybePromise<void>;
}

/** True for a thenable (what a store returns when it does I/O). */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | undefined)?.then === 'function';
}
