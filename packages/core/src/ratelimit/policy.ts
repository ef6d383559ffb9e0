import type { LimitPolicy, RateLimitAlgorithm, RateLimitStore, UnsupportedLimit } from '../store/contracts.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { ALGORITHM_NAMES } from './algorithms.js';

/** A period: milliseconds, or a unit name. */
export type Period = number | 'second' | 'minute' | 'hour' | 'day';

/** How one limit is written in options (`createRateLimiter`, `rateLimit`, `rateLimit.routes[...]`). */
export interface LimitSpec {
  /** Default `'token-bucket'`. */
  algorithm?: RateLimitAlgorithm;
  /** Units (requests, or route costs) allowed per `per`. */
  rate?: number;
  /** The period of `rate`: ms or `'second'`/`'minute'`/`'hour'`/`'day'`. Default `'second'` for a limiter, `'minute'` in middleware. */
  per?: Period;
  /** Bucket capacity for token bucket, leaky bucket and GCRA (the most spent at once). Default = `rate`. */
  burst?: number;
  /** Leaky bucket only: turns the policer into a shaper that delays a request up to this many ms. */
  maxDelayMs?: number;
}

const PERIODS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Above this an exact log costs too much memory per key; use sliding-window instead. */
export const SLIDING_LOG_MAX = 10_000;

/** Milliseconds of a {@link Period}; throws naming `path`. */
export function periodMs(path: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value === 'string' && PERIODS[value] !== undefined) return PERIODS[value];
  if (typeof value === 'number' && Number.isFinite(value) && value >= 1) return value;
  throw new InvalidOptionError(path, "a period in ms (>= 1) or 'second', 'minute', 'hour', 'day'", value);
}

/** Validates a {@link LimitSpec} into a policy named `name`; option paths start with `path`. */
export function resolvePolicy(name: string, path: string, spec: Record<string, unknown>, defaults: { rate: number; perMs: number }): LimitPolicy {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const algorithm = v.oneOf(at('algorithm'), spec.algorithm, ALGORITHM_NAMES, 'token-bucket');
  const limit = v.positiveNumber(at('rate'), spec.rate, defaults.rate);
  const windowMs = periodMs(at('per'), spec.per, defaults.perMs);
  const burst = v.positiveNumber(at('burst'), spec.burst, limit);
  const maxDelayMs = v.timerMs(at('maxDelayMs'), spec.maxDelayMs, 0, { allowZero: true });
  if (maxDelayMs > 0 && algorithm !== 'leaky-bucket') {
    throw new InvalidOptionError(at('maxDelayMs'), "used only with algorithm 'leaky-bucket'", maxDelayMs);
  }
  if ((algorithm === 'fixed-window' || algorithm === 'sliding-window' || algorithm === 'sliding-log') && !Number.isInteger(limit)) {
    throw new InvalidOptionError(at('rate'), `a positive integer for ${algorithm}`, limit);
  }
  if (algorithm === 'sliding-log' && limit > SLIDING_LOG_MAX) {
    throw new InvalidOptionError(at('rate'), `at most ${SLIDING_LOG_MAX} for sliding-log (use sliding-window for larger limits)`, limit);
  }
  return Object.freeze({ name, algorithm, limit, windowMs, burst, maxDelayMs });
}

/**
 * Asks `store` whether it serves `policy` ({@link RateLimitStore.unsupported}) and throws an
 * InvalidOptionError naming the option under `path` when it cannot: at construction, not at the
 * first request.
 */
export function checkStoreServes(store: RateLimitStore, policy: LimitPolicy, path: string): void {
  const u = store.unsupported?.(policy);
  if (u === undefined) return;
  throw new InvalidOptionError(path ? `${path}.${u.option}` : u.option, u.expected, SPEC_VALUE[u.option](policy));
}

/** A policy field as the option that set it (`rate` is the policy's `limit`). */
const SPEC_VALUE: Record<UnsupportedLimit['option'], (p: LimitPolicy) => unknown> = {
  algorithm: (p) => p.algorithm,
  rate: (p) => p.limit,
  per: (p) => p.windowMs,
  burst: (p) => p.burst,
  maxDelayMs: (p) => p.maxDelayMs,
};

/**
 * The policy each of `expected` instances enforces locally so that together they stay near the
 * shared limit (the Redis store's fallback during an outage): limit and burst divided, at least 1.
 */
export function dividePolicy(p: LimitPolicy, expected: number): LimitPolicy {
  if (expected <= 1) return p;
  const div = (n: number) => Math.max(1, Math.floor(n / expected));
  return Object.freeze({ ...p, limit: div(p.limit), burst: div(p.burst) });
}

/** Checks that `name` can appear in a structured-field string and in store keys. */
export function checkPolicyName(path: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:/*-]{1,64}$/.test(name)) {
    throw new InvalidOptionError(path, 'a name of 1-64 letters, digits, _ . : / * -', name);
  }
  return name;
}
