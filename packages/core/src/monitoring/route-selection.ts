import type { RouteMetrics, RouteSnapshot } from '../metrics/route-metrics.js';

/** Which routes a `/metrics` answer lists: `?route=` (substring of `METHOD route`), `?limit=`, `?offset=`. */
export interface RouteQuery {
  /** Case-sensitive substring the `METHOD route` key must contain; '' for all. */
  filter: string;
  limit: number;
  offset: number;
}

/** What a `/metrics` answer says about the routes it left out. */
export interface RouteSelection {
  /** Series in all. */
  total: number;
  /** Series matching `?route=`. */
  matched: number;
  offset: number;
  limit: number;
  /** Series listed in this answer. */
  returned: number;
  /** Matching series not listed (before the offset and past the limit). */
  omitted: number;
  /** The `?route=` filter, when given. */
  filter?: string;
}

const MAX_OFFSET = 1_000_000;
const MAX_FILTER = 200;

/**
 * Reads `/metrics`'s query strictly: only `route`, `limit` and `offset`, each at most once, limit
 * and offset as plain decimal integers. Returns the query, or the reason it is refused (a 400).
 */
export function parseRouteQuery(query: string, defaultLimit: number, maxLimit: number): RouteQuery | string {
  const out: RouteQuery = { filter: '', limit: defaultLimit, offset: 0 };
  if (query === '') return out;
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (seen.has(name)) return `query parameter '${clip(name)}' given twice`;
    seen.add(name);
    if (name === 'route') {
      if (value.length > MAX_FILTER) return `route must be at most ${MAX_FILTER} characters`;
      out.filter = value;
    } else if (name === 'limit') {
      const n = integer(value);
      if (n === undefined || n < 1 || n > maxLimit) return `limit must be an integer from 1 to ${maxLimit}`;
      out.limit = n;
    } else if (name === 'offset') {
      const n = integer(value);
      if (n === undefined || n > MAX_OFFSET) return `offset must be an integer from 0 to ${MAX_OFFSET}`;
      out.offset = n;
    } else {
      return `unknown query parameter '${clip(name)}' (known: route, limit, offset)`;
    }
  }
  return out;
}

/**
 * The routes of one `/metrics` answer: matching series ranked by lifetime request count (busiest
 * first, then by key), one page of them. Only the listed series are summarised.
 */
export function selectRoutes(metrics: RouteMetrics, now: number, q: RouteQuery): { routes: Record<string, RouteSnapshot>; selection: RouteSelection } {
  const all = metrics.all();
  const keyed = all.map((s) => ({ s, key: `${s.method} ${s.route}`, count: s.series.lifetime.count }));
  const matching = q.filter === '' ? keyed : keyed.filter((e) => e.key.includes(q.filter));
  matching.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = matching.slice(q.offset, q.offset + q.limit);
  const routes: Record<string, RouteSnapshot> = {};
  for (const { s, key } of page) routes[key] = { method: s.method, route: s.route, ...s.series.snapshot(now) };
  const selection: RouteSelection = {
    total: all.length,
    matched: matching.length,
    offset: q.offset,
    limit: q.limit,
    returned: page.length,
    omitted: matching.length - page.length,
  };
  if (q.filter !== '') selection.filter = q.filter;
  return { routes, selection };
}

function integer(s: string): number | undefined {
  if (!/^[0-9]{1,9}$/.test(s)) return undefined;
  return Number(s);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
