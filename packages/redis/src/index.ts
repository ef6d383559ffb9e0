/**
 * @autom8/redis: the Redis implementations of autom8's store contracts, for fleets of instances.
 * Pass your own ioredis client (standalone or Cluster).
 * @packageDocumentation
 */
export {};
export { RedisCacheStore } from './cache-store.js';
export type { RedisCacheStoreOptions } from './cache-store.js';
export { RedisRateLimitStore, createRedisRateLimitStore } from './rate-limit-store.js';
export type { RedisRateLimitStoreOptions, RedisOutageOptions, RedisLeaseOptions } from './rate-limit-store.js';
export { RATE_LIMIT_SCRIPTS } from './rate-limit-scripts.js';
