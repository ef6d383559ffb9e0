import type { MetricsSnapshot } from '../pipeline/metrics-snapshot.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Reply } from '../pipeline/request-view.js';
import type { SeriesWindowSnapshot } from '../metrics/windowed-series.js';
import type { MonitoringHandler } from './monitoring-routes.js';
import type { ResolvedMonitoringOptions } from './monitoring-options.js';
import { parseRouteQuery, type RouteQuery } from './route-selection.js';

/**
 * `GET {prefix}/metrics`: the engine's snapshot with one page of routes (busiest first,
 * `monitoring.routeLimit` unless `?limit=` asks for another number), so the answer's size and cost
 * stay bounded however many routes the app has. Bad query parameters get a 400 before anything is
 * computed.
 */
export function metricsEndpoint(o: ResolvedMonitoringOptions, metricsSnapshot: (routes: RouteQuery) => MetricsSnapshot): MonitoringHandler {
  return (ex: Exchange) => {
    const q = parseRouteQuery(ex.query, o.routeLimit, o.maxRouteLimit);
    if (typeof q === 'string') return badRequest(q);
    const snap = metricsSnapshot(q);
    if (!o.exemplars) stripExemplars(snap);
    return snap;
  };
}

function badRequest(message: string): Reply {
  const body = JSON.stringify({ error: message });
  return {
    status: 400,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) },
    body,
  };
}

// The snapshot is built for this answer alone, so its objects can be edited in place.
function stripExemplars(snap: MetricsSnapshot): void {
  const strip = (windows: Record<string, SeriesWindowSnapshot>) => {
    for (const w of Object.values(windows)) delete w.exemplars;
  };
  strip(snap.totals.windows);
  for (const r of Object.values(snap.routes)) strip(r.windows);
}
