import {
  context,
  createNoopMeter,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  metrics,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Histogram as OtelHistogram,
  type Meter,
  type MeterProvider,
  type ObservableResult,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Exchange } from '../pipeline/exchange.js';
import type { RouteSeries } from '../metrics/route-metrics.js';
import { VERSION } from '../version.js';
import { normalizeMethod, spanMethod } from '../routing/http-method.js';

/**
 * How autom8's spans and the OTel HTTP instrumentation share a request:
 * - `auto` (default): if a recording span is already active when autom8 sees the request (the
 *   `@opentelemetry/instrumentation-http` SERVER span), enrich it; otherwise create our own.
 * - `own`: always create a SERVER span and record `http.server.request.duration`.
 * - `enrich`: never create spans or the duration metric; only name the active span and give it
 *   `http.route` (and the http instrumentation's own metric its route).
 */
export type TelemetryMode = 'auto' | 'own' | 'enrich';

export interface TelemetryConfig {
  enabled: boolean;
  mode: TelemetryMode;
  tracerProvider: TracerProvider | undefined;
  meterProvider: MeterProvider | undefined;
  /** Record the opt-in `http.server.{request,response}.body.size` histograms. */
  bodySizeMetrics: boolean;
}

/** Advised buckets of `http.server.request.duration` (OTel HTTP semantic conventions), seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

// The context key the OTel http instrumentation reads `http.route` from (RPC metadata). The API's
// createContextKey is Symbol.for(description), so the same key is reachable without the SDK.
const RPC_METADATA_KEY = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');

interface RpcMetadata {
  type?: string;
  route?: string;
}

// What the API hands out while no SDK is registered (the same objects every time): with these, a
// span or a record would be dropped, so the attributes for it are not built. A provider or meter
// from another copy of the API never compares equal, and takes the ordinary path.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_HISTOGRAM = createNoopMeter().createHistogram('noop');

// Marks the spans autom8 started itself, so announceRoute can leave them to end() (see there).
const kOwnSpan = Symbol('autom8.ownSpan');

/**
 * Tells an outer instrumentation's open SERVER span (the OTel http instrumentation's) the route,
 * through the active context: names the span and gives it and its RPC metadata `http.route`. For
 * adapters that learn the route where no Exchange is at hand. A no-op on autom8's own span, which
 * gets its name at its end (renaming it here too would cost every request twice), and without a
 * recording span.
 */
export function announceRoute(req: { method?: string | undefined }, template: string): void {
  const active = context.active();
  const span = trace.getSpan(active);
  if (span === undefined || (span as { [kOwnSpan]?: true })[kOwnSpan] === true || !span.isRecording()) return;
  // The method is read only now: reads on framework request objects are not free.
  span.updateName(`${spanMethod(normalizeMethod(req.method))} ${template}`);
  span.setAttribute('http.route', template);
  const rpc = active.getValue(RPC_METADATA_KEY) as RpcMetadata | undefined;
  if (rpc !== undefined) rpc.route = template;
}

/**
 * Server spans and HTTP metrics following the OTel HTTP semantic conventions, through
 * `@opentelemetry/api` only: with no SDK registered every call is a no-op.
 */
export class HttpTelemetry {
  private tracer: Tracer;
  /** The global API's proxy the tracer came from, while it may still have no SDK behind it. */
  private readonly proxy: ProxyTracerProvider | undefined;
  private meter: Meter | undefined;
  /** False while the duration histogram is the API's no-op (no meter provider when it was made). */
  private metering = false;
  private duration: OtelHistogram | undefined;
  private requestBodySize: OtelHistogram | undefined;
  private responseBodySize: OtelHistogram | undefined;
  /** In-flight requests per (scheme, method), reported by an observable up-down counter. */
  private readonly active = new Map<string, { attributes: Attributes; n: number }>();

  constructor(
    private readonly config: TelemetryConfig,
    /** The engine's client address under `trustProxy`, for `client.address`. */
    private readonly clientAddress?: (ex: Exchange) => string,
  ) {
    const provider = config.tracerProvider ?? trace.getTracerProvider();
    this.proxy = provider instanceof ProxyTracerProvider ? provider : undefined;
    this.tracer = provider.getTracer('@autom8/core', VERSION);
  }

  /** True while the tracer is the API's no-op: no SDK registered (yet). */
  private get untraced(): boolean {
    return this.proxy !== undefined && this.proxy.getDelegate() === NOOP_TRACER_PROVIDER;
  }

  /**
   * Instruments are created on the first request, not at construction: the app usually starts the
   * OTel SDK after building its middleware, and a meter taken before that stays a no-op forever.
   */
  private instruments(): void {
    const meter = (this.meter = (this.config.meterProvider ?? metrics.getMeterProvider()).getMeter('@autom8/core', VERSION));
    this.duration = meter.createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.metering = this.duration !== NOOP_HISTOGRAM;
    meter
      .createObservableUpDownCounter('http.server.active_requests', {
        description: 'Number of active HTTP server requests.',
        unit: '{request}',
      })
      .addCallback((result: ObservableResult) => {
        for (const a of this.active.values()) result.observe(a.n, a.attributes);
      });
    if (this.config.bodySizeMetrics) {
      this.requestBodySize = meter.createHistogram('http.server.request.body.size', { description: 'Size of HTTP server request bodies.', unit: 'By' });
      this.responseBodySize = meter.createHistogram('http.server.response.body.size', { description: 'Size of HTTP server response bodies.', unit: 'By' });
    }
  }

  /** The meter autom8's features create their instruments on (same provider rules). */
  getMeter(): Meter {
    if (this.meter === undefined) this.instruments();
    return this.meter!;
  }

  /** At request start: counts the request in flight and starts (or finds) its SERVER span. */
  start(ex: Exchange, scheme: string): void {
    if (this.duration === undefined) this.instruments();
    // The in-flight gauge is read only by a meter provider's callback.
    if (this.metering) {
      const activeKey = scheme === 'https' ? `s${ex.method}` : ex.method;
      let a = this.active.get(activeKey);
      if (a === undefined) {
        a = { attributes: { 'http.request.method': ex.method, 'url.scheme': scheme }, n: 0 };
        this.active.set(activeKey, a);
      }
      a.n++;
    }

    if (this.config.mode !== 'own') {
      const activeCtx = context.active();
      const outer = trace.getSpan(activeCtx);
      if (outer !== undefined && outer.isRecording()) {
        ex.span = outer;
        ex.ownsSpan = false;
        ex.rpcMetadata = activeCtx.getValue(RPC_METADATA_KEY) as RpcMetadata | undefined;
        return;
      }
      if (this.config.mode === 'enrich') return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, ex.headers);
    if (this.untraced) {
      // No SDK: the no-op tracer's span would only carry the incoming trace context, if any; carry
      // it the same way, without the attributes the span would drop.
      const incoming = trace.getSpanContext(parent);
      if (incoming !== undefined && isSpanContextValid(incoming)) {
        const span = trace.wrapSpanContext(incoming);
        ex.span = span;
        ex.ownsSpan = true;
        ex.otelContext = trace.setSpan(parent, span);
      }
      return;
    }
    const attributes: Attributes = {
      'http.request.method': ex.method,
      'url.path': ex.path,
      'url.scheme': scheme,
    };
    if (ex.method === '_OTHER') attributes['http.request.method_original'] = ex.req.method ?? '';
    const query = ex.query;
    if (query !== '') attributes['url.query'] = redactQuery(query);
    const ua = ex.headers['user-agent'];
    if (ua !== undefined) attributes['user_agent.original'] = ua;
    const span = this.tracer.startSpan(spanMethod(ex.method), { kind: SpanKind.SERVER, attributes, startTime: ex.startTime }, parent);
    ex.span = span;
    ex.ownsSpan = true;
    if (span.isRecording()) {
      (span as { [kOwnSpan]?: true })[kOwnSpan] = true;
      ex.otelContext = trace.setSpan(parent, span);
      // Recommended attributes, built only for a span that records them.
      this.addConnectionAttributes(span, ex);
    } else {
      // Without an SDK every span carries the API's shared invalid context: the identity test
      // spares the no-op path the hex validation of its ids.
      const sc = span.spanContext();
      if (sc === INVALID_SPAN_CONTEXT || !isSpanContextValid(sc)) return;
      // Sampled out, but its context still travels: the app's spans must see "not sampled"
      // rather than start traces of their own.
      ex.otelContext = trace.setSpan(parent, span);
    }
  }

  /**
   * The HTTP semantic conventions' recommended server-span attributes: where the request was sent
   * (`server.address`/`server.port` from the Host header, else the listener's port), who sent it
   * (`client.address`, the address the rate limiter counts, under `trustProxy`), the connection's
   * peer, and the protocol version.
   */
  private addConnectionAttributes(span: Span, ex: Exchange): void {
    // One setAttribute each, in this order, rather than an object for setAttributes: the SDK would
    // only walk that object back into setAttribute calls.
    const socket = ex.socket;
    const host = ex.headers.host;
    let port: number | undefined;
    if (host !== undefined && host.length > 0) {
      const parts = splitHost(host);
      span.setAttribute('server.address', parts.address);
      port = parts.port;
    }
    if (port === undefined) port = socket?.localPort;
    if (port !== undefined) span.setAttribute('server.port', port);
    if (this.clientAddress !== undefined) span.setAttribute('client.address', this.clientAddress(ex));
    const peerAddress = socket?.remoteAddress;
    if (peerAddress !== undefined) span.setAttribute('network.peer.address', peerAddress);
    const peerPort = socket?.remotePort;
    if (peerPort !== undefined) span.setAttribute('network.peer.port', peerPort);
    const version = ex.req.httpVersion;
    if (version !== undefined) span.setAttribute('network.protocol.version', version === '2.0' ? '2' : version);
  }

  /** At response end: finishes the span and records the duration metric. */
  end(ex: Exchange, status: number, scheme: string, series: RouteSeries): void {
    if (this.metering) {
      const a = this.active.get(scheme === 'https' ? `s${ex.method}` : ex.method);
      if (a !== undefined) a.n--;
    }
    const route = series.isTemplate ? series.route : undefined;
    const span = ex.span;
    // A span we only enrich was named by Exchange.setRoute while it was still open.
    if (span !== undefined && ex.ownsSpan) {
      // A span that is not recording (no SDK, or sampled out) drops names and attributes: skip
      // building them.
      if (!span.isRecording()) span.end(ex.endTime);
      else this.finishSpan(span, ex, status, route);
    }
    // With an outer http instrumentation, it records the duration metric; we must not double-count.
    if (this.config.mode === 'enrich' || (span !== undefined && !ex.ownsSpan) || !this.metering) return;
    const attrs = this.durationAttributes(series, ex.method, status, scheme, route, ex.req.httpVersion);
    const extra = ex.metricAttributes;
    // The request's own context, not whatever is active when the response closes: an SDK that
    // samples exemplars takes their trace and span ids from it.
    const ctx = ex.otelContext;
    this.duration!.record((ex.endTime - ex.startTime) / 1000, extra === undefined ? attrs : { ...attrs, ...extra }, ctx);
    if (this.requestBodySize !== undefined) {
      const reqLen = Number(ex.headers['content-length']);
      if (reqLen >= 0) this.requestBodySize.record(reqLen, attrs, ctx);
      const resLen = Number(ex.res.getHeader('content-length'));
      if (resLen >= 0) this.responseBodySize!.record(resLen, attrs, ctx);
    }
  }

  private finishSpan(span: Span, ex: Exchange, status: number, route: string | undefined): void {
    if (route !== undefined) {
      span.updateName(`${spanMethod(ex.method)} ${route}`);
      span.setAttribute('http.route', route);
    }
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(ex.endTime);
  }

  /**
   * The attribute set the HTTP semantic conventions give `http.server.request.duration` and the body
   * size histograms: required method and scheme; status, route and error.type when there is one;
   * the recommended protocol version. `network.protocol.name` is required only when it is not
   * `http`, and `server.address`/`server.port` are opt-in (they come from the Host header, which a
   * client picks): neither is set. One frozen object per (route, status, scheme, version): no
   * allocation per request.
   */
  private durationAttributes(
    series: RouteSeries,
    method: string,
    status: number,
    scheme: string,
    route: string | undefined,
    httpVersion: string | undefined,
  ): Attributes {
    const v = protocolVersionCode(httpVersion);
    const key = (scheme === 'https' ? -1 : 1) * (v * 1000 + status);
    // The overflow series mixes methods, so its attributes are not cached.
    let attrs = series.method === method ? series.otelAttributes.get(key) : undefined;
    if (attrs === undefined) {
      attrs = { 'http.request.method': method, 'url.scheme': scheme, 'http.response.status_code': status };
      if (route !== undefined) attrs['http.route'] = route;
      if (status >= 500) attrs['error.type'] = String(status);
      if (v !== 0) attrs['network.protocol.version'] = PROTOCOL_VERSIONS[v]!;
      Object.freeze(attrs);
      if (series.method === method) series.otelAttributes.set(key, attrs);
    }
    return attrs;
  }
}

// `network.protocol.version` values as the conventions spell them (HTTP/2 is `2`), indexed by
// protocolVersionCode. Only these: the version is in the request line, so a metric attribute taken
// from it verbatim would let clients add series.
const PROTOCOL_VERSIONS = [undefined, '1.1', '1.0', '2'] as const;

/** Index in PROTOCOL_VERSIONS of Node's `httpVersion`, 0 for none or another. */
function protocolVersionCode(httpVersion: string | undefined): number {
  switch (httpVersion) {
    case '1.1':
      return 1;
    case '1.0':
      return 2;
    case '2.0':
      return 3;
    default:
      return 0;
  }
}

// The query parameters the HTTP semantic conventions name as credentials (signed URLs): their values
// are replaced by REDACTED in `url.query`.
const SIGNED_PARAM = /(^|&)(AWSAccessKeyId|Signature|sig|X-Goog-Signature)=[^&]*/g;

/** `url.query` as the conventions want it: as received, signed-URL credentials redacted. */
export function redactQuery(query: string): string {
  return query.indexOf('ig') === -1 && query.indexOf('AWSAccessKeyId') === -1 ? query : query.replace(SIGNED_PARAM, '$1$2=REDACTED');
}

/** `example.com:8080` → address and port; `[::1]:3000` → `::1` and 3000; a bad port is left out. */
export function splitHost(host: string): { address: string; port: number | undefined } {
  let end = host.length;
  let address: string;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    if (close === -1) return { address: host, port: undefined };
    address = host.slice(1, close);
    end = close + 1;
  } else {
    // A loop, not lastIndexOf: V8 does not inline that one, and calls into C++ for it every request.
    let colon = host.length - 1;
    while (colon >= 0 && host.charCodeAt(colon) !== 0x3a /* : */) colon--;
    address = colon === -1 ? host : host.slice(0, colon);
    end = colon === -1 ? host.length : colon;
  }
  if (end >= host.length || host.charCodeAt(end) !== 0x3a /* : */) return { address, port: undefined };
  return { address, port: parsePort(host, end + 1) };
}

/** The port `host` ends with from `from`: 1-5 characters, 0-65535, as `Number()` reads them. */
function parsePort(host: string, from: number): number | undefined {
  if (from >= host.length || host.length - from > 5) return undefined;
  let port = 0;
  for (let i = from; i < host.length; i++) {
    const digit = host.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) {
      // Not plain digits (a sign, spaces, hex, an exponent): Number() decides, as it always has.
      const n = Number(host.slice(from));
      return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
    }
    port = port * 10 + digit;
  }
  return port <= 65535 ? port : undefined;
}
