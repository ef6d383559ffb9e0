import { isPromise, type ConsumeResult, type LimitPolicy, type MaybePromise, type RateLimitStore } from '../store/contracts.js';
import type { Clock } from '../util/clock.js';
import { Autom8Error, InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { MemoryRateLimitStore } from './memory-store.js';
import { checkPolicyName, checkStoreServes, resolvePolicy, type LimitSpec } from './policy.js';

/** Options of {@link createRateLimiter}: a limit plus where its counters live. */
export interface RateLimiterOptions extends LimitSpec {
  /** Counter store. Default: a new {@link MemoryRateLimitStore}. */
  store?: RateLimitStore;
  /** Most keys in the default memory store. Default 100 000. */
  maxKeys?: number;
  /** Time source of the default memory store and of `wait`. */
  clock?: Clock;
}

/** The answer of {@link RateLimiter.check}: the store's answer plus the wait time the API names. */
export interface RateLimitDecision extends ConsumeResult {
  /** Suggested wait before retrying, ms (0 when allowed, the leaky-bucket shaper's delay aside). */
  waitTimeMs: number;
}

/** Thrown (rejected) by {@link RateLimiter.execute} and {@link RateLimiter.wait} when the limit says no. */
export class RateLimitedError extends Autom8Error {
  /** HTTP status that fits: 429. */
  readonly status = 429;
  /** The limiter that refused. */
  readonly limiter: string;
  /** How long to wait before a retry can succeed, ms (Infinity: the cost exceeds the capacity). */
  readonly waitTimeMs: number;
  constructor(limiter: string, waitTimeMs: number, reason = 'rate limited') {
    super('AUTOM8_ERR_RATE_LIMITED', `autom8: ${reason} by "${limiter}"; retry in ${Math.ceil(waitTimeMs)} ms`);
    this.name = 'RateLimitedError';
    this.limiter = limiter;
    this.waitTimeMs = waitTimeMs;
  }
}

/** Options of {@link RateLimiter.wait}. */
export interface WaitOptions {
  /** Units to consume. Default 1. */
  cost?: number;
  /** Aborts the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Give up (reject with RateLimitedError) when the next slot is further away than this, ms. Default: no limit. */
  maxWaitMs?: number;
}

/**
 * A named limit applied per key (a client, a user, a tenant). `check` consumes and answers;
 * `execute` runs a function only when allowed; `wait` waits for a slot. With the memory store every
 * call but `wait` answers synchronously.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter('api_requests', { algorithm: 'token-bucket', rate: 100, burst: 500 });
 * const d = limiter.check(userId);
 * if (!d.allowed) console.log(`retry in ${d.waitTimeMs} ms`);
 * await limiter.execute(userId, () => callApi());
 * ```
 */
export class RateLimiter {
  readonly name: string;
  readonly policy: LimitPolicy;
  readonly store: RateLimitStore;

  constructor(name: string, options: RateLimiterOptions = {}) {
    this.name = checkPolicyName('name', name);
    const o = v.optionalObject('options', options) ?? {};
    v.knownKeys('', o, ['algorithm', 'rate', 'per', 'burst', 'maxDelayMs', 'store', 'maxKeys', 'clock']);
    if (o.rate === undefined) throw new InvalidOptionError('rate', 'a positive number', undefined);
    this.policy = resolvePolicy(name, '', o, { rate: 1, perMs: 1000 });
    if (o.store !== undefined) {
      const s = o.store as RateLimitStore;
      if (typeof s !== 'object' || s === null || typeof s.consume !== 'function' || typeof s.reset !== 'function') {
        throw new InvalidOptionError('store', 'a RateLimitStore (consume, reset)', o.store);
      }
      this.store = s;
    } else {
      this.store = new MemoryRateLimitStore({ maxKeys: o.maxKeys as number | undefined, clock: o.clock as Clock | undefined }, 'options');
    }
    checkStoreServes(this.store, this.policy, '');
  }

  /** Consumes `cost` units for `key` and answers allowed or limited (with the wait time). */
  check(key: string, cost = 1): MaybePromise<RateLimitDecision> {
    const r = this.store.consume(key, this.policy, cost);
    return isPromise(r) ? r.then(decision) : decision(r);
  }

  /** Runs `fn` when `key` is allowed; otherwise rejects with {@link RateLimitedError}. */
  async execute<T>(key: string, fn: () => T | Promise<T>, cost = 1): Promise<T> {
    let d = this.check(key, cost);
    if (isPromise(d)) d = await d;
    if (!d.allowed) throw new RateLimitedError(this.name, d.waitTimeMs);
    if (d.delayMs !== undefined && d.delayMs > 0) await sleep(d.delayMs, undefined);
    return fn();
  }

  /**
   * Waits until `key` may spend `cost` units, then consumes them. Retries after the store's
   * retry-after; abortable with `signal`. Rejects with RateLimitedError when the wait would exceed
   * `maxWaitMs` or can never succeed.
   */
  async wait(key: string, options: WaitOptions = {}): Promise<RateLimitDecision> {
    const cost = options.cost ?? 1;
    const maxWait = options.maxWaitMs ?? Infinity;
    for (;;) {
      options.signal?.throwIfAborted();
      let d = this.check(key, cost);
      if (isPromise(d)) d = await d;
      if (d.allowed) {
        if (d.delayMs !== undefined && d.delayMs > 0) await sleep(d.delayMs, options.signal);
        return d;
      }
      if (!Number.isFinite(d.waitTimeMs) || d.waitTimeMs > maxWait) throw new RateLimitedError(this.name, d.waitTimeMs);
      // +1 ms: a timer may fire a hair early relative to the store's clock.
      await sleep(Math.ceil(d.waitTimeMs) + 1, options.signal);
    }
  }

  /** Forgets `key`'s state. */
  reset(key: string): MaybePromise<void> {
    return this.store.reset(key, this.policy);
  }
}

/** Creates a named {@link RateLimiter}; validates options and throws naming a bad one. */
export function createRateLimiter(name: string, options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(name, options);
}

function decision(r: ConsumeResult): RateLimitDecision {
  const d = r as RateLimitDecision;
  d.waitTimeMs = r.allowed ? (r.delayMs ?? 0) : r.retryAfterMs;
  return d;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
