import { metrics, type Meter, type MeterProvider } from '@opentelemetry/api';
import { InvalidOptionError, systemClock, VERSION, type Clock, type Logger } from '@autom8/core';
import {
  consoleLogger,
  countStoreTransitions,
  dividePolicy,
  MemoryRateLimitStore,
  OutageGuard,
  STORE_UNAVAILABLE,
  type ConsumeResult,
  type LimitPolicy,
  type OutagePolicy,
  type RateLimitAlgorithm,
  type RateLimitStore,
  type StoreHost,
  type UnsupportedLimit,
} from '@autom8/core/store';
import type { Cluster, Redis } from 'ioredis';
import type { LeasingAlgorithm } from './algorithm-lua.js';
import { LEASE_SCRIPTS } from './lease-scripts.js';
import { HotFilter, LeaseEntry, LeaseTable, hashKey } from './lease-table.js';
import { RATE_LIMIT_SCRIPTS } from './rate-limit-scripts.js';

/** What to do while Redis is down or slow, and how to notice it is back. */
export interface RedisOutageOptions {
  /**
   * `fallback` (default): limit in process memory with each limit divided by `expectedInstances`;
   * `fail-open`: let requests through; `fail-closed`: refuse them (429).
   */
  policy?: OutagePolicy;
  /** Time budget of one Redis call, ms; slower counts as a failure. Default 100. */
  timeoutMs?: number;
  /** While degraded, one probe call goes to Redis at most this often, ms. Default 1000. */
  probeIntervalMs?: number;
  /** Consecutive successful probes before Redis is used again (hysteresis). Default 3. */
  recoverAfterSuccesses?: number;
  /** How many instances share the limits; the fallback enforces limit ÷ this locally. Default 1. */
  expectedInstances?: number;
  /** Most keys of the fallback memory store. Default 100 000. */
  maxKeys?: number;
}

/**
 * Leased mode (opt-in): a key busy enough takes a lease of several units from Redis in one atomic
 * call and serves them in process, so a hot key costs a fraction of a round trip per request.
 * A unit is only ever served after Redis granted it, so the total admitted never exceeds what
 * exact mode admits over the long run; see docs/fleet.md for the bound on bursts.
 */
export interface RedisLeaseOptions {
  /** Lifetime of a lease, ms: unserved units are given back after it. Default 1000. */
  ttlMs?: number;
  /** Most units one lease takes. Default 1000. */
  maxUnits?: number;
  /**
   * Largest share of the quota left (after the request's own cost) that one lease may take, in
   * (0, 1]. The bound on overshoot: each process holds at most this share of a key's capacity.
   * Default 0.01.
   */
  maxShare?: number;
  /** Units a key must be asked for within one `ttlMs` before it leases (cold keys stay exact). Default 8. */
  minRequests?: number;
  /** Most keys in the local lease table (oldest evicted, their units given back). Default 10 000. */
  maxKeys?: number;
}

/** Options of {@link RedisRateLimitStore}. */
export interface RedisRateLimitStoreOptions {
  /**
   * Your ioredis client (standalone or Cluster). Recommended: `enableOfflineQueue: false` and
   * `maxRetriesPerRequest: 1`, so a dead Redis fails fast into the outage policy instead of
   * queueing requests.
   */
  client: Redis | Cluster;
  /** Key prefix. Default `'autom8:rl:'`. Keys are `<prefix>{<policy>:<client key>}:<algorithm>`. */
  prefix?: string;
  outage?: RedisOutageOptions;
  /** Where outage warnings go. Default: the logger of the engine the store is given to, else JSON lines on the console. */
  logger?: Logger;
  /** Clock of the outage guard and the fallback store. Default the system clock. */
  clock?: Clock;
  /**
   * Meter provider of the outage counter. Default: the meter of the engine the store is given to
   * (none when its telemetry is off), else the global provider.
   */
  meterProvider?: MeterProvider;
  /**
   * Lease quota instead of asking Redis on every request (`true` for the defaults). Off by
   * default: exact mode makes one Redis call per request and admits exactly the limit. With it on,
   * an engine or `createRateLimiter` refuses at construction the limits that cannot lease (sliding
   * log, leaky-bucket shaper); see {@link RedisRateLimitStore.unsupported}.
   */
  lease?: boolean | RedisLeaseOptions;
}

/** The algorithms with a lease script, as an error message lists them. */
const LEASING_NAMES = Object.keys(LEASE_SCRIPTS)
  .map((n) => `'${n}'`)
  .join(', ');

type ScriptFn = (key: string, limit: number, windowMs: number, burst: number, cost: number, maxDelayMs: number) => Promise<number[]>;
type LeaseFn = (
  key: string,
  limit: number,
  windowMs: number,
  burst: number,
  cost: number,
  maxDelayMs: number,
  want: number,
  share: number,
  back: number,
  backAt: number,
  ttl: number,
) => Promise<number[]>;

interface LeaseConfig {
  ttlMs: number;
  maxUnits: number;
  maxShare: number;
  minRequests: number;
  maxKeys: number;
}

/**
 * Rate-limit counters in Redis, shared by every instance: one atomic Lua script per algorithm,
 * loaded once and called by SHA (ioredis `defineCommand` reloads it on NOSCRIPT), on Redis's clock,
 * with `{hash-tagged}` keys so Redis Cluster works. Every call runs inside core's
 * {@link OutageGuard}: a time budget, the outage policy, probes with hysteresis on recovery, and a
 * warning, an event and an OTel counter on each transition. It never throws.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  readonly guard: OutageGuard;
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly policy: OutagePolicy;
  private readonly expected: number;
  private readonly fallback: MemoryRateLimitStore;
  private readonly divided = new Map<LimitPolicy, LimitPolicy>();
  private readonly scripts: Record<RateLimitAlgorithm, ScriptFn>;
  private readonly meterProvider: MeterProvider | undefined;
  /** Whether `options.logger` was given (an engine's logger does not replace it). */
  private readonly ownLogger: boolean;
  private host: StoreHost | undefined;
  private readonly clock: Clock;
  /** Leased mode's settings, table and scripts; undefined in exact mode. */
  private readonly lease: LeaseConfig | undefined;
  private readonly leases: LeaseTable | undefined;
  /** Finds hot keys' entries, counts the others without keeping them. */
  private readonly filter: HotFilter | undefined;
  private readonly leaseScripts: Partial<Record<LeasingAlgorithm, LeaseFn>> = {};
  /**
   * Per policy: 0 when it does not lease (its algorithm cannot, or a lease could hold one unit at
   * most), else the seed of its keys' hashes (from its name and algorithm, as its Redis keys).
   */
  private readonly leasing = new Map<LimitPolicy, number>();
  /** Give-back calls in flight (eviction), awaited by close(). */
  private readonly givingBack = new Set<Promise<unknown>>();
  /** The enableOfflineQueue advice, said once through the logger in effect (see attach). */
  private offlineQueueAdvice: boolean;

  constructor(options: RedisRateLimitStoreOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object { client, ... }', options);
    const client = options.client as (Redis | Cluster) | undefined;
    if (client === undefined || client === null || typeof (client as Redis).defineCommand !== 'function') {
      throw new InvalidOptionError('client', 'an ioredis client (new Redis(...) or new Cluster(...))', client);
    }
    this.client = client;
    const prefix = options.prefix ?? 'autom8:rl:';
    if (typeof prefix !== 'string' || prefix.includes('{') || prefix.includes('}')) {
      throw new InvalidOptionError('prefix', 'a string without { or }', prefix);
    }
    this.prefix = prefix;
    const o = options.outage ?? {};
    const policies: OutagePolicy[] = ['fail-open', 'fail-closed', 'fallback'];
    if (o.policy !== undefined && !policies.includes(o.policy))
      throw new InvalidOptionError('outage.policy', "'fail-open', 'fail-closed' or 'fallback'", o.policy);
    this.policy = o.policy ?? 'fallback';
    const num = (name: keyof RedisOutageOptions, dflt: number, integer: boolean): number => {
      const val = o[name];
      if (val === undefined) return dflt;
      if (typeof val !== 'number' || !(val > 0) || !Number.isFinite(val) || (integer && !Number.isInteger(val))) {
        throw new InvalidOptionError(`outage.${name}`, integer ? 'a positive integer' : 'a positive number', val);
      }
      return val;
    };
    this.expected = num('expectedInstances', 1, true);
    this.ownLogger = options.logger !== undefined;
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.guard = new OutageGuard({
      name: 'ratelimit:redis',
      policy: this.policy,
      timeoutMs: num('timeoutMs', 100, false),
      probeIntervalMs: num('probeIntervalMs', 1000, false),
      recoverAfterSuccesses: num('recoverAfterSuccesses', 3, true),
      clock,
      logger: options.logger ?? consoleLogger,
      // Asked at the first transition, when the store knows its engine.
      onTransition: countStoreTransitions(() => this.meter(), 'ratelimit:redis', this.policy),
    });
    this.fallback = new MemoryRateLimitStore({ maxKeys: num('maxKeys', 100_000, true), clock }, 'outage');
    this.meterProvider = options.meterProvider;

    const opts = (client as Redis).options as { enableOfflineQueue?: boolean } | undefined;
    this.offlineQueueAdvice = opts !== undefined && opts.enableOfflineQueue !== false;
    // With its own logger the store says it now; else once it knows its engine's (or at its first use).
    if (this.ownLogger) this.adviseOnce();

    const scripts = {} as Record<RateLimitAlgorithm, ScriptFn>;
    for (const name of Object.keys(RATE_LIMIT_SCRIPTS) as RateLimitAlgorithm[]) {
      const { command, lua } = RATE_LIMIT_SCRIPTS[name];
      if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') client.defineCommand(command, { numberOfKeys: 1, lua });
      const fn = (client as unknown as Record<string, ScriptFn>)[command]!;
      scripts[name] = fn.bind(client);
    }
    this.scripts = scripts;

    this.lease = leaseConfig(options.lease);
    if (this.lease !== undefined) {
      for (const name of Object.keys(LEASE_SCRIPTS) as LeasingAlgorithm[]) {
        const { command, lua } = LEASE_SCRIPTS[name];
        if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') client.defineCommand(command, { numberOfKeys: 1, lua });
        this.leaseScripts[name] = (client as unknown as Record<string, LeaseFn>)[command]!.bind(client);
      }
      this.leases = new LeaseTable(this.lease.maxKeys, (key, e) => this.giveBack(key, e));
      this.filter = new HotFilter(this.lease.maxKeys, this.lease.ttlMs, this.lease.minRequests);
    }
  }

  /** Whether this store leases (`options.lease`). */
  get leased(): boolean {
    return this.lease !== undefined;
  }

  /** Keys in the local lease table (0 in exact mode). */
  get leaseKeys(): number {
    return this.leases === undefined ? 0 : this.leases.size;
  }

  /**
   * In leased mode, refuses the limits that cannot lease: the sliding log (one timestamp per
   * request) and the leaky-bucket shaper (one delay per request). Core asks it when an engine or
   * `createRateLimiter` builds its limits, so such a limit fails at construction instead of being
   * served exactly without a word. Exact mode serves every limit.
   */
  unsupported(policy: LimitPolicy): UnsupportedLimit | undefined {
    if (this.lease === undefined) return undefined;
    if (policy.algorithm === 'sliding-log') {
      return { option: 'algorithm', expected: `one that can lease (${LEASING_NAMES}) when the RedisRateLimitStore has lease on; or a store without lease` };
    }
    if (policy.algorithm === 'leaky-bucket' && (policy.maxDelayMs ?? 0) > 0) {
      return { option: 'maxDelayMs', expected: '0 when the RedisRateLimitStore has lease on (the leaky-bucket shaper cannot lease); or a store without lease' };
    }
    return undefined;
  }

  /**
   * Whether `policy` leases in this store: its algorithm has a lease script (not the sliding log,
   * not the leaky-bucket shaper, which {@link unsupported} refuses at construction) and a lease may
   * hold more than one unit (`maxShare` × capacity ≥ 2); the others are served exactly, as without
   * `lease`.
   */
  canLease(policy: LimitPolicy): boolean {
    return this.seedOf(policy) !== 0;
  }

  /** See {@link leasing}. */
  private seedOf(policy: LimitPolicy): number {
    let v = this.leasing.get(policy);
    if (v === undefined) {
      const l = this.lease;
      const capacity = policy.algorithm === 'fixed-window' || policy.algorithm === 'sliding-window' ? policy.limit : policy.burst;
      const leases =
        l !== undefined &&
        policy.algorithm !== 'sliding-log' &&
        !(policy.algorithm === 'leaky-bucket' && (policy.maxDelayMs ?? 0) > 0) &&
        Math.floor(l.maxShare * capacity) >= 2 &&
        l.maxUnits >= 2;
      v = leases ? hashKey(`${policy.name}:${policy.algorithm}`, 0x811c9dc5) : 0;
      this.leasing.set(policy, v);
    }
    return v;
  }

  /**
   * The Redis key of a client key under a policy: hash-tagged, so one slot holds it. The algorithm
   * is part of the key (outside the tag, so it does not move the slot): each algorithm keeps state
   * of its own type and fields, and a policy whose algorithm changes starts afresh instead of
   * reading the old state (or failing with WRONGTYPE until it expires).
   */
  keyOf(key: string, policy: LimitPolicy): string {
    return `${this.prefix}{${policy.name}:${key}}:${policy.algorithm}`;
  }

  /**
   * Takes the engine's logger (unless `options.logger` was given) and its meter (unless
   * `options.meterProvider` was given). Called by the engine; the first engine wins.
   */
  attach(host: StoreHost): void {
    if (this.host !== undefined) return;
    this.host = host;
    if (!this.ownLogger) this.guard.options.logger = host.logger;
    this.adviseOnce();
  }

  private meter(): Meter | undefined {
    if (this.meterProvider !== undefined) return this.meterProvider.getMeter('@autom8/redis', VERSION);
    if (this.host !== undefined) return this.host.meter();
    return metrics.getMeterProvider().getMeter('@autom8/redis', VERSION);
  }

  private adviseOnce(): void {
    if (!this.offlineQueueAdvice) return;
    this.offlineQueueAdvice = false;
    this.guard.options.logger.warn(
      { store: 'ratelimit:redis' },
      'autom8: the Redis client queues commands while disconnected (enableOfflineQueue); set enableOfflineQueue: false so an outage fails fast into the outage policy',
    );
  }

  consume(key: string, policy: LimitPolicy, cost: number): ConsumeResult | Promise<ConsumeResult> {
    if (this.filter !== undefined) {
      const seed = this.seedOf(policy);
      if (seed !== 0) return this.consumeLeased(key, policy, cost, seed);
    }
    return this.consumeExact(key, policy, cost);
  }

  private async consumeExact(key: string, policy: LimitPolicy, cost: number): Promise<ConsumeResult> {
    if (this.offlineQueueAdvice) this.adviseOnce();
    const reply = await this.guard.run(() => this.call(key, policy, cost));
    if (reply !== STORE_UNAVAILABLE) return toResult(reply);
    return this.unavailable(key, policy, cost);
  }

  /** The outage policy's answer while Redis cannot be asked. */
  private unavailable(key: string, policy: LimitPolicy, cost: number): ConsumeResult {
    switch (this.policy) {
      case 'fail-open':
        return { allowed: true, remaining: policy.limit, limit: policy.limit, resetMs: 0, retryAfterMs: 0, delayMs: 0 };
      case 'fail-closed': {
        const wait = this.guard.options.probeIntervalMs;
        return { allowed: false, remaining: 0, limit: policy.limit, resetMs: wait, retryAfterMs: wait, delayMs: 0 };
      }
      default:
        return this.fallback.consume(key, this.dividedOf(policy), cost);
    }
  }

  /**
   * Leased mode: a hot key serves from its lease when it holds the units (synchronously, no Redis),
   * else repeats a cached refusal, else asks Redis for a lease. A cold key is counted in the
   * {@link HotFilter} (no allocation) and asks Redis exactly as exact mode does, until it turns hot.
   */
  private consumeLeased(key: string, policy: LimitPolicy, cost: number, seed: number): ConsumeResult | Promise<ConsumeResult> {
    const hash = hashKey(key, seed);
    const f = this.filter!;
    const now = this.clock.now();
    let e = f.find(hash, key, policy);
    if (e !== undefined) {
      const r = e.take(cost, now) ?? e.refusal(cost, now);
      if (r !== undefined) return r;
      return this.ask(key, this.keyOf(key, policy), e, policy, cost);
    }
    if (!f.count(hash, cost, now)) return this.consumeExact(key, policy, cost);
    // Hot: its entry starts with the rate sample the filter took (ask counts this request's cost).
    e = new LeaseEntry(key, hash, policy, f.sampleSince, f.sampleUsed - cost);
    if (!f.place(e)) return this.consumeExact(key, policy, cost); // both slots of its bucket taken
    const rk = this.keyOf(key, policy);
    this.leases!.add(rk, e);
    return this.ask(key, rk, e, policy, cost);
  }

  /**
   * The Redis call of a hot key. It has one lease call in flight at a time: concurrent requests for
   * it wait for that call and serve from its lease, or ask again.
   */
  private async ask(key: string, rk: string, e: LeaseEntry, policy: LimitPolicy, cost: number): Promise<ConsumeResult> {
    const l = this.lease!;
    if (this.offlineQueueAdvice) this.adviseOnce();
    for (;;) {
      if (e.pending !== undefined) {
        await e.pending;
        const now = this.clock.now();
        const r = e.take(cost, now) ?? e.refusal(cost, now);
        if (r !== undefined) return r;
        if (e.evicted) return this.consumeExact(key, policy, cost);
        if (e.pending !== undefined) continue;
      }
      const now = this.clock.now();
      // The rate sample: units asked for since the lease (or the filter's sample) began.
      e.used += cost;
      const elapsed = now - e.since;
      const want = Math.max(cost, Math.min(l.maxUnits, Math.ceil((e.used * l.ttlMs) / Math.max(elapsed, 1))));
      // Unserved units of an expired (or too small) lease go back in the same call.
      const back = e.units;
      const backAt = e.redisAt;
      e.units = 0;
      const call = this.guard.run(() =>
        this.leaseScripts[policy.algorithm as LeasingAlgorithm]!(
          rk,
          policy.limit,
          policy.windowMs,
          policy.burst,
          cost,
          policy.maxDelayMs ?? 0,
          want,
          l.maxShare,
          back,
          backAt,
          l.ttlMs,
        ),
      );
      e.pending = call;
      let reply: number[] | typeof STORE_UNAVAILABLE;
      try {
        reply = await call;
      } finally {
        e.pending = undefined;
      }
      if (reply === STORE_UNAVAILABLE) return this.unavailable(key, policy, cost);
      const r = toResult(reply);
      e.remaining = r.remaining;
      e.limit = r.limit;
      e.resetMs = r.resetMs;
      if (r.allowed) {
        e.units = reply[6]! - cost;
        e.expiresAt = now + reply[7]!;
        e.redisAt = reply[8]!;
        e.since = now;
        e.used = 0;
        e.deniedUntil = 0;
        if (!e.evicted) this.leases!.touch(rk, e);
        else if (e.units > 0) this.giveBack(rk, e); // evicted while asking: nothing may serve these
        // Remaining as the fleet sees it: the units this lease holds are not spent yet.
        r.remaining += e.units;
      } else {
        // A refusal holds until a retry could succeed (at most one lease lifetime): nothing is admitted by it.
        e.deniedUntil = now + Math.min(r.retryAfterMs, l.ttlMs);
        e.deniedCost = cost;
      }
      return r;
    }
  }

  /** Gives an evicted entry's unserved units back to Redis, in the background. */
  private giveBack(rk: string, e: LeaseEntry): void {
    const units = e.units;
    e.units = 0;
    const p = this.returnUnits(rk, e.policy, units, e.redisAt);
    this.givingBack.add(p);
    void p.finally(() => this.givingBack.delete(p));
  }

  /** One give-back call (cost 0, want 0): never rejects. */
  private returnUnits(rk: string, policy: LimitPolicy, units: number, redisAt: number): Promise<unknown> {
    return this.guard
      .run(() => this.leaseScripts[policy.algorithm as LeasingAlgorithm]!(rk, policy.limit, policy.windowMs, policy.burst, 0, 0, 0, 0, units, redisAt, 0))
      .catch(() => undefined);
  }

  /** Runs the algorithm's script; exposed for pipelined use (`client.pipeline()` has the same commands). */
  call(key: string, policy: LimitPolicy, cost: number): Promise<number[]> {
    return this.scripts[policy.algorithm](this.keyOf(key, policy), policy.limit, policy.windowMs, policy.burst, cost, policy.maxDelayMs ?? 0);
  }

  async reset(key: string, policy: LimitPolicy): Promise<void> {
    this.fallback.reset(key, policy);
    this.leases?.delete(this.keyOf(key, policy)); // its lease must not outlive the key
    await this.guard.run(() => this.client.del(this.keyOf(key, policy)));
  }

  /**
   * Outage figures for `/metrics` (under `features.rateLimit.storeStatus`); in leased mode also the
   * keys in the lease table and the leased units not yet served (what this process could still
   * admit without asking Redis: its share of the overshoot bound).
   */
  snapshot(): ReturnType<OutageGuard['snapshot']> & { fallbackKeys: number; leaseKeys: number; leasedUnits: number } {
    return { ...this.guard.snapshot(), fallbackKeys: this.fallback.size, leaseKeys: this.leaseKeys, leasedUnits: this.leases?.units() ?? 0 };
  }

  /**
   * Clears the fallback and, in leased mode, gives every unserved leased unit back to Redis
   * (await it before you disconnect the client). The client is yours: it is not closed.
   */
  async close(): Promise<void> {
    this.fallback.clear();
    if (this.leases === undefined) return;
    const calls: Promise<unknown>[] = [...this.givingBack];
    this.filter!.clear();
    for (const [rk, e] of this.leases.drain()) {
      if (e.units > 0) calls.push(this.returnUnits(rk, e.policy, e.units, e.redisAt));
      e.units = 0;
    }
    await Promise.all(calls);
  }

  private dividedOf(policy: LimitPolicy): LimitPolicy {
    let p = this.divided.get(policy);
    if (p === undefined) this.divided.set(policy, (p = dividePolicy(policy, this.expected)));
    return p;
  }
}

function leaseConfig(o: boolean | RedisLeaseOptions | undefined): LeaseConfig | undefined {
  if (o === undefined || o === false) return undefined;
  if (o !== true && (o === null || typeof o !== 'object')) throw new InvalidOptionError('lease', 'a boolean or an object { ttlMs, maxUnits, ... }', o);
  const given: RedisLeaseOptions = o === true ? {} : o;
  const num = (name: keyof RedisLeaseOptions, dflt: number, integer: boolean, max = Infinity): number => {
    const val = given[name];
    if (val === undefined) return dflt;
    if (typeof val !== 'number' || !(val > 0) || !(val <= max) || !Number.isFinite(val) || (integer && !Number.isInteger(val))) {
      throw new InvalidOptionError(`lease.${name}`, max === 1 ? 'a number in (0, 1]' : integer ? 'a positive integer' : 'a positive number', val);
    }
    return val;
  };
  return {
    ttlMs: num('ttlMs', 1000, false),
    maxUnits: num('maxUnits', 1000, true),
    maxShare: num('maxShare', 0.01, false, 1),
    minRequests: num('minRequests', 8, true),
    maxKeys: num('maxKeys', 10_000, true),
  };
}

function toResult(r: number[]): ConsumeResult {
  const retry = r[4]!;
  return { allowed: r[0] === 1, remaining: r[1]!, limit: r[2]!, resetMs: r[3]!, retryAfterMs: retry < 0 ? Infinity : retry, delayMs: r[5]! };
}

/** Creates a {@link RedisRateLimitStore}; validates options and throws naming a bad one. */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  return new RedisRateLimitStore(options);
}
