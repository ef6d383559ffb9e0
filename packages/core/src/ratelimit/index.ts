/**
 * Rate limiting: five algorithms (token bucket, leaky bucket as policer or shaper, fixed window,
 * sliding window as weighted counter or exact log, GCRA) behind one store contract; the programmatic
 * {@link createRateLimiter} API; and the `rateLimit` middleware feature (global and per-route limits,
 * client keys, RateLimit headers, 429 problem+json, dry run).
 */
export { createRateLimiter, RateLimiter, RateLimitedError } from './limiter.js';
export type { RateLimiterOptions, RateLimitDecision, WaitOptions } from './limiter.js';
export { MemoryRateLimitStore } from './memory-store.js';
export type { MemoryRateLimitStoreOptions } from './memory-store.js';
export { ALGORITHMS, ALGORITHM_NAMES, newState, capacityOf } from './algorithms.js';
export type { AlgorithmFn, LimitState } from './algorithms.js';
export { resolvePolicy, dividePolicy, periodMs, SLIDING_LOG_MAX } from './policy.js';
export type { LimitSpec, Period } from './policy.js';
export { groupAddress } from './client-key.js';
export type { ClientKeySpec } from './client-key.js';
export type { HeaderFormat } from './headers.js';
export { createRateLimitFeature, RateLimitFeature } from './feature.js';
export type { RateLimitOptions, RouteLimitSpec } from './options.js';
