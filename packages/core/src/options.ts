import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { ExemptMatcher } from './exempt/exempt-rule.js';
import { FEATURES } from './features.js';
import { DEFAULT_WINDOWS, type WindowSpec } from './metrics/windowed-series.js';
import { resolveMonitoringOptions, type MonitoringOptions, type ResolvedMonitoringOptions } from './monitoring/monitoring-options.js';
import type { TrustProxy } from './pipeline/client-address.js';
import type { ProfilerOptions } from './profiler/profiler-feature.js';
import type { RateLimitOptions } from './ratelimit/rate-limit-options.js';
import type { ShedOptions } from './shed/shed-options.js';
import type { ResponseCacheOptions } from './cache/cache-options.js';
import type { DashboardOptions } from './dashboard/dashboard-feature.js';
import type { SloOptions } from './slo/slo-options.js';
import type { SlowLogOptions } from './slowlog/slow-log-feature.js';
import type { TelemetryMode } from './telemetry/http-telemetry.js';
import { systemClock, type Clock } from './util/clock.js';
import { InvalidOptionError } from './util/errors.js';
import { consoleLogger, type Logger } from './util/logger.js';
import * as v from './util/validate.js';
import { DEFAULT_ROUTE_MATCHING, type RouteMatching } from './routing/request-target.js';

/** Options of `autom8Express(options)` / `autom8Koa(options)` (the same for both). */
export interface Autom8Options {
  /** Name of this instance in events and logs. Default `'autom8'`. */
  name?: string;
  /** The monitoring endpoints: who may read them, where they are served, how often they compute. */
  monitoring?: MonitoringOptions;
  /**
   * Requests never rate-limited, shed or cached, besides the monitoring endpoints (always exempt):
   * route patterns (`'/health'`, `'GET /internal/*'`) or predicates.
   */
  exempt?: ExemptMatcher[];
  /** Which proxies to believe about the client address. Default false (the socket peer). */
  trustProxy?: TrustProxy;
  /**
   * Route patterns of the app (`'GET /users/:id'`). Optional: autom8 learns templates from the router.
   * Listing them lets requests that end before routing (an auth rejection in middleware) be named
   * from the first request on.
   */
  routes?: string[];
  /**
   * How the app's router matches paths; every rule (rate limits, exempt, shed, cache, monitoring)
   * follows it, so a request the router sends to a handler meets that handler's rules. Default:
   * what the Express adapter reads from the app (`case sensitive routing`, `strict routing`), or
   * the routers' defaults (both false), which are @koa/router's: set it to match
   * `new Router({ sensitive, strict })`.
   */
  routing?: { caseSensitive?: boolean; strict?: boolean };
  /** Per-route latency metrics. */
  metrics?: {
    /** Default true. */
    enabled?: boolean;
    /** Most METHOD + route series kept; the rest fold into one `overflow` series. Default 200. */
    maxSeries?: number;
    /** Rolling windows; default 1m (6×10 s), 5m (5×1 min), 1h (6×10 min). */
    windows?: WindowSpec[];
    /** How often system gauges are sampled, ms. Default 5000. */
    systemIntervalMs?: number;
  };
  /** OpenTelemetry spans and metrics (through @opentelemetry/api; no-ops without an SDK). */
  telemetry?: {
    /** Default true. */
    enabled?: boolean;
    /** How to share requests with the OTel http instrumentation. Default `'auto'`. */
    mode?: TelemetryMode;
    /** Use this provider instead of the global one. */
    tracerProvider?: TracerProvider;
    /** Use this provider instead of the global one. */
    meterProvider?: MeterProvider;
    /** Record `http.server.request.body.size` / `response.body.size`. Default false. */
    bodySizeMetrics?: boolean;
  };
  /** Time source; tests pass a ManualClock. */
  clock?: Clock;
  /** Where warnings go (pino-compatible). Default: JSON lines on the console. */
  logger?: Logger;
  /** Service-level objectives (latency percentile, error rate, CPU) with error budgets and burn rates. Off unless given. */
  slo?: SloOptions;
  /** Structured log lines for requests over a threshold, sampled and capped. Off unless given (`true`: defaults). */
  slowLog?: SlowLogOptions | boolean;
  /** Live dashboard at `{prefix}/metrics/dashboard`. Off unless given (`true`: defaults). */
  dashboard?: DashboardOptions | boolean;
  /** `GET {prefix}/profile?seconds=N`: on-demand CPU profile, token-guarded. Off unless given. */
  profiler?: ProfilerOptions;
  /** Rate limiting (global and per-route, per client); `true` for the default 5,000/min. Off unless given. */
  rateLimit?: RateLimitOptions | boolean;
  /** Load shedding and adaptive concurrency (503 + Retry-After under overload). Off unless given. */
  shed?: ShedOptions | boolean;
  /** Response cache (GET/HEAD 2xx, RFC 9111, ETag/304, coalescing, tags, optional shared tier); `true`: defaults. Off unless given. */
  cache?: ResponseCacheOptions | boolean;
}

/** Options after validation and defaults: what the engine runs on. */
export interface ResolvedOptions {
  name: string;
  monitoring: ResolvedMonitoringOptions;
  exempt: readonly ExemptMatcher[];
  trustProxy: TrustProxy | undefined;
  routes: readonly string[];
  /** Undefined: not set (the adapter may read the app's own settings). */
  routing: RouteMatching | undefined;
  metrics: { enabled: boolean; maxSeries: number; windows: readonly WindowSpec[]; systemIntervalMs: number };
  telemetry: {
    enabled: boolean;
    mode: TelemetryMode;
    tracerProvider: TracerProvider | undefined;
    meterProvider: MeterProvider | undefined;
    bodySizeMetrics: boolean;
  };
  clock: Clock;
  logger: Logger;
}

const CORE_KEYS = ['name', 'monitoring', 'exempt', 'trustProxy', 'routes', 'routing', 'metrics', 'telemetry', 'clock', 'logger'];

/** Validates options once, at construction; throws naming the offending option. */
function resolveRouting(input: unknown): RouteMatching | undefined {
  const r = v.optionalObject('routing', input);
  if (r === undefined) return undefined;
  v.knownKeys('routing', r, ['caseSensitive', 'strict']);
  return Object.freeze({
    caseSensitive: v.boolean('routing.caseSensitive', r.caseSensitive, DEFAULT_ROUTE_MATCHING.caseSensitive),
    strict: v.boolean('routing.strict', r.strict, DEFAULT_ROUTE_MATCHING.strict),
  });
}

export function resolveOptions(input: unknown): ResolvedOptions {
  const o = v.optionalObject('options', input) ?? {};
  v.knownKeys('', o, [...CORE_KEYS, ...FEATURES.map((f) => f.key)]);

  const monitoring = resolveMonitoringOptions(o.monitoring);

  const exempt = o.exempt === undefined ? [] : o.exempt;
  if (!Array.isArray(exempt)) throw new InvalidOptionError('exempt', 'an array of route patterns or predicates', exempt);
  exempt.forEach((e, i) => {
    if (typeof e !== 'string' && typeof e !== 'function') throw new InvalidOptionError(`exempt[${i}]`, 'a route pattern or a predicate', e);
  });

  const m = v.optionalObject('metrics', o.metrics) ?? {};
  v.knownKeys('metrics', m, ['enabled', 'maxSeries', 'windows', 'systemIntervalMs']);
  const windows = m.windows === undefined ? DEFAULT_WINDOWS : validateWindows(m.windows);

  const t = v.optionalObject('telemetry', o.telemetry) ?? {};
  v.knownKeys('telemetry', t, ['enabled', 'mode', 'tracerProvider', 'meterProvider', 'bodySizeMetrics']);
  if (t.tracerProvider !== undefined && typeof (t.tracerProvider as TracerProvider).getTracer !== 'function') {
    throw new InvalidOptionError('telemetry.tracerProvider', 'a TracerProvider', t.tracerProvider);
  }
  if (t.meterProvider !== undefined && typeof (t.meterProvider as MeterProvider).getMeter !== 'function') {
    throw new InvalidOptionError('telemetry.meterProvider', 'a MeterProvider', t.meterProvider);
  }

  if (o.clock !== undefined && typeof (o.clock as Clock).now !== 'function') throw new InvalidOptionError('clock', 'an object with now()', o.clock);
  if (o.logger !== undefined) {
    const l = o.logger as Logger;
    if (typeof l !== 'object' || l === null || typeof l.warn !== 'function' || typeof l.info !== 'function' || typeof l.error !== 'function') {
      throw new InvalidOptionError('logger', 'a logger with info, warn and error methods', o.logger);
    }
  }
  if (o.trustProxy !== undefined && typeof o.trustProxy !== 'boolean' && typeof o.trustProxy !== 'number' && !Array.isArray(o.trustProxy)) {
    throw new InvalidOptionError('trustProxy', 'a boolean, a hop count, or a list of CIDRs', o.trustProxy);
  }

  return {
    name: v.string('name', o.name, 'autom8'),
    monitoring,
    exempt: exempt as ExemptMatcher[],
    trustProxy: o.trustProxy as TrustProxy | undefined,
    routes: v.stringArray('routes', o.routes, []),
    routing: resolveRouting(o.routing),
    metrics: {
      enabled: v.boolean('metrics.enabled', m.enabled, true),
      maxSeries: v.positiveInteger('metrics.maxSeries', m.maxSeries, 200),
      windows,
      systemIntervalMs: v.timerMs('metrics.systemIntervalMs', m.systemIntervalMs, 5000, { integer: true }),
    },
    telemetry: {
      enabled: v.boolean('telemetry.enabled', t.enabled, true),
      mode: v.oneOf('telemetry.mode', t.mode, ['auto', 'own', 'enrich'] as const, 'auto'),
      tracerProvider: t.tracerProvider as TracerProvider | undefined,
      meterProvider: t.meterProvider as MeterProvider | undefined,
      bodySizeMetrics: v.boolean('telemetry.bodySizeMetrics', t.bodySizeMetrics, false),
    },
    clock: (o.clock as Clock | undefined) ?? systemClock,
    logger: (o.logger as Logger | undefined) ?? consoleLogger,
  };
}

function validateWindows(input: unknown): WindowSpec[] {
  if (!Array.isArray(input) || input.length === 0) throw new InvalidOptionError('metrics.windows', 'a non-empty array of {name, intervalMs, slots}', input);
  const names = new Set<string>();
  return input.map((w, i) => {
    const path = `metrics.windows[${i}]`;
    const o = v.optionalObject(path, w);
    if (o === undefined) throw new InvalidOptionError(path, 'an object {name, intervalMs, slots}', w);
    v.knownKeys(path, o, ['name', 'intervalMs', 'slots']);
    const name = v.string(`${path}.name`, o.name, '');
    if (name === '' || names.has(name)) throw new InvalidOptionError(`${path}.name`, 'a unique non-empty name', o.name);
    names.add(name);
    if (o.intervalMs === undefined) throw new InvalidOptionError(`${path}.intervalMs`, 'a positive integer', undefined);
    if (!Number.isInteger(o.slots) || (o.slots as number) < 1 || (o.slots as number) > 1000) {
      throw new InvalidOptionError(`${path}.slots`, 'an integer from 1 to 1000', o.slots);
    }
    return { name, intervalMs: v.positiveInteger(`${path}.intervalMs`, o.intervalMs, 1), slots: o.slots as number };
  });
}
