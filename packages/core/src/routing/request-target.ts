import type { IncomingMessage } from 'node:http';
import parseurl from 'parseurl';

/**
 * How the app's router matches a path against its routes: the two settings Express
 * (`case sensitive routing`, `strict routing`) and @koa/router (`sensitive`, `strict`) both have,
 * off by default in both. Every rule autom8 matches (rate limits, exempt, shed, cache, monitoring)
 * follows them, so a request the router sends to a handler is matched by that handler's rules.
 */
export interface RouteMatching {
  /** `/Login` and `/login` are different routes. Default false (the routers' default). */
  readonly caseSensitive: boolean;
  /** `/login/` and `/login` are different routes. Default false (the routers' default). */
  readonly strict: boolean;
}

/** Both routers' defaults. */
export const DEFAULT_ROUTE_MATCHING: RouteMatching = Object.freeze({ caseSensitive: false, strict: false });

/** The path and query a request target names, as the routers read it. */
export interface RequestTarget {
  /** Path without the query (not decoded: the routers match the encoded path too). */
  readonly path: string;
  /** Query without `?` ('' when none). */
  readonly query: string;
}

/**
 * Splits a request target the way Express and Koa do (both route `parseurl(req).pathname`), so a
 * rule sees the path the router dispatches on: `http://host/login` (absolute form, which node
 * passes through) is `/login`, and `/login#x` is `/login`. The usual target (a path, no `#`) is
 * split here without parsing; the rest go through parseurl itself, the routers' own parser.
 */
export function requestTarget(url: string): RequestTarget {
  if (isPlainTarget(url)) {
    const q = url.indexOf('?');
    return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
  }
  let parsed: ReturnType<typeof parseurl>;
  try {
    parsed = parseurl({ url } as IncomingMessage);
  } catch {
    parsed = undefined;
  }
  const path = parsed?.pathname;
  const query = parsed?.query;
  // A target the routers cannot parse (or `*`) matches no route: keep it as received.
  return { path: typeof path === 'string' && path.length > 0 ? path : url, query: typeof query === 'string' ? query : '' };
}

/** True for the usual target, a path without `#`: its path is everything before the first `?`. */
export function isPlainTarget(url: string): boolean {
  return url.charCodeAt(0) === 0x2f /* / */ && url.indexOf('#') === -1;
}

/** The path rules are matched against under `matching`: folded to lower case unless routes are case sensitive. */
export function rulePathOf(path: string, matching: RouteMatching): string {
  return matching.caseSensitive ? path : foldCase(path);
}

// Most paths are lower case already: a scan spares them the copy toLowerCase() makes.
function foldCase(path: string): string {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c > 0x7f) return path.toLowerCase();
  }
  return path;
}
