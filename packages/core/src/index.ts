/**
 * @autom8/core: the framework-agnostic heart of autom8. This entry point is the user API: the
 * options types, the runtime controls the adapters' middleware carries (and {@link createAutom8}
 * for a process without a web framework), the errors, the standalone utilities (rate limiter,
 * load shedder, circuit breaker, caches, events, CPU profiles) and the store contracts.
 *
 * Writing an adapter for another framework? See `@autom8/core/adapter`. Writing a store? See
 * `@autom8/core/store`.
 *
 * @packageDocumentation
 */

// Runtime controls and options
export { createAutom8 } from './pipeline/controls.js';
export type { Autom8Controls, CacheControls } from './pipeline/controls.js';
export type { MetricsSnapshot } from './pipeline/metrics-snapshot.js';
export type { Autom8Options } from './options.js';
export type { TrustProxy } from './pipeline/client-address.js';
export type { ExemptMatcher } from './exempt/exempt-rule.js';
export type { TelemetryMode } from './telemetry/http-telemetry.js';
export type { MonitoringOptions, MonitoringAuthorize, MonitoringRequest } from './monitoring/monitoring-options.js';
export type { RouteQuery, RouteSelection } from './monitoring/route-selection.js';
export type { WindowSpec, Exemplar, ExemplarTrace, SeriesWindowSnapshot } from './metrics/windowed-series.js';
export type { HistogramSummary } from './metrics/histogram.js';
export type { RouteSnapshot } from './metrics/route-metrics.js';
export type { MetricAttributes, CustomSeriesSnapshot, CustomThroughputSnapshot } from './metrics/custom-metrics.js';
export type { SystemSnapshot } from './system/system-metrics.js';
export type { RateLimitOptions, RouteLimitSpec } from './ratelimit/rate-limit-options.js';
export type { LimitSpec, Period } from './ratelimit/policy.js';
export type { ClientKeySpec } from './ratelimit/client-key.js';
export type { HeaderFormat } from './ratelimit/headers.js';
export type { ShedOptions, ConcurrencyOptions } from './shed/shed-options.js';
export type { ShedPriority } from './shed/priority.js';
export type { ResponseCacheOptions, RouteCacheRule, CookiePolicy } from './cache/cache-options.js';
export type { InvalidateTarget, InvalidateResult, ResponseCacheSnapshot } from './cache/cache-feature.js';
export type { SloObjective, SloOptions } from './slo/slo-options.js';
export type { SloStatus, SloReport } from './slo/slo-feature.js';
export type { SlowLogOptions, SlowRequestLine } from './slowlog/slow-log-feature.js';
export type { DashboardOptions } from './dashboard/dashboard-feature.js';
export type { ProfilerOptions } from './profiler/profiler-feature.js';

// Errors, time, logging
export { Autom8Error, InvalidOptionError } from './util/errors.js';
export { systemClock, ManualClock } from './util/clock.js';
export type { Clock } from './util/clock.js';
export type { Logger } from './util/logger.js';
export { VERSION } from './version.js';

// Events
export { subscribe, onEvent } from './events/events.js';
export type { Autom8Event, Autom8EventMap, Autom8EventType } from './events/events.js';

// Standalone utilities
export { createRateLimiter, RateLimitedError } from './ratelimit/limiter.js';
export type { RateLimiter, RateLimiterOptions, RateLimitDecision, WaitOptions } from './ratelimit/limiter.js';
export { createLoadShedder } from './shed/load-shedder.js';
export type { LoadShedder, LoadShedderOptions } from './shed/load-shedder.js';
export type { LoadLimits, LoadReading, LoadSnapshot } from './shed/load-signal.js';
export { recommendProcessAllocation } from './shed/process-allocation.js';
export type { WorkloadKind, AllocationInputs, ProcessAllocation } from './shed/process-allocation.js';
export { createCircuitBreaker, CircuitOpenError } from './breaker/circuit-breaker.js';
export type { CircuitBreaker, CircuitBreakerOptions, BreakerState, BreakerSnapshot } from './breaker/circuit-breaker.js';
export { createCache, getCache, cacheStats } from './cache/cache.js';
export type { Cache, CacheOptions, CacheEntry, CacheStats } from './cache/cache.js';
export { cached } from './cache/cached.js';
export { memoize, memoized } from './cache/memoize.js';
export type { MemoizeOptions, Memoized } from './cache/memoize.js';
export { captureCpuProfile, isCpuProfiling, summarizeCpuProfile } from './profiler/cpu-profile.js';
export type { CpuProfile, CpuProfileNode, CpuProfileOptions, CpuProfileEntry, CpuProfileSummary } from './profiler/cpu-profile.js';

// Store contracts (implementations: the memory stores here, `@autom8/redis`; helpers: `@autom8/core/store`)
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
export type { OutagePolicy } from './store/outage-guard.js';
