import type { IncomingHttpHeaders } from 'node:http';

/**
 * Cache keys and request directives. The key of a response is its path plus the normalised query
 * (parameters ordered by name, so `?b=2&a=1` and `?a=1&b=2` share an entry, while `?a=2&a=1` and
 * `?a=1&a=2` do not); GET and HEAD share keys (a HEAD is answered from the GET entry). The request
 * headers named by the response's Vary make a secondary key under it.
 */

/** The primary key: path, plus `?` and the normalised query when there is one. */
export function primaryKey(path: string, query: string): string {
  if (query.length === 0) return path;
  return `${path}?${normalizeQuery(query)}`;
}

/**
 * Past this many parameters the query is keyed as sent: sorting is an optimisation of the hit rate,
 * and an attacker's thousands of parameters should not cost a sort on every request.
 */
const MAX_SORTED_PARAMS = 64;

/**
 * Query parameters in a stable order of their names, empty ones dropped; allocation only when there
 * are several. Sorting moves parameters past each other only when their names differ, so the values
 * of one name keep their order (`?a=2&a=1` is not `?a=1&a=2` to the app). A query with a parameter
 * name that a framework might decode or merge with another (`%61` is `a`, `a[]` joins `a` in qs, `+` is a space) is
 * keyed as sent, since two raw names that differ could then be one name to the app.
 */
export function normalizeQuery(query: string): string {
  if (query.indexOf('&') === -1) return query;
  const parts = query.split('&');
  if (parts.length > MAX_SORTED_PARAMS) return query;
  let sorted = parts[0]!.length > 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (!plainName(p)) return query;
    if (sorted && i > 0 && (p.length === 0 || compareNames(parts[i - 1]!, p) > 0)) sorted = false;
  }
  if (sorted) return query;
  // Array.prototype.sort is stable: parameters of one name keep their relative order.
  return parts
    .filter((p) => p.length > 0)
    .sort(compareNames)
    .join('&');
}

/** True when the parameter's name has only characters no query parser decodes or interprets. */
function plainName(param: string): boolean {
  for (let i = 0; i < param.length; i++) {
    const c = param.charCodeAt(i);
    if (c === 61 /* = */) return true;
    // 0-9, A-Z, a-z, '_', '-' ('.' too can nest, in qs with allowDots)
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45)) return false;
  }
  return true;
}

/** Orders two `name=value` parameters by name only (code units), without slicing. */
function compareNames(a: string, b: string): number {
  const ea = nameEnd(a);
  const eb = nameEnd(b);
  const n = ea < eb ? ea : eb;
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return ea - eb;
}

function nameEnd(param: string): number {
  const i = param.indexOf('=');
  return i === -1 ? param.length : i;
}

/** The key of the variant of `primary` selected by the `vary` request headers. */
export function variantKey(primary: string, vary: readonly string[], headers: IncomingHttpHeaders): string {
  let k = primary;
  for (let i = 0; i < vary.length; i++) {
    const v = headers[vary[i]!];
    k += `\n${v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v}`;
  }
  return k;
}

/** Lower-case header names listed in a Vary value (`*` kept as is). */
export function parseVary(value: string | number | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const s = Array.isArray(value) ? value.join(',') : String(value);
  const names = s
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n.length > 0);
  return names.length === 0 ? undefined : [...new Set(names)].sort();
}

/** What a request's Cache-Control (or `Pragma: no-cache`) asks of a shared cache (RFC 9111 §5.2.1). */
export interface RequestDirectives {
  /** Neither serve from nor store into the cache. */
  noStore: boolean;
  /** Do not serve a stored response without revalidation: go to the app (the result may be stored). */
  noCache: boolean;
  /** Accept only responses at most this old, seconds. */
  maxAge: number | undefined;
  /** Accept only responses fresh for at least this long still, seconds. */
  minFresh: number | undefined;
  /** Accept responses stale by at most this much, seconds (Infinity for a bare `max-stale`). */
  maxStale: number | undefined;
  /** Answer from the cache or with 504, never from the app. */
  onlyIfCached: boolean;
}

const DIRECTIVE = /([a-z-]+)\s*(?:=\s*"?(\d+)"?)?/g;

/**
 * Parses the request directives, or returns undefined when the request has none (the usual case,
 * checked without parsing anything).
 */
export function requestDirectives(headers: IncomingHttpHeaders): RequestDirectives | undefined {
  const cc = headers['cache-control'];
  if (cc === undefined) {
    const pragma = headers.pragma;
    if (pragma === undefined || !pragma.toLowerCase().includes('no-cache')) return undefined;
    return { noStore: false, noCache: true, maxAge: undefined, minFresh: undefined, maxStale: undefined, onlyIfCached: false };
  }
  const d: RequestDirectives = { noStore: false, noCache: false, maxAge: undefined, minFresh: undefined, maxStale: undefined, onlyIfCached: false };
  const text = cc.toLowerCase();
  DIRECTIVE.lastIndex = 0;
  for (let m = DIRECTIVE.exec(text); m !== null; m = DIRECTIVE.exec(text)) {
    const n = m[2] === undefined ? undefined : Number(m[2]);
    switch (m[1]) {
      case 'no-store':
        d.noStore = true;
        break;
      case 'no-cache':
        d.noCache = true;
        break;
      case 'max-age':
        d.maxAge = n;
        break;
      case 'min-fresh':
        d.minFresh = n;
        break;
      case 'max-stale':
        d.maxStale = n ?? Infinity;
        break;
      case 'only-if-cached':
        d.onlyIfCached = true;
        break;
    }
  }
  // max-age=0 is the usual way of saying "revalidate"
  if (d.maxAge === 0) d.noCache = true;
  return d;
}

/** True when an `If-None-Match` value matches `etag` (weak comparison, RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true;
  const target = weak(etag);
  for (const part of ifNoneMatch.split(',')) {
    const t = part.trim();
    if (t === '*' || weak(t) === target) return true;
  }
  return false;
}

function weak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
