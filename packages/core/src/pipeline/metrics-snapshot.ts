import type { CustomMetrics } from '../metrics/custom-metrics.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { WindowedSeries } from '../metrics/windowed-series.js';
import type { RouteSelection } from '../monitoring/route-selection.js';

/** The JSON of `GET {prefix}/metrics`. */
export interface MetricsSnapshot {
  instance: string;
  generatedAt: string;
  uptimeSec: number;
  windows: { name: string; intervalMs: number; slots: number }[];
  /**
   * Requests begun and not yet ended. Counted only while something reads how responses end
   * (metrics, telemetry or a feature such as shedding, caching or SLOs): a rate limit alone reads 0.
   */
  inFlight: number;
  totals: ReturnType<WindowedSeries['snapshot']>;
  series: { count: number; max: number; foldedRequests: number };
  routes: ReturnType<RouteMetrics['snapshot']>;
  /** Which routes `routes` lists, when it is one page of them (the `/metrics` endpoint). */
  routeSelection?: RouteSelection;
  custom: ReturnType<CustomMetrics['snapshot']>;
  /** `invalidForwardedFor`: requests whose X-Forwarded-For had a hop that is not an IP address. */
  clientAddress: { invalidForwardedFor: number };
  features: Record<string, unknown>;
}
