import type { Exchange } from '../pipeline/exchange.js';
import type { CacheStore } from '../store/contracts.js';
import type { OutagePolicy } from '../store/outage-guard.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';

/**
 * How requests that carry a `Cookie` header use the cache:
 * - `'public-only'` (default, the safe default of shared caches): such a request is served only an
 *   entry whose response said `Cache-Control: public` or `s-maxage`, and fills the cache only with
 *   such a response; anything else goes to the app, as if the response were personalised.
 * - `'ignore'`: the route's responses do not depend on cookies; cookie requests share its entries
 *   with everyone (the key does not include the cookies).
 */
export type CookiePolicy = 'public-only' | 'ignore';

/** Per-route cache rule (a value of {@link ResponseCacheOptions.routes}). */
export interface RouteCacheRule {
  /** Freshness, ms, for responses that state none themselves (no max-age / s-maxage / Expires). */
  ttl?: number;
  /** Invalidation tags of the route's responses: fixed, or computed from the request at store time. */
  tags?: readonly string[] | ((ex: Exchange) => readonly string[]);
  /**
   * Also serve and fill the shared entry for requests that carry `Authorization` (the key does not
   * include it!): only for responses that are the same whoever asks. Default false: such a request
   * is served only an entry its response marked `public` or `s-maxage`, and fills one only with such
   * a response.
   */
  allowAuthorization?: boolean;
  /** Overrides the global {@link ResponseCacheOptions.cookies} for this route. */
  cookies?: CookiePolicy;
  /** Cache responses that set cookies, storing them WITHOUT the Set-Cookie header. Default false. */
  allowSetCookie?: boolean;
  /** Overrides the global `staleWhileRevalidate` for this route, ms. */
  staleWhileRevalidate?: number;
  /** Overrides the global `staleIfError` for this route, ms. */
  staleIfError?: number;
}

/** The `cache` option of `autom8Express` / `autom8Koa`: the response cache. */
export interface ResponseCacheOptions {
  /** Default true. */
  enabled?: boolean;
  /**
   * Cache every GET/HEAD route (true) or only those listed in `routes` (false). Default: true when
   * `routes` is absent, false when it is given.
   */
  global?: boolean;
  /** Route patterns (`'GET /products/:id'`, `'/catalog/*'`) → their rule, or false to never cache. */
  routes?: Record<string, RouteCacheRule | false>;
  /** Freshness, ms, for responses that state none. Default 300 000 (5 min). */
  ttl?: number;
  /** Requests with `Cookie`: see {@link CookiePolicy}. Default `'public-only'`; a route may override it. */
  cookies?: CookiePolicy;
  /** Largest body stored, bytes; bigger responses are sent and not stored. Default 1 MiB. */
  maxEntryBytes?: number;
  /** Bound on the whole local cache, bytes (bodies + headers + keys). Default 64 MiB. */
  maxBytes?: number;
  /** Most entries kept locally. Default 10 000. */
  maxEntries?: number;
  /**
   * After expiry, serve the stale entry (`X-Cache: STALE`) to concurrent requests for this long, ms,
   * while one request refreshes it. A response's own `stale-while-revalidate` wins. Default 0.
   */
  staleWhileRevalidate?: number;
  /** After expiry, serve the stale entry instead of a 5xx from the app for this long, ms. Default 0. */
  staleIfError?: number;
  /** Generate a strong ETag when the response has none, and answer If-None-Match with 304. Default true. */
  etag?: boolean;
  /**
   * Response header the app sets to tag a response (`x-cache-tags: user:42, users`); it is removed
   * before the response is stored. Default `'x-cache-tags'`.
   */
  tagHeader?: string;
  /**
   * Keep separate entries per `Host` header (as if every response said `Vary: Host`). Turn it on when
   * one app serves several hosts whose responses differ (multi-tenant): the key is otherwise the
   * path and query only. Default false.
   */
  varyByHost?: boolean;
  /** A shared second tier behind the local LRU (e.g. `@autom8/redis`'s `RedisCacheStore`). */
  store?: CacheStore;
  /** Outage policy of the shared tier. On an outage the cache runs on its local tier alone. */
  storeOutage?: {
    /** Time budget of one store call, ms. Default 50. */
    timeoutMs?: number;
    /** While degraded, one probe call at most this often, ms. Default 1000. */
    probeIntervalMs?: number;
    /** Successful probes needed to use the store again. Default 3. */
    recoverAfterSuccesses?: number;
  };
}

/** Resolved rule of one route (or of the global default). */
export interface ResolvedRule {
  readonly pattern: string | undefined;
  readonly ttl: number;
  readonly tags: readonly string[] | ((ex: Exchange) => readonly string[]) | undefined;
  readonly allowAuthorization: boolean;
  readonly allowSetCookie: boolean;
  /** `cookies: 'ignore'`: a Cookie header does not make a request credentialed. */
  readonly ignoreCookies: boolean;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

export interface ResolvedCacheOptions {
  readonly global: boolean;
  readonly defaults: ResolvedRule;
  readonly routes: readonly [string, ResolvedRule | false][];
  readonly maxEntryBytes: number;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly etag: boolean;
  readonly tagHeader: string;
  readonly varyByHost: boolean;
  readonly store: CacheStore | undefined;
  readonly storeOutage: { policy: OutagePolicy; timeoutMs: number; probeIntervalMs: number; recoverAfterSuccesses: number };
}

const COOKIE_POLICIES: readonly CookiePolicy[] = ['public-only', 'ignore'];

/** Validates the `cache` section; undefined when caching is off. Throws naming the option. */
export function resolveCacheOptions(section: unknown): ResolvedCacheOptions | undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : (v.optionalObject('cache', section) ?? {});
  v.knownKeys('cache', o, [
    'enabled',
    'global',
    'routes',
    'ttl',
    'cookies',
    'maxEntryBytes',
    'maxBytes',
    'maxEntries',
    'staleWhileRevalidate',
    'staleIfError',
    'etag',
    'tagHeader',
    'varyByHost',
    'store',
    'storeOutage',
  ]);
  if (!v.boolean('cache.enabled', o.enabled, true)) return undefined;
  const defaults: ResolvedRule = {
    pattern: undefined,
    ttl: v.positiveNumber('cache.ttl', o.ttl, 300_000),
    tags: undefined,
    allowAuthorization: false,
    allowSetCookie: false,
    ignoreCookies: v.oneOf<CookiePolicy>('cache.cookies', o.cookies, COOKIE_POLICIES, 'public-only') === 'ignore',
    staleWhileRevalidate: v.nonNegativeNumber('cache.staleWhileRevalidate', o.staleWhileRevalidate, 0),
    staleIfError: v.nonNegativeNumber('cache.staleIfError', o.staleIfError, 0),
  };
  const routesIn = v.optionalObject('cache.routes', o.routes);
  const routes: [string, ResolvedRule | false][] = [];
  if (routesIn !== undefined) {
    for (const pattern of Object.keys(routesIn)) {
      const path = `cache.routes['${pattern}']`;
      const r = routesIn[pattern];
      if (r === false) {
        routes.push([pattern, false]);
        continue;
      }
      const ro = r === true ? {} : v.optionalObject(path, r);
      if (ro === undefined) throw new InvalidOptionError(path, 'a rule object or false', r);
      v.knownKeys(path, ro, ['ttl', 'tags', 'allowAuthorization', 'allowSetCookie', 'cookies', 'staleWhileRevalidate', 'staleIfError']);
      const tags = ro.tags;
      if (tags !== undefined && typeof tags !== 'function') v.stringArray(`${path}.tags`, tags, []);
      routes.push([
        pattern,
        {
          pattern,
          ttl: v.positiveNumber(`${path}.ttl`, ro.ttl, defaults.ttl),
          tags: tags as ResolvedRule['tags'],
          allowAuthorization: v.boolean(`${path}.allowAuthorization`, ro.allowAuthorization, false),
          allowSetCookie: v.boolean(`${path}.allowSetCookie`, ro.allowSetCookie, false),
          ignoreCookies: v.oneOf<CookiePolicy>(`${path}.cookies`, ro.cookies, COOKIE_POLICIES, defaults.ignoreCookies ? 'ignore' : 'public-only') === 'ignore',
          staleWhileRevalidate: v.nonNegativeNumber(`${path}.staleWhileRevalidate`, ro.staleWhileRevalidate, defaults.staleWhileRevalidate),
          staleIfError: v.nonNegativeNumber(`${path}.staleIfError`, ro.staleIfError, defaults.staleIfError),
        },
      ]);
    }
  }
  const store = o.store as CacheStore | undefined;
  if (store !== undefined) {
    for (const m of ['get', 'set', 'delete', 'deleteByTag'] as const) {
      if (typeof (store as unknown as Record<string, unknown>)?.[m] !== 'function') {
        throw new InvalidOptionError('cache.store', 'a CacheStore (get, set, delete, deleteByTag)', store);
      }
    }
  }
  const so = v.optionalObject('cache.storeOutage', o.storeOutage) ?? {};
  v.knownKeys('cache.storeOutage', so, ['timeoutMs', 'probeIntervalMs', 'recoverAfterSuccesses']);
  const tagHeader = v.string('cache.tagHeader', o.tagHeader, 'x-cache-tags').toLowerCase();
  const maxBytes = v.positiveInteger('cache.maxBytes', o.maxBytes, 64 * 1024 * 1024);
  const maxEntryBytes = v.positiveInteger('cache.maxEntryBytes', o.maxEntryBytes, Math.min(1024 * 1024, maxBytes));
  if (maxEntryBytes > maxBytes) throw new InvalidOptionError('cache.maxEntryBytes', `at most cache.maxBytes (${maxBytes})`, maxEntryBytes);
  return {
    global: v.boolean('cache.global', o.global, routesIn === undefined),
    defaults,
    routes,
    maxEntryBytes,
    maxBytes,
    maxEntries: v.positiveInteger('cache.maxEntries', o.maxEntries, 10_000),
    etag: v.boolean('cache.etag', o.etag, true),
    tagHeader,
    varyByHost: v.boolean('cache.varyByHost', o.varyByHost, false),
    store,
    storeOutage: {
      // A cache outage never rejects requests: without the shared tier the local one serves alone.
      policy: 'fallback',
      timeoutMs: v.positiveNumber('cache.storeOutage.timeoutMs', so.timeoutMs, 50),
      probeIntervalMs: v.positiveNumber('cache.storeOutage.probeIntervalMs', so.probeIntervalMs, 1000),
      recoverAfterSuccesses: v.positiveInteger('cache.storeOutage.recoverAfterSuccesses', so.recoverAfterSuccesses, 3),
    },
  };
}
