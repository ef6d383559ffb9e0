import type { ConsumeResult, LimitPolicy, RateLimitAlgorithm } from '../store/contracts.js';

/**
 * The rate-limit algorithms as pure functions over a small mutable state record, for the memory
 * store (the Redis store runs the same arithmetic in Lua). Each takes the policy, the clock time and
 * the cost, updates the state and returns the decision. A state whose `exp` has passed is
 * equivalent to a fresh one, which is what lets the store evict it.
 */
export interface LimitState {
  /** Algorithm-specific: tokens, bucket level, theoretical arrival time, or window start. */
  a: number;
  /** Algorithm-specific: last refill time, or the count of the current window. */
  b: number;
  /** Sliding window: the count of the previous window. */
  c: number;
  /** Clock time after which this state equals a fresh one (safe to evict). */
  exp: number;
  /** Sliding log: unit timestamps, oldest first, from index `c`. */
  log: number[] | undefined;
}

/** A fresh state record (one shape for every algorithm). */
export function newState(): LimitState {
  return { a: 0, b: 0, c: 0, exp: 0, log: undefined };
}

/** One algorithm: applies `cost` at time `now` and returns the decision. */
export type AlgorithmFn = (s: LimitState, p: LimitPolicy, now: number, cost: number) => ConsumeResult;

// Floor that forgives floating-point dust (4.9999999 tokens are 5).
const EPS = 1e-9;
function floor(x: number): number {
  return x <= 0 ? 0 : Math.floor(x + EPS);
}

function result(allowed: boolean, remaining: number, limit: number, resetMs: number, retryAfterMs: number, delayMs: number): ConsumeResult {
  return { allowed, remaining, limit, resetMs, retryAfterMs, delayMs };
}

/** Capacity of the bucket algorithms: `burst`, which defaults to `limit`. */
export function capacityOf(p: LimitPolicy): number {
  return p.burst > 0 ? p.burst : p.limit;
}

/**
 * Token bucket: a bucket of `burst` tokens, refilled at `limit` per `windowMs`; a request takes
 * `cost` tokens or is refused.
 */
export const tokenBucket: AlgorithmFn = (s, p, now, cost) => {
  const cap = capacityOf(p);
  const t = p.windowMs / p.limit; // ms per token
  if (s.exp <= now) {
    s.a = cap;
  } else if (now > s.b) {
    s.a = Math.min(cap, s.a + (now - s.b) / t);
  }
  s.b = now;
  const allowed = cost <= s.a + EPS;
  if (allowed) s.a = Math.max(0, s.a - cost);
  const resetMs = (cap - s.a) * t;
  s.exp = now + resetMs;
  const retry = allowed ? 0 : cost > cap ? Infinity : (cost - s.a) * t;
  return result(allowed, floor(s.a), cap, resetMs, retry, 0);
};

/**
 * Leaky bucket. As a policer (`maxDelayMs` 0): a bucket of size `burst` leaking `limit` per
 * `windowMs`; a request that would overflow it is refused (strict flow control). As a shaper
 * (`maxDelayMs` > 0): requests leave at the steady rate; one that would wait at most `maxDelayMs`
 * for its turn is admitted with `delayMs` set, the rest refused.
 */
export const leakyBucket: AlgorithmFn = (s, p, now, cost) => {
  const t = p.windowMs / p.limit;
  const maxDelay = p.maxDelayMs ?? 0;
  if (maxDelay > 0) {
    // a = the time the queue is empty again
    const start = s.a > now ? s.a : now;
    const delay = start - now;
    const cap = Math.floor(maxDelay / t + EPS) + 1;
    if (delay > maxDelay + EPS) {
      return result(false, 0, cap, delay, delay - maxDelay, 0);
    }
    s.a = start + cost * t;
    s.exp = s.a;
    const ahead = s.a - now;
    const remaining = ahead > maxDelay + EPS ? 0 : floor((maxDelay - ahead) / t) + 1;
    return result(true, remaining, cap, ahead, 0, delay);
  }
  const cap = capacityOf(p);
  // a = water level, b = last leak time
  if (s.exp <= now) s.a = 0;
  else if (now > s.b) s.a = Math.max(0, s.a - (now - s.b) / t);
  s.b = now;
  const allowed = s.a + cost <= cap + EPS;
  if (allowed) s.a += cost;
  s.exp = now + s.a * t;
  const retry = allowed ? 0 : cost > cap ? Infinity : (s.a + cost - cap) * t;
  return result(allowed, floor(cap - s.a), cap, s.a * t, retry, 0);
};

/** Fixed window: at most `limit` units per window aligned on multiples of `windowMs`. */
export const fixedWindow: AlgorithmFn = (s, p, now, cost) => {
  const w = p.windowMs;
  const start = now - (now % w);
  if (s.a !== start || s.exp <= now) {
    s.a = start;
    s.b = 0;
  }
  const allowed = s.b + cost <= p.limit;
  if (allowed) s.b += cost;
  const resetMs = start + w - now;
  s.exp = start + w;
  return result(allowed, p.limit - s.b > 0 ? p.limit - s.b : 0, p.limit, resetMs, allowed ? 0 : cost > p.limit ? Infinity : resetMs, 0);
};

/**
 * Sliding window, the weighted two-window counter: the previous window's count, weighted by how
 * much of it still overlaps the sliding window, plus the current window's count.
 */
export const slidingWindow: AlgorithmFn = (s, p, now, cost) => {
  const w = p.windowMs;
  const limit = p.limit;
  const start = now - (now % w);
  if (s.a !== start) {
    s.c = s.a === start - w && s.exp > now ? s.b : 0;
    s.b = 0;
    s.a = start;
  }
  const weight = (w - (now - start)) / w;
  const estimate = s.c * weight + s.b;
  const allowed = estimate + cost <= limit + EPS;
  if (allowed) s.b += cost;
  s.exp = start + 2 * w;
  const resetMs = (s.b > 0 ? start + 2 * w : start + w) - now;
  let retry = 0;
  if (!allowed) {
    const room = limit - cost - s.b; // what the previous window may still weigh
    if (room >= 0 && s.c > 0) {
      retry = start + w * (1 - room / s.c) - now;
    } else if (cost > limit) {
      retry = Infinity;
    } else if (s.b === 0) {
      retry = start + w - now;
    } else {
      const frac = Math.min(1, (limit - cost) / s.b);
      retry = start + w + w * (1 - frac) - now;
    }
  }
  return result(allowed, floor(limit - (s.c * weight + s.b)), limit, resetMs, retry, 0);
};

/** Sliding log: the exact log of the last window's units, for small limits. */
export const slidingLog: AlgorithmFn = (s, p, now, cost) => {
  const w = p.windowMs;
  const limit = p.limit;
  let log = s.log;
  if (log === undefined || s.exp <= now) {
    log = s.log = [];
    s.c = 0;
  }
  let head = s.c;
  while (head < log.length && log[head]! <= now - w) head++;
  if (head > 32 && head * 2 > log.length) {
    log.splice(0, head);
    head = 0;
  }
  s.c = head;
  const count = log.length - head;
  const allowed = count + cost <= limit;
  if (allowed) for (let i = 0; i < cost; i++) log.push(now);
  const n = log.length - head;
  const last = n > 0 ? log[log.length - 1]! : now;
  s.exp = n > 0 ? last + w : now;
  let retry = 0;
  if (!allowed) retry = cost > limit ? Infinity : log[head + count + cost - limit - 1]! + w - now;
  return result(allowed, limit - n > 0 ? limit - n : 0, limit, n > 0 ? last + w - now : 0, retry, 0);
};

/**
 * GCRA (generic cell rate algorithm): one timestamp per key, the theoretical arrival time (TAT).
 * Emission interval T = windowMs / limit; a request is admitted when `now >= TAT + cost·T − burst·T`.
 */
export const gcra: AlgorithmFn = (s, p, now, cost) => {
  const cap = capacityOf(p);
  const t = p.windowMs / p.limit;
  const tolerance = cap * t;
  const tat = s.a > now && s.exp > now ? s.a : now;
  const newTat = tat + cost * t;
  const allowAt = newTat - tolerance;
  const allowed = now >= allowAt - EPS;
  if (allowed) {
    s.a = newTat;
    s.exp = newTat;
  }
  const current = allowed ? newTat : tat;
  const remaining = floor((now - (current - tolerance)) / t);
  const retry = allowed ? 0 : cost > cap ? Infinity : allowAt - now;
  return result(allowed, remaining > cap ? cap : remaining, cap, current - now, retry, 0);
};

/** The algorithm functions by name. */
export const ALGORITHMS: Readonly<Record<RateLimitAlgorithm, AlgorithmFn>> = Object.freeze({
  'token-bucket': tokenBucket,
  'leaky-bucket': leakyBucket,
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'sliding-log': slidingLog,
  gcra,
});

/** Every algorithm name, for validation. */
export const ALGORITHM_NAMES = Object.freeze(Object.keys(ALGORITHMS)) as readonly RateLimitAlgorithm[];
