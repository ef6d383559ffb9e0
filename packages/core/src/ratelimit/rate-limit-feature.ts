import type { Attributes } from '@opentelemetry/api';
import { channelOf, publish } from '../events/events.js';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import { Stage, type Feature } from '../pipeline/feature.js';
import type { Reply } from '../pipeline/request-view.js';
import { RouteTable } from '../routing/route-table.js';
import { isPromise, type ConsumeResult, type RateLimitStore } from '../store/contracts.js';
import { HeaderSet } from './headers.js';
import { ObservedCounter, RouteTallies } from '../telemetry/observed-counter.js';
import { resolveRateLimitOptions, type ResolvedEntry, type ResolvedRateLimit } from './rate-limit-options.js';

/** Decision outcomes, as counted and as the OTel attribute `autom8.ratelimit.outcome`. */
type Outcome = 'allowed' | 'limited' | 'dry_run_limited';
const OUTCOMES: readonly Outcome[] = ['allowed', 'limited', 'dry_run_limited'];

/** Per-limiter figures for `/metrics`. */
interface LimiterStats {
  algorithm: string;
  rate: number;
  perMs: number;
  burst: number;
  route: string | undefined;
  allowed: number;
  limited: number;
  dryRunLimited: number;
}

/** An entry with everything per-request work needs, built once. */
interface Plan extends ResolvedEntry {
  readonly headers: HeaderSet;
  /** False when no header field is sent (`headers: false`): the response is then not touched. */
  readonly writesHeaders: boolean;
  /**
   * The results of a request whose limits the store answers synchronously (the memory store's
   * case): reused, as nothing keeps them past the decision; a request that waits for the store
   * gets an array of its own.
   */
  readonly scratch: (ConsumeResult | undefined)[];
  readonly stats: LimiterStats[];
  /** Per limit: the 429 body up to the retry-after value. */
  readonly bodyPrefix: string[];
}

const DRY_RUN_LOG_INTERVAL_MS = 1000;
const limitedChannel = channelOf('ratelimit.limited');

/**
 * The rate-limit stage: per-client limits at request start, global and per route, with the
 * RateLimit header fields on every response, a 429 problem+json when a limit says no, and a dry
 * run that only counts. Exempt requests never get here (the engine skips them).
 */
export class RateLimitFeature implements Feature {
  readonly name = 'rateLimit';
  readonly stage = Stage.RATE_LIMIT;
  private readonly config: ResolvedRateLimit;
  private readonly store: RateLimitStore;
  private readonly table: RouteTable<Plan> | undefined;
  private readonly fallback: Plan;
  private readonly stats = new Map<string, LimiterStats>();
  private counter: ObservedCounter | undefined;
  /** Decision tallies per limiter (then per route and outcome). */
  private readonly tallies = new Map<string, RouteTallies>();
  private lastDryRunLog = 0;
  private dryRunSinceLog = 0;
  private storeErrors = 0;
  private skipFailures = 0;

  constructor(
    private readonly engine: FeatureHost,
    config: ResolvedRateLimit,
  ) {
    this.config = config;
    this.store = config.store;
    this.store.attach?.(engine.storeHost());
    this.fallback = this.plan(config.fallback);
    if (config.routes.length > 0) {
      const table = (this.table = new RouteTable<Plan>());
      for (const r of config.routes) table.add(r.pattern, this.plan(r.entry), `rateLimit.routes[${JSON.stringify(r.pattern)}]`);
    }
  }

  private plan(entry: ResolvedEntry): Plan {
    const stats = entry.limits.map((l) => {
      let s = this.stats.get(l.policy.name);
      if (s === undefined) {
        const p = l.policy;
        s = { algorithm: p.algorithm, rate: p.limit, perMs: p.windowMs, burst: p.burst, route: l.route, allowed: 0, limited: 0, dryRunLimited: 0 };
        this.stats.set(p.name, s);
      }
      return s;
    });
    const bodyPrefix = entry.limits.map((l) => {
      const name = JSON.stringify(l.policy.name);
      return `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":${JSON.stringify(`Rate limit ${name} exceeded.`)},"policy":${name},"retryAfter":`;
    });
    const headers = new HeaderSet(
      this.config.headers,
      entry.limits.map((l) => l.policy),
    );
    return {
      ...entry,
      headers,
      writesHeaders: !headers.empty,
      scratch: new Array<ConsumeResult | undefined>(entry.limits.length).fill(undefined),
      stats,
      bodyPrefix,
    };
  }

  // A `skip` hook that throws does not exempt the request (an attacker must not earn a pass by
  // making it throw) and does not fail it either: it is counted like any other.
  private skips(ex: Exchange): boolean {
    try {
      return this.config.skip!(ex) === true;
    } catch (err) {
      if (this.skipFailures++ === 0) this.engine.logger.warn({ err: String(err) }, 'autom8: rateLimit.skip threw; the request is counted');
      return false;
    }
  }

  onRequest(ex: Exchange): Reply | undefined | Promise<Reply | undefined> {
    if (this.config.skip !== undefined && this.skips(ex)) return undefined;
    const plan = this.table === undefined ? this.fallback : (this.table.lookup(ex) ?? this.fallback);
    const n = plan.limits.length;
    if (n === 0) return undefined;
    const key = this.config.keyOf(ex);
    const results = plan.scratch;
    for (let i = 0; i < n; i++) results[i] = undefined;
    return this.consumeFrom(ex, plan, key, results, 0);
  }

  private consumeFrom(
    ex: Exchange,
    plan: Plan,
    key: string,
    scratchOrOwn: (ConsumeResult | undefined)[],
    from: number,
  ): Reply | undefined | Promise<Reply | undefined> {
    let results = scratchOrOwn;
    const limits = plan.limits;
    for (let i = from; i < limits.length; i++) {
      let r: ConsumeResult | Promise<ConsumeResult>;
      try {
        r = this.store.consume(key, limits[i]!.policy, plan.cost);
      } catch (err) {
        this.storeFailed(err);
        continue;
      }
      if (isPromise(r)) {
        // The request waits: its results leave the shared scratch array for one of their own.
        if (results === plan.scratch) results = results.slice();
        const own = results;
        return r.then(
          (value) => {
            own[i] = value;
            return value.allowed || this.config.dryRun ? this.consumeFrom(ex, plan, key, own, i + 1) : this.decide(ex, plan, key, own);
          },
          (err: unknown) => {
            this.storeFailed(err);
            return this.consumeFrom(ex, plan, key, own, i + 1);
          },
        );
      }
      results[i] = r;
      // A refusal stops here: the limits after it are not charged for a request that is not served.
      if (!r.allowed && !this.config.dryRun) break;
    }
    return this.decide(ex, plan, key, results);
  }

  private decide(ex: Exchange, plan: Plan, key: string, results: (ConsumeResult | undefined)[]): Reply | undefined | Promise<Reply | undefined> {
    let denied = -1;
    let delay = 0;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r === undefined) continue;
      const stats = plan.stats[i]!;
      if (r.allowed) {
        stats.allowed++;
        if (r.delayMs !== undefined && r.delayMs > delay) delay = r.delayMs;
        this.count(ex, i, plan, 0);
      } else {
        if (denied === -1) denied = i;
        if (this.config.dryRun) stats.dryRunLimited++;
        else stats.limited++;
        this.count(ex, i, plan, this.config.dryRun ? 2 : 1);
        if (limitedChannel.hasSubscribers) {
          publish('ratelimit.limited', this.engine.name, {
            limiter: plan.limits[i]!.policy.name,
            key,
            route: plan.limits[i]!.route,
            dryRun: this.config.dryRun,
            retryAfterMs: r.retryAfterMs,
          });
        }
      }
    }
    if (this.config.dryRun) {
      // Nothing changes for the client: no headers, no delay, no 429.
      if (denied !== -1) this.logDryRun(plan, denied, key);
      return undefined;
    }
    // The clock only for the legacy reset header (epoch seconds); the others are relative.
    const now = plan.headers.needsClock ? this.engine.clock.now() : 0;
    if (denied === -1) {
      if (plan.writesHeaders) plan.headers.write(results, now, ex.res);
      if (delay > 0) return new Promise((resolve) => setTimeout(resolve, delay, undefined));
      return undefined;
    }
    const r = results[denied]!;
    const retrySec = Math.max(1, Math.ceil((Number.isFinite(r.retryAfterMs) ? r.retryAfterMs : r.resetMs) / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'retry-after': String(retrySec) };
    plan.headers.write(results, now, {
      setHeader(name: string, value: string) {
        headers[name] = value;
      },
    });
    return { status: 429, headers, body: `${plan.bodyPrefix[denied]}${retrySec}}` };
  }

  /** Adds one to the OTel decision counter (limiter, route, outcome). */
  private count(ex: Exchange, i: number, plan: Plan, outcome: number): void {
    const meter = this.counter === undefined ? this.engine.meter() : undefined;
    if (this.counter === undefined && meter === undefined) return;
    const counter = (this.counter ??= new ObservedCounter(meter!, 'autom8.ratelimit.decisions', {
      description: 'Rate-limit decisions, by limiter, route and outcome.',
      unit: '{decision}',
    }));
    const limit = plan.limits[i]!;
    const limiter = limit.policy.name;
    let byRoute = this.tallies.get(limiter);
    if (byRoute === undefined) {
      // Bounded: limiters × known routes (configured or learned, capped by metrics.maxSeries), and
      // RouteTallies' own cap.
      byRoute = new RouteTallies(counter, (route) =>
        OUTCOMES.map((o) => {
          const a: Attributes = { 'autom8.ratelimit.limiter': limiter, 'autom8.ratelimit.outcome': o };
          if (route !== '') a['http.route'] = route;
          return a;
        }),
      );
      this.tallies.set(limiter, byRoute);
    }
    // The route attribute: the per-route limit's pattern, else the configured/learned template.
    const tallies = byRoute.of(limit.route ?? this.engine.knownRoute(ex) ?? '');
    tallies[outcome]!.n++;
  }

  private logDryRun(plan: Plan, i: number, key: string): void {
    this.dryRunSinceLog++;
    const now = this.engine.clock.now();
    if (now - this.lastDryRunLog < DRY_RUN_LOG_INTERVAL_MS) return;
    this.lastDryRunLog = now;
    const limiter = plan.limits[i]!.policy.name;
    this.engine.logger.info(
      { feature: 'rateLimit', dryRun: true, limiter, key, wouldHaveLimited: this.dryRunSinceLog },
      `autom8: rate limit dry run: ${this.dryRunSinceLog} request(s) would have been limited (last: "${limiter}")`,
    );
    this.dryRunSinceLog = 0;
  }

  private storeFailed(err: unknown): void {
    // A store that throws is a bug or an unguarded outage: let the request through and say so.
    if (this.storeErrors++ % 1000 === 0) {
      this.engine.logger.error({ feature: 'rateLimit', store: this.store.kind, err: String(err) }, 'autom8: rate-limit store failed; request allowed');
    }
  }

  snapshot(): unknown {
    const limiters: Record<string, LimiterStats> = {};
    for (const [name, s] of this.stats) limiters[name] = { ...s };
    const storeSnap = (this.store as { snapshot?: () => unknown }).snapshot;
    const size = (this.store as { size?: unknown }).size;
    return {
      dryRun: this.config.dryRun,
      store: this.store.kind,
      keys: typeof size === 'number' ? size : undefined,
      storeErrors: this.storeErrors,
      storeStatus: typeof storeSnap === 'function' ? storeSnap.call(this.store) : undefined,
      limiters,
    };
  }

  async close(): Promise<void> {
    if (this.config.ownsStore) await this.store.close?.();
  }
}

/** The `rateLimit` feature factory registered in core's feature list. */
export function createRateLimitFeature(section: unknown, engine: FeatureHost): Feature | undefined {
  const config = resolveRateLimitOptions(section, engine);
  return config === undefined ? undefined : new RateLimitFeature(engine, config);
}
