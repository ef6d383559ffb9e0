/**
 * @autom8/redis: the Redis implementations of autom8's store contracts, for fleets of instances.
 * Pass your own ioredis client (standalone or Cluster).
 * @packageDocumentation
 */
export {};
