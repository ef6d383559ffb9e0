import type { Meter } from '@opentelemetry/api';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { WindowedSeries, WindowSpec } from '../metrics/windowed-series.js';
import type { MonitoringEndpointOptions, MonitoringHandler } from '../monitoring/monitoring-routes.js';
import type { StoreHost } from '../store/contracts.js';
import type { SystemSnapshot } from '../system/system-metrics.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Exchange, ExchangeSlot } from './exchange.js';

/**
 * What a feature may use of the engine it is plugged into: the whole contract between the pipeline
 * and its features. Features are built from this, never from the engine class, so a feature can be
 * written (and tested) against any host, and the engine's own state stays its own.
 */
export interface FeatureHost {
  /** The instance name (`options.name`), for events and log lines. */
  readonly name: string;
  /** The engine's time source (a `ManualClock` in tests). */
  readonly clock: Clock;
  /** Where warnings go (pino-compatible). */
  readonly logger: Logger;
  /** The rolling windows of the metrics (`metrics.windows`). */
  readonly windows: readonly WindowSpec[];
  /** The monitoring endpoints' prefix (`/api/v1`), or undefined when monitoring is off. */
  readonly monitoringPrefix: string | undefined;
  /** Requests begun and not yet ended. */
  readonly inFlight: number;
  /** The OpenTelemetry meter autom8 records with, or undefined when telemetry is off. */
  meter(): Meter | undefined;
  /** The latest system sample (CPU, memory, event loop), or undefined before the first. */
  systemSnapshot(): SystemSnapshot | undefined;
  /** The configured or learned route template matching the request, for per-route policies. */
  knownRoute(ex: Exchange): string | undefined;
  /** The client's address under the `trustProxy` rule (memoised per request). */
  clientAddress(ex: Exchange): string;
  /** What the host lends the stores a feature is given: its logger, clock and meter. */
  storeHost(): StoreHost;
  /** Adds a monitoring endpoint under the prefix (behind `monitoring.authorize`, exempt from limits). */
  addMonitoringEndpoint(path: string, handler: MonitoringHandler, options?: MonitoringEndpointOptions): void;
  /** True when a monitoring endpoint answers this full path (prefix included). */
  servesMonitoring(path: string): boolean;
  /**
   * A typed per-request state slot for this feature (see {@link ExchangeSlot}); call once, at
   * construction. A host has a few; asking for more throws.
   */
  slot<T>(): ExchangeSlot<T>;
  /** Reports a failure inside a request (logged once per `where`, then counted); the request goes on. */
  reportFailure(where: string, err: unknown): void;
  /** All traffic as one series (read-only view, for history and summaries). */
  readonly allRoutes: WindowedSeries;
  /** The per-route series (read-only view, for history and summaries). */
  readonly routeMetrics: RouteMetrics;
  /** Every feature's `/metrics` figures by feature name. */
  featureSnapshots(): Record<string, unknown>;
  /** How many routes a monitoring response lists at most (`monitoring.routeLimit`). */
  readonly monitoringRouteLimit: number;
}
