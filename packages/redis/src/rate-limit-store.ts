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
} from '@autom8/core/store';
import type { Cluster, Redis } from 'ioredis';
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
}

type ScriptFn = (key: string, limit: number, windowMs: number, burst: number, cost: number, maxDelayMs: number) => Promise<number[]>;

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

  async consume(key: string, policy: LimitPolicy, cost: number): Promise<ConsumeResult> {
    if (this.offlineQueueAdvice) this.adviseOnce();
    const reply = await this.guard.run(() => this.call(key, policy, cost));
    if (reply !== STORE_UNAVAILABLE) return toResult(reply);
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

  /** Runs the algorithm's script; exposed for pipelined use (`client.pipeline()` has the same commands). */
  call(key: string, policy: LimitPolicy, cost: number): Promise<number[]> {
    return this.scripts[policy.algorithm](this.keyOf(key, policy), policy.limit, policy.windowMs, policy.burst, cost, policy.maxDelayMs ?? 0);
  }

  async reset(key: string, policy: LimitPolicy): Promise<void> {
    this.fallback.reset(key, policy);
    await this.guard.run(() => this.client.del(this.keyOf(key, policy)));
  }

  /** Outage figures for `/metrics` (under `features.rateLimit.storeStatus`). */
  snapshot(): ReturnType<OutageGuard['snapshot']> & { fallbackKeys: number } {
    return { ...this.guard.snapshot(), fallbackKeys: this.fallback.size };
  }

  /** Clears the fallback. The client is yours: it is not closed. */
  close(): void {
    this.fallback.clear();
  }

  private dividedOf(policy: LimitPolicy): LimitPolicy {
    let p = this.divided.get(policy);
    if (p === undefined) this.divided.set(policy, (p = dividePolicy(policy, this.expected)));
    return p;
  }
}

function toResult(r: number[]): ConsumeResult {
  const retry = r[4]!;
  return { allowed: r[0] === 1, remaining: r[1]!, limit: r[2]!, resetMs: r[3]!, retryAfterMs: retry < 0 ? Infinity : retry, delayMs: r[5]! };
}

/** Creates a {@link RedisRateLimitStore}; validates options and throws naming a bad one. */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  return new RedisRateLimitStore(options);
}
