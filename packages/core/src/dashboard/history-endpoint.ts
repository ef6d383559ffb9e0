import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Reply } from '../pipeline/request-view.js';
import type { MonitoringHandler } from '../monitoring/monitoring-routes.js';
import type { DashboardHistory, LatencyHistory } from './dashboard-history.js';

/** Path of the history endpoint under the monitoring prefix. */
export const HISTORY_PATH = '/metrics/history';

const MAX_ROUTE_KEY = 300;

/** The JSON of `GET {prefix}/metrics/history`. */
export interface HistoryReply {
  instance: string;
  generatedAt: string;
  /** Length of one point (the collection interval), ms. */
  intervalMs: number;
  /** Most points kept. */
  capacity: number;
  /** Start of each point's interval, epoch ms, oldest first. */
  t: number[];
  /** All requests together. */
  totals: LatencyHistory;
  /** The busiest routes (`monitoring.routeLimit`), counts, 5xx and p99 only; or with `?route=`, that route in full. */
  routes: Record<string, LatencyHistory>;
  /** Routes in all, and listed here. */
  routeSelection: { total: number; returned: number };
  /** Each feature's numeric figures over time, by dotted path (`rateLimit.limiters.default.limited`); not with `?route=`. */
  features?: Record<string, (number | null)[]>;
}

/**
 * `GET {prefix}/metrics/history[?since=<epoch ms>][&route=<METHOD route>]`: the recent past for the
 * dashboard. The answer is bounded: at most `capacity` points, the `monitoring.routeLimit` busiest
 * routes with three figures each (or one route in full), and at most the kept feature series. A
 * page asks for everything once, then only for points after the last one it has; `since` is an
 * interval start, so readers of the same interval share one cached answer.
 */
export function historyEndpoint(engine: FeatureHost, history: DashboardHistory): MonitoringHandler {
  const routeLimit = engine.monitoringRouteLimit;
  return (ex: Exchange) => {
    let since = -Infinity;
    let route: string | undefined;
    if (ex.query !== '') {
      const seen = new Set<string>();
      for (const [name, value] of new URLSearchParams(ex.query)) {
        if (seen.has(name)) return badRequest(`query parameter '${clip(name)}' given twice`);
        seen.add(name);
        if (name === 'since') {
          if (!/^[0-9]{1,15}$/.test(value)) return badRequest('since must be a time in epoch milliseconds');
          since = Number(value);
        } else if (name === 'route') {
          if (value.length > MAX_ROUTE_KEY) return badRequest(`route must be at most ${MAX_ROUTE_KEY} characters`);
          route = value;
        } else {
          return badRequest(`unknown query parameter '${clip(name)}' (known: since, route)`);
        }
      }
    }
    const now = engine.clock.now();
    // Catch up on intervals the timer has not sampled yet (a late timer, a test's clock).
    history.sample(now);
    const { indexes, t } = history.times(since);
    const all = engine.routeMetrics.all();
    const routes: Record<string, LatencyHistory> = {};
    if (route !== undefined) {
      const s = all.find((r) => `${r.method} ${r.route}` === route);
      if (s === undefined) return badRequest('no such route (give METHOD and template, as /metrics keys them)', 404);
      routes[route] = history.routeAt(s, indexes, true);
    } else {
      const busiest = all
        .map((s) => ({ s, count: s.series.lifetime.count }))
        .sort((a, b) => b.count - a.count)
        .slice(0, routeLimit);
      for (const { s } of busiest) routes[`${s.method} ${s.route}`] = history.routeAt(s, indexes, false);
    }
    const reply: HistoryReply = {
      instance: engine.name,
      generatedAt: new Date(now).toISOString(),
      intervalMs: history.intervalMs,
      capacity: history.capacity,
      t,
      totals: history.totalsAt(indexes),
      routes,
      routeSelection: { total: all.length, returned: Object.keys(routes).length },
    };
    if (route === undefined) reply.features = history.featuresAt(indexes);
    return reply;
  };
}

function badRequest(message: string, status = 400): Reply {
  const body = JSON.stringify({ error: message });
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) },
    body,
  };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
