import type { ExemptRule } from '../exempt/exempt-rule.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Reply } from '../pipeline/request-view.js';
import { RouteTable } from '../routing/route-table.js';

/**
 * Produces an endpoint's answer: an object (sent as JSON) or a full {@link Reply}, or a Promise of
 * either for endpoints that wait (e.g. `/profile` records for N seconds).
 */
export type MonitoringHandler = (ex: Exchange) => unknown;

const JSON_HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/**
 * The monitoring endpoints (`{prefix}/metrics`, `{prefix}/metrics/system`, and what features add).
 * Served by core for every adapter, answered before any feature runs, and registered with the
 * exempt rule so nothing ever limits, sheds or caches them.
 */
export class MonitoringRoutes {
  private readonly handlers = new Map<string, MonitoringHandler>();
  /** The same endpoints, matched as the app's router matches its routes (case, trailing slash, HEAD). */
  private readonly table = new RouteTable<MonitoringHandler>();

  constructor(
    readonly prefix: string,
    private readonly exemptRule: ExemptRule,
  ) {}

  /** Registers `path` (relative to the prefix, e.g. `/metrics/slo`). */
  add(path: string, handler: MonitoringHandler): void {
    const full = this.prefix + path;
    this.handlers.set(full, handler);
    this.table.add(full, handler, 'monitoring endpoint');
    this.exemptRule.addMonitoringPath(full);
  }

  /** The endpoint this request names, if any (as the app's router would match it). */
  lookup(ex: Exchange): MonitoringHandler | undefined {
    return this.table.size === 0 ? undefined : this.table.lookup(ex);
  }

  /** True when `path` is a monitoring endpoint. */
  has(path: string): boolean {
    return this.handlers.has(path);
  }

  /** The full paths served. */
  paths(): string[] {
    return [...this.handlers.keys()];
  }

  /** Answers a monitoring request. Only GET and HEAD are allowed. */
  handle(ex: Exchange): Reply | Promise<Reply> {
    if (ex.method !== 'GET' && ex.method !== 'HEAD') {
      return { status: 405, headers: { ...JSON_HEADERS, allow: 'GET, HEAD' }, body: '{"error":"method not allowed"}' };
    }
    let result: unknown;
    try {
      result = this.lookup(ex)!(ex);
    } catch (err) {
      return failed(err);
    }
    if (result instanceof Promise) return result.then((r) => toReply(ex, r), failed);
    return toReply(ex, result);
  }
}

function failed(err: unknown): Reply {
  return { status: 500, headers: { ...JSON_HEADERS }, body: JSON.stringify({ error: String(err) }) };
}

function toReply(ex: Exchange, result: unknown): Reply {
  if (isReply(result)) return ex.method === 'HEAD' ? { ...result, body: '' } : result;
  const body = JSON.stringify(result);
  return {
    status: 200,
    headers: { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) },
    body: ex.method === 'HEAD' ? '' : body,
  };
}

function isReply(v: unknown): v is Reply {
  return typeof v === 'object' && v !== null && typeof (v as Reply).status === 'number' && 'body' in v && 'headers' in v;
}
