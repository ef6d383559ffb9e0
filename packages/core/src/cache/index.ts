/**
 * Caching: the toolkit (`createCache`, `cached`, `memoize`, `@memoized`) on lru-cache, and the
 * response cache feature (the `cache` option) with its RFC 9111 policy, ETag/304, coalescing,
 * invalidation and optional shared tier.
 */
export { Cache, createCache, getCache, cacheStats } from './cache.js';
export type { CacheOptions, CacheEntry, CacheStats } from './cache.js';
export { cached } from './cached.js';
export { memoize, memoized } from './memoize.js';
export type { MemoizeOptions, Memoized } from './memoize.js';
export { ResponseCache, createResponseCacheFeature, CACHE_OUTCOME_ATTRIBUTE } from './response-cache.js';
export type { InvalidateTarget, InvalidateResult, ResponseCacheSnapshot } from './response-cache.js';
export type { CookiePolicy, ResponseCacheOptions, RouteCacheRule } from './response-cache-options.js';
export { encodeEntry, decodeEntry } from './response-entry.js';
export type { StoredResponse } from './response-entry.js';
