import type { IncomingMessage, ServerResponse } from 'node:http';
import { ResponseCache, type InvalidateResult, type InvalidateTarget } from '../cache/cache-feature.js';
import type { MetricAttributes } from '../metrics/custom-metrics.js';
import type { RouteQuery } from '../monitoring/route-selection.js';
import { Autom8 } from './autom8.js';
import type { Autom8Options } from '../options.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';

/** Where the engine behind a controls object (or a middleware carrying them) is kept: off the public surface. */
export const ENGINE: unique symbol = Symbol('autom8.engine');

/** The response cache's runtime controls (`mw.cache`). */
export interface CacheControls {
  /** True when the `cache` option turned the response cache on; without it, invalidations remove nothing. */
  readonly enabled: boolean;
  /**
   * Removes cached responses, locally and in the shared tier (other instances hear of it through the
   * store's broadcast): `{ key: '/products/1?lang=en' }` (one path and query, all its Vary
   * variants), `{ prefix: '/products/' }` or `{ tag: 'product:1' }`. Rejects with a TypeError for
   * any other target.
   */
  invalidate(target: InvalidateTarget): Promise<InvalidateResult>;
}

/**
 * autom8's runtime controls: what `autom8Express()` and `autom8Koa()` return carries these, and
 * {@link createAutom8} returns them alone for a process without a web framework (a worker).
 */
export interface Autom8Controls {
  /**
   * Everything `GET {prefix}/metrics` shows, as an object: every route, or with `routes` one page of
   * them (busiest first) and a `routeSelection` saying what was left out.
   */
  metrics(routes?: RouteQuery): MetricsSnapshot;
  /** Records a custom duration (nanoseconds), e.g. of a downstream call; shown under `custom.latency`. */
  recordLatency(name: string, durationNs: number, attributes?: MetricAttributes): void;
  /** Records `count` custom events (throughput); shown under `custom.throughput`. */
  recordThroughput(name: string, count: number, attributes?: MetricAttributes): void;
  /**
   * A node request handler serving only the monitoring endpoints, for a listener of their own:
   * `http.createServer(mw.monitoringHandler()).listen(9464)`, with `monitoring.serveOnApp: false`.
   */
  monitoringHandler(): (req: IncomingMessage, res: ServerResponse) => void;
  /** The response cache: invalidation by key, prefix or tag. */
  readonly cache: CacheControls;
  /** Stops autom8's timers and closes its stores and features. Idempotent. */
  close(): Promise<void>;
}

const NO_CACHE: CacheControls = Object.freeze({
  enabled: false,
  invalidate(target: InvalidateTarget): Promise<InvalidateResult> {
    const ok = target !== null && typeof target === 'object' && ('key' in target || 'prefix' in target || 'tag' in target);
    return ok ? Promise.resolve({ local: 0, shared: null }) : Promise.reject(new TypeError('autom8: invalidate() expects { key }, { prefix } or { tag }'));
  },
});

const byEngine = new WeakMap<Autom8, Autom8Controls>();

/** The runtime controls of `engine`: one frozen object per engine, holding no engine state of its own. */
export function controlsOf(engine: Autom8): Autom8Controls {
  let c = byEngine.get(engine);
  if (c !== undefined) return c;
  const cacheFeature = engine.feature('cache');
  const cache: CacheControls =
    cacheFeature instanceof ResponseCache
      ? Object.freeze({ enabled: true, invalidate: (target: InvalidateTarget) => cacheFeature.invalidate(target) })
      : NO_CACHE;
  c = Object.freeze({
    metrics: (routes?: RouteQuery) => engine.metricsSnapshot(routes),
    recordLatency: (name: string, durationNs: number, attributes?: MetricAttributes) => engine.recordLatency(name, durationNs, attributes),
    recordThroughput: (name: string, count: number, attributes?: MetricAttributes) => engine.recordThroughput(name, count, attributes),
    monitoringHandler: () => engine.monitoringHandler(),
    cache,
    close: () => engine.close(),
    [ENGINE]: engine,
  });
  byEngine.set(engine, c);
  return c;
}

/**
 * For adapters: puts the engine's runtime controls ({@link Autom8Controls}) on the middleware the
 * adapter returns, as read-only properties, with the engine itself behind a symbol (so
 * `createCircuitBreaker(name, { engine: mw })` finds it). Returns the same function, typed.
 */
export function attachControls<M extends object>(middleware: M, engine: Autom8): M & Autom8Controls {
  const c = controlsOf(engine);
  // The controls are arrow functions over the engine (no `this`): copied as they are.
  for (const key of Object.keys(c)) Object.defineProperty(middleware, key, { value: (c as unknown as Record<string, unknown>)[key], enumerable: true });
  Object.defineProperty(middleware, ENGINE, { value: engine });
  return middleware as M & Autom8Controls;
}

/**
 * For adapters and tests: the engine behind a middleware or controls object made by
 * {@link attachControls} / {@link controlsOf}, or undefined for anything else.
 */
export function engineOf(x: unknown): Autom8 | undefined {
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return undefined;
  return (x as { [ENGINE]?: Autom8 })[ENGINE];
}

/**
 * autom8 without a web framework (a worker, a queue consumer): custom metrics, the monitoring
 * endpoints on a listener of their own, and `close()`. Validates `options` (throws naming a bad
 * option). With Express or Koa, use `autom8Express()` / `autom8Koa()`: what they return has the
 * same controls.
 *
 * @example
 * ```ts
 * const autom8 = createAutom8({ name: 'worker' });
 * autom8.recordLatency('db.query', 2_500_000, { table: 'users' }); // nanoseconds
 * http.createServer(autom8.monitoringHandler()).listen(9464); // GET /api/v1/metrics
 * ```
 */
export function createAutom8(options?: Autom8Options): Autom8Controls {
  return controlsOf(new Autom8(options));
}
