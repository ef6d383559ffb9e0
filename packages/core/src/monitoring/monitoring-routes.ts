import type { Exchange } from '../pipeline/exchange.js';
import type { Reply } from '../pipeline/request-view.js';
import { RouteTable } from '../routing/route-table.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { roundJsonNumber } from './json-numbers.js';
import { MonitoringBucket } from './monitoring-bucket.js';
import type { MonitoringRequest, ResolvedMonitoringOptions } from './monitoring-options.js';
import { ReplyCache } from './reply-cache.js';

/**
 * Produces an endpoint's answer: an object (sent as JSON) or a full {@link Reply}, or a Promise of
 * either for endpoints that wait (e.g. `/profile` records for N seconds).
 */
export type MonitoringHandler = (ex: Exchange) => unknown;

/** How an endpoint is served. */
export interface MonitoringEndpointOptions {
  /**
   * Serve one computed answer to every reader of the same URL for `monitoring.cacheMs`. For
   * endpoints whose answer depends only on the URL and the time (snapshots), never on who asks.
   */
  cache?: boolean;
}

const JSON_HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/** Time between two log lines about a failing `authorize`, ms. */
const AUTHORIZE_LOG_EVERY_MS = 60_000;

/**
 * The monitoring endpoints (`{prefix}/metrics`, `{prefix}/metrics/system`, and what features add).
 * Served by core for every adapter and answered before any feature runs: the engine looks them up
 * first and marks them exempt, so the app's limits, shedding and cache never apply. Each request goes
 * through `authorize` (401), the endpoints' own token bucket (429) and the method check (405)
 * before its handler; a cacheable endpoint's answer is then shared for `cacheMs`.
 */
export class MonitoringRoutes {
  readonly prefix: string;
  private readonly foldedPrefix: string;
  private readonly handlers = new Map<string, { handler: MonitoringHandler; cache: boolean }>();
  /** Each endpoint's full path, matched as the app's router matches its routes (case, trailing slash, HEAD). */
  private readonly table = new RouteTable<string>();
  private readonly onApp: boolean;
  private readonly bucket: MonitoringBucket | undefined;
  private readonly cache: ReplyCache;
  private readonly unauthorized: Reply;
  /** Refusals since start, by reason. */
  readonly refused = { unauthorized: 0, authorizeFailed: 0, limited: 0 };
  private lastAuthorizeLog = -Infinity;
  private authorizeFailuresUnlogged = 0;

  constructor(
    private readonly options: ResolvedMonitoringOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly clientAddress: (ex: Exchange) => string,
  ) {
    this.prefix = options.prefix;
    this.foldedPrefix = options.prefix.toLowerCase();
    this.onApp = options.serveOnApp;
    const r = options.rateLimit;
    this.bucket = r === false ? undefined : new MonitoringBucket(r.perSecond / 1000, r.burst, clock);
    this.cache = new ReplyCache(options.cacheMs, clock);
    const body = '{"error":"unauthorized"}';
    this.unauthorized = Object.freeze({
      status: 401,
      headers: Object.freeze({ ...JSON_HEADERS, 'content-length': body.length, 'www-authenticate': options.challenge }),
      body,
    });
  }

  /** Registers `path` (relative to the prefix, e.g. `/metrics/slo`). */
  add(path: string, handler: MonitoringHandler, options?: MonitoringEndpointOptions): void {
    const full = this.prefix + path;
    this.handlers.set(full, { handler, cache: options?.cache === true });
    this.table.add(full, full, 'monitoring endpoint');
  }

  /**
   * The full path of the endpoint this request names, wherever the endpoints are served, matched as
   * the app's router would match it (`/API/V1/METRICS/`, `http://host/api/v1/metrics`), or undefined.
   */
  resolve(ex: Exchange): string | undefined {
    // Every request asks: most are turned away by the prefix alone, without the table's walk.
    const prefix = ex.routing.caseSensitive ? this.prefix : this.foldedPrefix;
    if (this.table.size === 0 || !ex.rulePath.startsWith(prefix)) return undefined;
    return this.table.lookup(ex);
  }

  /** The endpoint's full path when the app's own requests to it are answered here, else undefined. */
  lookup(ex: Exchange): string | undefined {
    return this.onApp ? this.resolve(ex) : undefined;
  }

  /** True when the app's requests to `path` are answered here (a monitoring endpoint served on the app). */
  has(path: string): boolean {
    return this.onApp && this.handlers.has(path);
  }

  /** True when `path` is a monitoring endpoint, wherever it is served. */
  serves(path: string): boolean {
    return this.handlers.has(path);
  }

  /** The full paths served. */
  paths(): string[] {
    return [...this.handlers.keys()];
  }

  /** Answers a monitoring request. Never throws nor rejects. */
  handle(ex: Exchange): Reply | Promise<Reply> {
    const authorize = this.options.authorize;
    if (authorize === undefined) return this.admitted(ex);
    let allowed: boolean | Promise<boolean>;
    try {
      allowed = authorize(this.requestOf(ex));
    } catch (err) {
      return this.authorizeFailed(err);
    }
    if (typeof allowed === 'object' && allowed !== null) {
      return Promise.resolve(allowed).then(
        (ok) => (ok === true ? this.admitted(ex) : this.refuse()),
        (err: unknown) => this.authorizeFailed(err),
      );
    }
    return allowed === true ? this.admitted(ex) : this.refuse();
  }

  private admitted(ex: Exchange): Reply | Promise<Reply> {
    if (this.bucket !== undefined && !this.bucket.take()) {
      this.refused.limited++;
      return jsonReply(429, '{"error":"too many monitoring requests"}', { 'retry-after': String(this.bucket.retryAfterSec()) });
    }
    if (ex.method !== 'GET' && ex.method !== 'HEAD') {
      return jsonReply(405, '{"error":"method not allowed"}', { allow: 'GET, HEAD' });
    }
    const entry = this.handlers.get(this.resolve(ex) ?? ex.path);
    if (entry === undefined) return jsonReply(404, '{"error":"not found"}');
    const key = entry.cache ? ex.url : undefined;
    if (key !== undefined) {
      const hit = this.cache.get(key);
      if (hit !== undefined) return headOrGet(ex, hit);
    }
    let result: unknown;
    try {
      result = entry.handler(ex);
    } catch (err) {
      return this.failed(ex, err);
    }
    if (result instanceof Promise)
      return result.then(
        (r) => headOrGet(ex, toReply(r)),
        (err: unknown) => this.failed(ex, err),
      );
    const reply = toReply(result);
    if (key !== undefined) this.cache.set(key, reply);
    return headOrGet(ex, reply);
  }

  // The error goes to the log, not into the answer: it may name internals.
  private failed(ex: Exchange, err: unknown): Reply {
    this.logger.error({ path: ex.path, err: String(err) }, 'autom8: monitoring endpoint failed');
    return jsonReply(500, '{"error":"monitoring endpoint failed"}');
  }

  private requestOf(ex: Exchange): MonitoringRequest {
    return { method: ex.method, path: ex.path, query: ex.query, headers: ex.headers, socket: ex.socket, clientAddress: this.clientAddress(ex) };
  }

  private refuse(): Reply {
    this.refused.unauthorized++;
    return this.unauthorized;
  }

  // Fail closed. Logged at most once a minute: a broken authorize must not become a log flood.
  private authorizeFailed(err: unknown): Reply {
    this.refused.authorizeFailed++;
    const now = this.clock.now();
    if (now - this.lastAuthorizeLog >= AUTHORIZE_LOG_EVERY_MS || now < this.lastAuthorizeLog) {
      this.logger.error({ err: String(err), suppressed: this.authorizeFailuresUnlogged }, 'autom8: monitoring.authorize failed; refusing the request');
      this.lastAuthorizeLog = now;
      this.authorizeFailuresUnlogged = 0;
    } else {
      this.authorizeFailuresUnlogged++;
    }
    return jsonReply(500, '{"error":"authorization failed"}');
  }
}

function jsonReply(status: number, body: string, extra?: Record<string, string>): Reply {
  return { status, headers: { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), ...extra }, body };
}

function toReply(result: unknown): Reply {
  if (isReply(result)) return result;
  return jsonReply(200, JSON.stringify(result, roundJsonNumber));
}

function headOrGet(ex: Exchange, reply: Reply): Reply {
  return ex.method === 'HEAD' ? { ...reply, body: '' } : reply;
}

function isReply(v: unknown): v is Reply {
  return typeof v === 'object' && v !== null && typeof (v as Reply).status === 'number' && 'body' in v && 'headers' in v;
}
