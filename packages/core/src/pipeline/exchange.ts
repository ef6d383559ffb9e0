import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { spanMethod, type NormalizedMethod } from '../routing/http-method.js';
import { isPlainTarget, requestTarget, rulePathOf, type RouteMatching } from '../routing/request-target.js';
import type { RequestView, ResponseView } from './request-view.js';

/**
 * The state of one request as it moves through the pipeline: one object per request, created by
 * `Autom8.begin`, with every field declared up front so V8 keeps one shape.
 */
export class Exchange {
  /** Method as reported (`_OTHER` for unknown methods). */
  readonly method: NormalizedMethod;
  /**
   * Path without the query string, as the router reads it (not decoded): the path of an
   * absolute-form target (`http://host/login` → `/login`), without a `#fragment`.
   */
  readonly path: string;
  /**
   * The path every rule is matched against: {@link path}, in lower case unless the app's routes
   * are case sensitive (see {@link routing}).
   */
  readonly rulePath: string;
  /** How the app's router matches paths, which rules follow (see `RouteTable.lookup`). */
  readonly routing: RouteMatching;
  /**
   * False for a target that is not a plain path (absolute form, `#fragment`): the router serves it
   * as {@link path}, but the app sees the target as sent, so nothing it answers is shared.
   */
  readonly plainTarget: boolean;
  /**
   * Route template from the framework's router (`/api/users/:id`), once it is known. Set only
   * through {@link setRoute} (or, at the end, by the adapter's {@link lateRoute}).
   */
  readonly route: string | undefined = undefined;
  /**
   * Set by an adapter that settles the route only at the end of the request: called once, when the
   * response ended; its answer (if any) replaces `route`.
   */
  lateRoute: ((ex: Exchange) => string | undefined) | undefined = undefined;
  /** The adapter's own per-request state (Koa's `ctx`), for its `lateRoute`. */
  context: unknown = undefined;
  /** `http` or `https` (read once, at request start, when telemetry needs it). */
  scheme = 'http';
  /** True when the exempt rule covers this request: never limited, shed or cached. */
  exempt = false;
  /** Clock time (ms) at request start. */
  readonly startTime: number;
  /** Clock time (ms) when the response ended; 0 until then. */
  endTime = 0;
  /** At the end: true when the app ended the response (`end()`); false when the client left first. */
  finished = false;
  /** Final status once the response ended (499 when the client left before any status); 0 until then. */
  status = 0;
  /**
   * Once the response ended: the route template the request is counted under (the router's, else
   * for a non-404 the configured or learned one), or undefined for `unmatched`. Never the raw URL.
   */
  finalRoute: string | undefined = undefined;
  /** The SERVER span autom8 started, or the outer one it enriches; undefined when tracing is off. */
  span: Span | undefined = undefined;
  /** False when `span` belongs to an outer instrumentation that autom8 only enriches. */
  ownsSpan = false;
  /** The outer http instrumentation's RPC metadata, given our route at the end. */
  rpcMetadata: { route?: string } | undefined = undefined;
  /** True for autom8's own monitoring endpoints (not recorded as app traffic). */
  monitoring = false;
  /** OTel context the app's handlers run in (carries the span). */
  otelContext: Context | undefined = undefined;
  /** Extra attributes features add to the request-duration metric (e.g. the cache outcome). */
  metricAttributes: Attributes | undefined = undefined;
  /**
   * Per-request state of the features, read and written only through an {@link ExchangeSlot}
   * (`host.slot()`): declared fields, so keeping state costs no allocation and the shape never changes.
   * @internal
   */
  slot0: unknown = undefined;
  /** @internal see {@link slot0} */
  slot1: unknown = undefined;
  /** @internal see {@link slot0} */
  slot2: unknown = undefined;
  /** @internal see {@link slot0} */
  slot3: unknown = undefined;
  /**
   * The request headers and socket, read once at the start: an adapter may begin the exchange
   * before its framework makes the request object slow to read (Express swaps its prototype), and
   * features then read these instead.
   */
  readonly headers: IncomingHttpHeaders;
  readonly socket: RequestView['socket'];
  /** @internal the query of a target that is not a plain path (absolute form, `#`). */
  private otherQuery: string | undefined = undefined;
  /** @internal memo of {@link clientAddress}. */
  client: string | undefined = undefined;
  /** @internal memo of the configured-route lookup (null: looked up, none). */
  policyRoute: string | null | undefined = undefined;

  constructor(
    readonly req: RequestView,
    readonly res: ResponseView,
    /** Path and query as received (`req.originalUrl` in Express, `ctx.originalUrl` in Koa). */
    readonly url: string,
    method: NormalizedMethod,
    startTime: number,
    routing: RouteMatching,
  ) {
    this.method = method;
    this.headers = req.headers;
    this.socket = req.socket;
    this.plainTarget = isPlainTarget(url);
    if (this.plainTarget) {
      const q = url.indexOf('?');
      this.path = q === -1 ? url : url.slice(0, q);
    } else {
      const target = requestTarget(url);
      this.path = target.path;
      this.otherQuery = target.query;
    }
    this.rulePath = rulePathOf(this.path, routing);
    this.routing = routing;
    this.startTime = startTime;
  }

  /**
   * Records the route template the framework's router matched. When autom8 only enriches an outer
   * instrumentation's span, the span and its RPC metadata learn the route now: the outer
   * instrumentation ends its span on 'finish', before autom8's end of request.
   */
  setRoute(template: string): void {
    (this as { route: string | undefined }).route = template;
    if (this.span !== undefined && !this.ownsSpan) {
      this.span.updateName(`${spanMethod(this.method)} ${template}`);
      this.span.setAttribute('http.route', template);
      if (this.rpcMetadata !== undefined) this.rpcMetadata.route = template;
    }
  }

  /** The raw query string without `?` ('' when none). */
  get query(): string {
    if (this.otherQuery !== undefined) return this.otherQuery;
    const q = this.url.indexOf('?');
    return q === -1 ? '' : this.url.slice(q + 1);
  }

  /** The first value of a request header (lower-case name). */
  header(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }
}

/** How many {@link ExchangeSlot}s one engine can hand out (the declared `slot0`…`slot3` fields). */
export const EXCHANGE_SLOTS = 4;

/**
 * A feature's typed per-request state: `slot.set(ex, value)` at request start, `slot.get(ex)` later
 * (undefined until set). Obtained once, at construction, from `host.slot()`; each one owns one
 * declared field of the exchange, so reads and writes allocate nothing.
 */
export class ExchangeSlot<T> {
  /** @internal use `host.slot()`. */
  constructor(private readonly index: number) {
    if (!Number.isInteger(index) || index < 0 || index >= EXCHANGE_SLOTS) {
      throw new RangeError(`autom8: no exchange slot left (an engine has ${EXCHANGE_SLOTS})`);
    }
  }

  /** The value stored for this request, or undefined. */
  get(ex: Exchange): T | undefined {
    switch (this.index) {
      case 0:
        return ex.slot0 as T | undefined;
      case 1:
        return ex.slot1 as T | undefined;
      case 2:
        return ex.slot2 as T | undefined;
      default:
        return ex.slot3 as T | undefined;
    }
  }

  /** Stores `value` for this request (undefined clears it). */
  set(ex: Exchange, value: T | undefined): void {
    switch (this.index) {
      case 0:
        ex.slot0 = value;
        break;
      case 1:
        ex.slot1 = value;
        break;
      case 2:
        ex.slot2 = value;
        break;
      default:
        ex.slot3 = value;
    }
  }
}
