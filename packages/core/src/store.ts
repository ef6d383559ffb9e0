/**
 * `@autom8/core/store`: for authors of stores (`@autom8/redis` is one). The contracts a store
 * implements, the outage guard every store call runs through (time budget, fail-open /
 * fail-closed / local fallback, hysteresis, events and counters), and the in-memory rate-limit
 * store a store can fall back to. See docs/rate-limiting.md and docs/caching.md.
 *
 * @packageDocumentation
 */
export { isPromise } from './store/contracts.js';
export type {
  MaybePromise,
  RateLimitAlgorithm,
  LimitPolicy,
  ConsumeResult,
  RateLimitStore,
  UnsupportedLimit,
  CacheRecord,
  CacheStore,
  StoreHost,
} from './store/contracts.js';
export { OutageGuard, STORE_UNAVAILABLE } from './store/outage-guard.js';
export type { OutagePolicy, OutageGuardOptions, StoreState } from './store/outage-guard.js';
export { countStoreTransitions } from './store/store-transitions.js';
export { MemoryRateLimitStore } from './ratelimit/memory-store.js';
export type { MemoryRateLimitStoreOptions } from './ratelimit/memory-store.js';
export { dividePolicy } from './ratelimit/policy.js';
export { consoleLogger } from './util/logger.js';
