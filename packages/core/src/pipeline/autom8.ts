import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, type Meter } from '@opentelemetry/api';
import { ExemptRule } from '../exempt/exempt-rule.js';
import { FEATURES } from '../features.js';
import { CustomMetrics, type MetricAttributes } from '../metrics/custom-metrics.js';
import { RouteMetrics } from '../metrics/route-metrics.js';
import { WindowedSeries, type WindowSpec } from '../metrics/windowed-series.js';
import { metricsEndpoint } from '../monitoring/metrics-endpoint.js';
import { monitoringListener } from '../monitoring/monitoring-listener.js';
import { MonitoringRoutes, type MonitoringEndpointOptions, type MonitoringHandler } from '../monitoring/monitoring-routes.js';
import { selectRoutes, type RouteQuery } from '../monitoring/route-selection.js';
import { resolveOptions, type Autom8Options, type ResolvedOptions } from '../options.js';
import { normalizeMethod } from '../routing/http-method.js';
import { RouteTable } from '../routing/route-table.js';
import { DEFAULT_ROUTE_MATCHING, type RouteMatching } from '../routing/request-target.js';
import { SystemMetrics, type SystemSnapshot } from '../system/system-metrics.js';
import { HttpTelemetry } from '../telemetry/http-telemetry.js';
import { ObservedCounter, type Tally } from '../telemetry/observed-counter.js';
import { compileTrustProxy, type ClientAddressResolver } from './client-address.js';
import { Exchange, ExchangeSlot } from './exchange.js';
import type { StoreHost } from '../store/contracts.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Feature } from './feature.js';
import type { FeatureHost } from './feature-host.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';
import type { Reply, RequestView, ResponseView } from './request-view.js';

/**
 * The per-request pipeline, framework-agnostic. An adapter drives it in three calls:
 * 1. `begin(req, res, url)` at request start → an {@link Exchange};
 * 2. `admit(ex)` → a {@link Reply} to send instead of calling the app, or undefined to go on
 *    (exempt? → shed? → rate limited? → cache hit?; a Promise only when a store does I/O);
 * 3. `ex.setRoute(template)` when the router matched (or `ex.lateRoute`, asked once at the end).
 * The end of the response is seen by core itself (the response's 'close' event): metrics, span end
 * and every feature's `onResponse` run there, once.
 *
 * It is also the {@link FeatureHost} its features are built with.
 */
export class Autom8 implements FeatureHost {
  readonly options: ResolvedOptions;
  readonly name: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly windows: readonly WindowSpec[];
  readonly monitoringPrefix: string | undefined;
  readonly exemptRule: ExemptRule;
  readonly monitoring: MonitoringRoutes;
  readonly routeMetrics: RouteMetrics;
  readonly customMetrics: CustomMetrics;
  readonly system: SystemMetrics;
  readonly telemetry: HttpTelemetry | undefined;
  /** All requests together (the `totals` of the metrics JSON); read by the dashboard's history. */
  readonly allRoutes: WindowedSeries;
  private readonly knownRoutes = new RouteTable<string>();
  private readonly features: Feature[] = [];
  private readonly closeHooks: (() => void)[] = [];
  private readonly requestStages: Feature[] = [];
  private readonly responseHooks: Feature[] = [];
  private readonly clientAddressOf: ClientAddressResolver;
  /** Requests whose X-Forwarded-For had an unusable hop where the trustProxy rule read it. */
  private invalidForwardedFor = 0;
  private invalidForwardedForTally: Tally | undefined;
  private readonly startedAt: number;
  /** Requests begun and not yet ended. */
  inFlight = 0;
  /**
   * The status a response has before the app sets one: node's 200, or what the adapter's framework
   * sets (Koa: 404). A client that leaves before the response finished while it still has this
   * status is counted as 499.
   */
  defaultResponseStatus = 200;
  private routing_: RouteMatching;
  /** True once `routing` was given in the options: the app's own settings are then not read. */
  private readonly routingConfigured: boolean;
  private closed = false;
  /** Failures inside requests, by place (see {@link reportFailure}); bounded by the places in the code. */
  private readonly failures = new Map<string, number>();
  /** Exchange slots handed out (see {@link slot}). */
  private slotsTaken = 0;

  constructor(input?: Autom8Options) {
    const o = (this.options = resolveOptions(input));
    const now = o.clock.now();
    this.name = o.name;
    this.clock = o.clock;
    this.logger = o.logger;
    this.windows = o.metrics.windows;
    this.monitoringPrefix = o.monitoring.enabled ? o.monitoring.prefix : undefined;
    this.startedAt = now;
    this.routingConfigured = o.routing !== undefined;
    this.routing_ = o.routing ?? DEFAULT_ROUTE_MATCHING;
    this.exemptRule = new ExemptRule(o.exempt);
    this.clientAddressOf = compileTrustProxy(o.trustProxy, 'trustProxy', () => this.countInvalidForwardedFor());
    o.routes.forEach((r, i) => this.knownRoutes.add(r, templateOf(r), `routes[${i}]`));
    this.routeMetrics = new RouteMetrics(o.metrics.windows, o.metrics.maxSeries);
    this.routeMetrics.onNewRoute = (method, route) => this.learnRoute(method, route);
    this.customMetrics = new CustomMetrics(o.metrics.windows, o.metrics.maxSeries);
    this.allRoutes = new WindowedSeries(o.metrics.windows, now);
    this.telemetry = o.telemetry.enabled ? new HttpTelemetry(o.telemetry, (ex) => this.clientAddress(ex)) : undefined;
    this.monitoring = new MonitoringRoutes(o.monitoring, o.clock, o.logger, (ex) => this.clientAddress(ex));
    if (o.monitoring.enabled) {
      this.monitoring.add(
        '/metrics',
        metricsEndpoint(o.monitoring, (q) => this.metricsSnapshot(q)),
        { cache: true },
      );
      this.monitoring.add('/metrics/system', () => this.system.snapshot(), { cache: true });
    }
    const raw = (input ?? {}) as Record<string, unknown>;
    try {
      for (const f of FEATURES) {
        const feature = f.create(raw[f.key], this);
        if (feature !== undefined) this.use(feature);
      }
    } catch (err) {
      // A later section's bad option: stop what the earlier features started (timers, stores).
      for (const f of this.features) void Promise.resolve(f.close?.()).catch(() => undefined);
      throw err;
    }
    // Created last: construction above may throw on bad options, and a timer must not leak then.
    this.system = new SystemMetrics(o.metrics.systemIntervalMs);
  }

  /** Plugs a feature into the pipeline (features built from options are plugged in by the constructor). */
  use(feature: Feature): this {
    this.features.push(feature);
    if (feature.onRequest !== undefined) {
      this.requestStages.push(feature);
      this.requestStages.sort((a, b) => a.stage - b.stage);
    }
    if (feature.onResponse !== undefined) this.responseHooks.push(feature);
    return this;
  }

  /**
   * Adds a monitoring endpoint under the prefix, e.g. `/metrics/slo`: behind `monitoring.authorize`
   * and the endpoints' token bucket, exempt from the app's limits; `{ cache: true }` shares one
   * answer per URL for `monitoring.cacheMs`.
   */
  addMonitoringEndpoint(path: string, handler: MonitoringHandler, options?: MonitoringEndpointOptions): void {
    this.monitoring.add(path, handler, options);
  }

  /**
   * A node request handler serving only the monitoring endpoints, for a listener of their own:
   * `http.createServer(mw.monitoringHandler()).listen(9464)`, with `monitoring.serveOnApp: false`.
   */
  monitoringHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return monitoringListener(this.monitoring, this.clock, () => this.routing_);
  }

  /** The feature plugged in under `name` (`'cache'`, `'rateLimit'`, …), if any. */
  feature(name: string): Feature | undefined {
    return this.features.find((f) => f.name === name);
  }

  /** How many routes a monitoring response lists at most (`monitoring.routeLimit`). */
  get monitoringRouteLimit(): number {
    return this.options.monitoring.routeLimit;
  }

  /** True when a monitoring endpoint answers this full path (prefix included). */
  servesMonitoring(path: string): boolean {
    return this.monitoring.serves(path);
  }

  /** The OpenTelemetry meter autom8 records with, or undefined when telemetry is off. */
  meter(): Meter | undefined {
    return this.telemetry?.getMeter();
  }

  /** The latest system sample; undefined while the engine is being built. */
  systemSnapshot(): SystemSnapshot | undefined {
    return (this.system as SystemMetrics | undefined)?.snapshot();
  }

  /** A typed per-request state slot for a feature (see {@link ExchangeSlot}); a few per engine. */
  slot<T>(): ExchangeSlot<T> {
    return new ExchangeSlot<T>(this.slotsTaken++);
  }

  /** How the app's router matches paths (see {@link RouteMatching}); every rule follows it. */
  get routing(): RouteMatching {
    return this.routing_;
  }

  /**
   * For adapters: the app's own routing settings, read from the framework (Express's
   * `case sensitive routing` and `strict routing`). Ignored when the `routing` option was given.
   */
  adoptRouting(settings: { caseSensitive: boolean; strict: boolean }): void {
    if (this.routingConfigured) return;
    const { caseSensitive, strict } = settings;
    if (caseSensitive === this.routing_.caseSensitive && strict === this.routing_.strict) return;
    this.routing_ = Object.freeze({ caseSensitive: caseSensitive === true, strict: strict === true });
  }

  /** Step 1: a request arrived. `url` is the request target as the client sent it. */
  begin(req: RequestView, res: ResponseView, url: string): Exchange {
    const ex = new Exchange(req, res, url, normalizeMethod(req.method), this.options.clock.now(), this.routing_);
    if (this.monitoring.lookup(ex) !== undefined) {
      ex.monitoring = true;
      ex.exempt = true;
    } else {
      ex.exempt = this.exemptRule.isExempt(ex);
      if (this.telemetry !== undefined) {
        ex.scheme = schemeOf(ex.socket);
        try {
          this.telemetry.start(ex, ex.scheme);
        } catch (err) {
          // A propagator or tracer that throws (a user's, or on a header it chokes on): the
          // request goes on untraced.
          ex.span = undefined;
          ex.otelContext = undefined;
          this.reportFailure('telemetry.start', err);
        }
      }
    }
    // Nothing reads the response's end (metrics and telemetry off, no feature hook there, as with a
    // rate limit alone): no listener on the response, and in-flight requests are not counted.
    if (this.readsEnd()) {
      this.inFlight++;
      // A closure, not a property on `res`: adding properties to framework-shaped response objects
      // measurably slows every later access to them. Node emits 'close' on aborts too.
      res.on('close', () => this.end(ex));
    }
    return ex;
  }

  /**
   * Step 2: the request-start decision. Returns a reply to send (monitoring JSON, 503, 429, cache
   * hit), or undefined to let the app handle the request.
   */
  admit(ex: Exchange): Reply | undefined | Promise<Reply | undefined> {
    if (ex.monitoring) return this.monitoring.handle(ex);
    if (ex.exempt || this.requestStages.length === 0) return undefined;
    return this.runStages(ex, 0);
  }

  private runStages(ex: Exchange, from: number): Reply | undefined | Promise<Reply | undefined> {
    const stages = this.requestStages;
    for (let i = from; i < stages.length; i++) {
      const r = stages[i]!.onRequest!(ex);
      if (r === undefined) continue;
      if (typeof (r as Promise<Reply | undefined>).then === 'function') {
        return (r as Promise<Reply | undefined>).then((v) => (v === undefined ? this.runStages(ex, i + 1) : v));
      }
      return r;
    }
    return undefined;
  }

  /**
   * Runs `fn` inside the request's OTel context, so the app's spans become children of the server
   * span. Adapters call the rest of the middleware chain through this.
   */
  run<T>(ex: Exchange, fn: () => T): T {
    return ex.otelContext === undefined ? fn() : context.with(ex.otelContext, fn);
  }

  /** The configured or learned route template matching the request, for per-route policies. */
  knownRoute(ex: Exchange): string | undefined {
    if (ex.policyRoute === undefined) ex.policyRoute = this.knownRoutes.lookup(ex) ?? null;
    return ex.policyRoute ?? undefined;
  }

  /** What this engine lends the stores it is given: its logger, clock and telemetry meter. */
  storeHost(): StoreHost {
    return { logger: this.logger, clock: this.clock, meter: () => this.telemetry?.getMeter() };
  }

  /** The client's address under the `trustProxy` rule (memoised per request). */
  clientAddress(ex: Exchange): string {
    return (ex.client ??= this.clientAddressOf(ex.socket?.remoteAddress, ex.headers));
  }

  /**
   * Counts a request whose client address fell back past an unusable X-Forwarded-For hop. The OTel
   * counter is made on the first one: rare, and by then the app has started its SDK.
   */
  private countInvalidForwardedFor(): void {
    this.invalidForwardedFor++;
    const telemetry = this.telemetry;
    if (telemetry === undefined) return;
    this.invalidForwardedForTally ??= new ObservedCounter(telemetry.getMeter(), 'autom8.client_address.invalid_forwarded_for', {
      description: 'Requests whose X-Forwarded-For hop, where the trustProxy rule read it, was not an IP address.',
      unit: '{request}',
    }).tally({});
    this.invalidForwardedForTally.n++;
  }

  /** Metrics, telemetry or a feature reads how a response ended. */
  private readsEnd(): boolean {
    return this.options.metrics.enabled || this.telemetry !== undefined || this.responseHooks.length > 0;
  }

  /** The response is over (finished or aborted): record once, then tell the features. */
  private end(ex: Exchange): void {
    if (ex.endTime !== 0) return;
    this.inFlight--;
    const now = (ex.endTime = this.options.clock.now());
    const res = ex.res;
    // `finished` is the field behind `writableEnded` (the app called end()): one own-property read,
    // where the getter would walk the response's prototype chain.
    ex.finished = res.finished === true;
    const code = res.statusCode;
    // A response the client abandoned before it finished keeps the status the app had set; if the
    // app never set one it counts as 499 (client closed request, as nginx does).
    const status = (ex.status = ex.finished || code !== this.defaultResponseStatus ? code : 499);
    if (ex.lateRoute !== undefined) {
      const late = ex.lateRoute(ex);
      // Not setRoute: an outer span it would rename has ended by now.
      if (late !== undefined) (ex as { route: string | undefined }).route = late;
    }
    // No router match: a 404 means none exists; anything else ended before routing (auth, 304):
    // name it from the configured or learned templates, never from the raw URL.
    const route = (ex.finalRoute = ex.route !== undefined || status === 404 ? ex.route : this.knownRoute(ex));
    if (!ex.monitoring) {
      try {
        this.record(ex, route, status, now);
      } catch (err) {
        // In a 'close' listener a throw would be an uncaught exception: never let one out.
        this.reportFailure('request end', err);
      }
    }
    const hooks = this.responseHooks;
    for (let i = 0; i < hooks.length; i++) {
      try {
        hooks[i]!.onResponse!(ex);
      } catch (err) {
        this.options.logger.error({ feature: hooks[i]!.name, err: String(err) }, 'autom8: feature failed at response end');
      }
    }
  }

  /** Records a finished request: route metrics, the totals, and its span and duration metric. */
  private record(ex: Exchange, route: string | undefined, status: number, now: number): void {
    const series = this.routeMetrics.seriesFor(ex.method, route, now);
    const trace = ex.span?.spanContext();
    const traced = trace !== undefined && trace.traceFlags & 1 ? trace : undefined;
    if (this.options.metrics.enabled) {
      this.routeMetrics.record(series, now - ex.startTime, status, now, traced);
      this.allRoutes.record((now - ex.startTime) * 1000, statusClass(status), now);
    }
    this.telemetry?.end(ex, status, ex.scheme, series);
  }

  /**
   * For adapters and features: autom8 failed inside a request (a bug, or a user's propagator or
   * hook that threw); the request goes on without that part. Logged once per place, then counted.
   */
  reportFailure(where: string, err: unknown): void {
    const n = this.failures.get(where) ?? 0;
    this.failures.set(where, n + 1);
    if (n === 0) this.options.logger.error({ where, err: String(err) }, `autom8: ${where} failed; the request goes on without it (said once)`);
  }

  private learnRoute(method: string, route: string): void {
    if (!route.startsWith('/') || route.includes('(')) return; // regex or array routes: not matchable
    try {
      if (this.knownRoutes.match(method, route) === undefined) this.knownRoutes.add(`${method} ${route}`, route);
    } catch {
      // a template we cannot parse is simply not learned
    }
  }

  /** Records a custom duration (ns), e.g. of a downstream call. */
  recordLatency(name: string, durationNs: number, attributes?: MetricAttributes): void {
    this.customMetrics.recordLatency(name, durationNs, attributes, this.options.clock.now());
  }

  /** Records `count` custom events (throughput). */
  recordThroughput(name: string, count: number, attributes?: MetricAttributes): void {
    this.customMetrics.recordThroughput(name, count, attributes, this.options.clock.now());
  }

  /** Everything `/metrics` shows, as an object (the seed's `snapshot()`). */
  snapshot(): MetricsSnapshot {
    return this.metricsSnapshot();
  }

  /**
   * Everything `/metrics` shows, as an object: every route, or with `routes` one page of them
   * (busiest first) and a `routeSelection` saying what was left out.
   */
  metricsSnapshot(routes?: RouteQuery): MetricsSnapshot {
    const now = this.options.clock.now();
    const page = routes === undefined ? undefined : selectRoutes(this.routeMetrics, now, routes);
    const features = this.featureSnapshots();
    const all = this.allRoutes.snapshot(now);
    return {
      instance: this.options.name,
      generatedAt: new Date(now).toISOString(),
      uptimeSec: Math.round((now - this.startedAt) / 1000),
      windows: this.options.metrics.windows.map((w) => ({ name: w.name, intervalMs: w.intervalMs, slots: w.slots })),
      inFlight: this.inFlight,
      totals: all,
      series: { count: this.routeMetrics.seriesCount, max: this.routeMetrics.maxSeries, foldedRequests: this.routeMetrics.folded },
      routes: page === undefined ? this.routeMetrics.snapshot(now) : page.routes,
      ...(page === undefined ? undefined : { routeSelection: page.selection }),
      custom: this.customMetrics.snapshot(now),
      clientAddress: { invalidForwardedFor: this.invalidForwardedFor },
      features,
    };
  }

  /** Each feature's figures (the `features` of the metrics JSON), keyed by feature name. */
  featureSnapshots(): Record<string, unknown> {
    const features: Record<string, unknown> = {};
    for (const f of this.features) if (f.snapshot !== undefined) features[f.name] = f.snapshot();
    return features;
  }

  /** Stops timers and closes features. Idempotent. */
  /**
   * For adapters: `undo` runs first when the engine closes, to take back what the adapter did to
   * its framework (an accessor it defined, a listener it added).
   */
  onClose(undo: () => void): void {
    this.closeHooks.push(undo);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const undo of this.closeHooks) {
      try {
        undo();
      } catch (err) {
        this.reportFailure('close', err);
      }
    }
    this.system.close();
    for (const f of this.features) await f.close?.();
  }
}

/** Creates the engine an adapter drives; validates `options` (throws naming a bad option). */
export function createEngine(options?: Autom8Options): Autom8 {
  return new Autom8(options);
}

function templateOf(pattern: string): string {
  const space = pattern.trim().indexOf(' ');
  return space === -1
    ? pattern.trim()
    : pattern
        .trim()
        .slice(space + 1)
        .trim();
}

function schemeOf(socket: RequestView['socket']): string {
  return socket?.encrypted ? 'https' : 'http';
}

function statusClass(status: number): number {
  const c = ((status / 100) | 0) - 1;
  return c < 0 ? 0 : c > 4 ? 4 : c;
}
