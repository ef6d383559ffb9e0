// The SDK floor: the least a correct OTel server instrumentation does per request, written by hand
// for one framework, with nothing else (no rate limiting, no histograms of its own, no caching).
// It pays exactly what any instrumentation pays the registered SDK for one request: the W3C
// traceparent extracted, one SERVER span with the HTTP semantic conventions' required attributes,
// the span made the active context for the rest of the chain (AsyncLocalStorage), and one
// `http.server.request.duration` record. What a stack with the SDK costs beyond this floor is the
// instrumentation's own work; the floor itself is the SDK's (and Node's async context tracking).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

function instruments() {
  const tracer = api.trace.getTracer('otel-floor');
  const duration = api.metrics
    .getMeter('otel-floor')
    .createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
  return { tracer, duration };
}

/** Starts the span; `finish(route, status)` ends it and records the duration. */
function begin(tracer, duration, method, path, headers) {
  const start = Date.now();
  const parent = api.propagation.extract(api.ROOT_CONTEXT, headers);
  const span = tracer.startSpan(
    method,
    { kind: api.SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path, 'url.scheme': 'http' } },
    parent,
  );
  return {
    context: api.trace.setSpan(parent, span),
    finish(route, status) {
      const attributes = { 'http.request.method': method, 'url.scheme': 'http', 'http.response.status_code': status };
      if (route !== undefined) {
        attributes['http.route'] = route;
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', status);
      span.end();
      duration.record((Date.now() - start) / 1000, attributes);
    },
  };
}

/** Express middleware (first in the app). */
export function expressOtelFloor() {
  const { tracer, duration } = instruments();
  return (req, res, next) => {
    const r = begin(tracer, duration, req.method, req.path, req.headers);
    res.once('finish', () => r.finish(req.route ? req.baseUrl + req.route.path : undefined, res.statusCode));
    api.context.with(r.context, next);
  };
}

/** Koa middleware (first in the app; @koa/router sets ctx._matchedRoute). */
export function koaOtelFloor() {
  const { tracer, duration } = instruments();
  return (ctx, next) => {
    const r = begin(tracer, duration, ctx.method, ctx.path, ctx.headers);
    ctx.res.once('finish', () => r.finish(ctx._matchedRoute, ctx.status));
    return api.context.with(r.context, next);
  };
}
