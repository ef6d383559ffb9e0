/**
 * @autom8/core: the framework-agnostic heart of autom8. It owns the per-request pipeline, per-route
 * latency histograms, monitoring endpoints, OpenTelemetry spans and metrics, the exempt rule and
 * the store contracts. Adapters (`@autom8/express`, `@autom8/koa`) only translate to it.
 *
 * @packageDocumentation
 */
export { Autom8, createAutom8 } from './pipeline/autom8.js';
export type { MetricsSnapshot } from './pipeline/autom8.js';
export { Exchange } from './pipeline/exchange.js';
export { Stage } from './pipeline/feature.js';
export type { Feature } from './pipeline/feature.js';
export type { Reply, RequestView, ResponseView } from './pipeline/request-view.js';
export { compileTrustProxy } from './pipeline/client-address.js';
export type { TrustProxy, ClientAddressResolver } from './pipeline/client-address.js';
export { resolveOptions } from './options.js';
export type { Autom8Options, ResolvedOptions } from './options.js';
export { FEATURES } from './features.js';
export type { FeatureFactory } from './features.js';

export { Histogram, bucketIndex, bucketMidpoint, bucketLowerBound, BUCKET_COUNT, SUB_BUCKETS } from './metrics/histogram.js';
export type { HistogramSummary } from './metrics/histogram.js';
export { WindowedSeries, DEFAULT_WINDOWS } from './metrics/windowed-series.js';
export type { WindowSpec, Exemplar, ExemplarTrace, SeriesWindowSnapshot } from './metrics/windowed-series.js';
export { RouteMetrics, UNMATCHED_ROUTE, OVERFLOW_ROUTE } from './metrics/route-metrics.js';
export type { RouteSnapshot } from './metrics/route-metrics.js';
export type { MetricAttributes, CustomSeriesSnapshot, CustomThroughputSnapshot } from './metrics/custom-metrics.js';
export { SystemMetrics } from './system/system-metrics.js';
export type { SystemSnapshot } from './system/system-metrics.js';

export { HttpTelemetry, DURATION_BUCKETS, announceRoute } from './telemetry/http-telemetry.js';
export type { TelemetryMode } from './telemetry/http-telemetry.js';
export { ExemptRule } from './exempt/exempt-rule.js';
export type { ExemptMatcher } from './exempt/exempt-rule.js';
export { MonitoringRoutes } from './monitoring/monitoring-routes.js';
export type { MonitoringHandler, MonitoringEndpointOptions } from './monitoring/monitoring-routes.js';
export type { MonitoringOptions, MonitoringAuthorize, MonitoringRequest, ResolvedMonitoringOptions } from './monitoring/monitoring-options.js';
export type { RouteQuery, RouteSelection } from './monitoring/route-selection.js';
export { RouteTable, parsePattern } from './routing/route-table.js';
export { normalizeMethod } from './routing/http-method.js';
export type { NormalizedMethod } from './routing/http-method.js';

export { publish, subscribe, channelOf, ALL_TYPES } from './events/events.js';
export type { Autom8Event, Autom8EventMap, Autom8EventType } from './events/events.js';
export { OutageGuard, STORE_UNAVAILABLE } from './store/outage-guard.js';
export type { OutagePolicy, OutageGuardOptions, StoreState } from './store/outage-guard.js';
export { countStoreTransitions } from './store/store-transitions.js';
export { isPromise } from './store/contracts.js';
export type { MaybePromise, RateLimitAlgorithm, LimitPolicy, ConsumeResult, RateLimitStore, CacheRecord, CacheStore, StoreHost } from './store/contracts.js';

export { systemClock, ManualClock } from './util/clock.js';
export type { Clock } from './util/clock.js';
export { Autom8Error, InvalidOptionError } from './util/errors.js';
export { consoleLogger } from './util/logger.js';
export type { Logger } from './util/logger.js';
export { VERSION } from './version.js';
export { captureCpuProfile, captureCpuProfileFor, isCpuProfiling, summarizeCpuProfile, createProfilerFeature } from './profiler/index.js';
export type { CpuProfile, CpuProfileNode, CpuProfileOptions, CpuProfileEntry, CpuProfileSummary, ProfilerOptions } from './profiler/index.js';
export {
  createRateLimiter,
  RateLimiter,
  RateLimitedError,
  MemoryRateLimitStore,
  ALGORITHMS,
  ALGORITHM_NAMES,
  newState,
  capacityOf,
  resolvePolicy,
  dividePolicy,
  periodMs,
  SLIDING_LOG_MAX,
  groupAddress,
  createRateLimitFeature,
  RateLimitFeature,
} from './ratelimit/index.js';
export type {
  RateLimiterOptions,
  RateLimitDecision,
  WaitOptions,
  MemoryRateLimitStoreOptions,
  AlgorithmFn,
  LimitState,
  LimitSpec,
  Period,
  ClientKeySpec,
  HeaderFormat,
  RateLimitOptions,
  RouteLimitSpec,
} from './ratelimit/index.js';

export {
  LoadSampler,
  LoadShedder,
  createLoadShedder,
  PRIORITIES,
  shedProbabilities,
  ConcurrencyLimiter,
  GradientLimit,
  AimdLimit,
  WaitQueue,
  ShedFeature,
  createShedFeature,
  resolveShedOptions,
  recommendProcessAllocation,
} from './shed/index.js';
export type {
  LoadLimits,
  LoadReading,
  LoadSnapshot,
  LoadShedderOptions,
  ShedPriority,
  ConcurrencySettings,
  LimitAlgorithm,
  LimitSettings,
  LimitWindow,
  ShedOptions,
  ConcurrencyOptions,
  WorkloadKind,
  AllocationInputs,
  ProcessAllocation,
} from './shed/index.js';
export { SloFeature, createSloFeature, resolveSloOptions, CountRing } from './slo/index.js';
export type { SloObjective, SloOptions, ResolvedObjective, SloStatus, SloReport } from './slo/index.js';
export { SlowLogFeature, createSlowLogFeature } from './slowlog/index.js';
export type { SlowLogOptions, SlowRequestLine } from './slowlog/index.js';
export { CircuitBreaker, CircuitOpenError, createCircuitBreaker, BreakerRegistry } from './breaker/index.js';
export type { CircuitBreakerOptions, BreakerState, BreakerSnapshot } from './breaker/index.js';
export { createDashboard, DASHBOARD_PATH } from './dashboard/index.js';
export type { DashboardOptions } from './dashboard/index.js';
export { onEvent } from './events/events.js';
export { Cache, createCache, getCache, cacheStats, cached, memoize, memoized } from './cache/index.js';
export { ResponseCache, responseCacheOf, createResponseCacheFeature, CACHE_OUTCOME_ATTRIBUTE, encodeEntry, decodeEntry } from './cache/index.js';
export type { CacheOptions, CacheEntry, CacheStats, MemoizeOptions, Memoized } from './cache/index.js';
export type {
  CookiePolicy,
  InvalidateTarget,
  InvalidateResult,
  ResponseCacheSnapshot,
  ResponseCacheOptions,
  RouteCacheRule,
  StoredResponse,
} from './cache/index.js';
