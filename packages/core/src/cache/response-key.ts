import type { IncomingHttpHeaders } from 'node:http';

/**
 * Cache keys and request directives. The key of a response is its path plus the normalised query
 * (parameters sorted, so `?b=2&a=1` and `?a=1&b=2` share an entry); GET and HEAD share keys (a HEAD
 * is answered from the GET entry). The request headers named by the response's Vary make a
 * secondary key under it.
 */

/** The primary key: path, plus `?` and the sorted query when there is one. */
export function primaryKey(path: string, query: string): string {
  if (query.length === 0) return path;
  return `${path}?${normalizeQuery(query)}`;
}

/** Query parameters sorted (stable), empty ones dropped; allocation only when there are several. */
export function normalizeQuery(query: string): string {
  if (query.indexOf('&') === -1) return query;
  const parts = query.split('&');
  let sorted = true;
  for (let i = 1; i < parts.length; i++) {
    if (parts[i - 1]! > parts[i]! || parts[i]!.length === 0) {
      sorted = false;
      break;
    }
  }
  if (sorted && parts[0]!.length > 0) return query;
  return parts
    .filter((p) => p.length > 0)
    .sort()
    .join('&');
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
