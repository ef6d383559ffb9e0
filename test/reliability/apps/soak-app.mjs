// The soak scenario's server: Express 5 with every autom8 feature on (metrics, OTel spans and
// metrics on the real SDK, rate limit, shed, response cache, SLO, slow log, dashboard) and
// `trustProxy`, so X-Forwarded-For makes many distinct clients. Forked with IPC and --expose-gc:
//   'sample' → { type: 'sample', heapUsed, rss, otelPoints, spans, slowLines, warnings } after a full GC, so heap
//   figures are live objects only (this test-only hook stays out of library code);
// and { type: 'fatal' } for any uncaught exception or unhandled rejection.
import http from 'node:http';
import express from 'express';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { autom8Express } from '@autom8/express';

const send = (msg) => process.send?.(msg);
process.on('uncaughtException', (err) => {
  send({ type: 'fatal', kind: 'uncaughtException', message: String(err?.stack ?? err) });
  setTimeout(() => process.exit(1), 50);
});
process.on('unhandledRejection', (err) => send({ type: 'fatal', kind: 'unhandledRejection', message: String(err?.stack ?? err) }));
process.on('disconnect', () => process.exit(0));

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
// Spans go through the SDK's batch processor to an exporter that counts and drops them, so what
// is measured is the SDK's steady state, not an ever-growing in-memory list.
let spans = 0;
const exporter = {
  export(batch, done) {
    spans += batch.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
};
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })] });
// Cumulative metrics read on demand: the number of data points is the OTel series count.
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });

let slowLines = 0;
let warnings = 0;
const logger = {
  info() {},
  warn: (o) => {
    if (o?.event === 'autom8.slow_request') slowLines++;
    else warnings++;
  },
  error: (o, m) => send({ type: 'log-error', message: String(m ?? JSON.stringify(o)) }),
};

const mw = autom8Express({
  logger,
  trustProxy: true,
  telemetry: { tracerProvider, meterProvider },
  // Caps that fill within the first seconds (100,000 clients, random ids): after the warm-up,
  // memory must not grow at all. The default caps (100,000 keys, 10,000 entries) only take longer.
  rateLimit: { rate: 1000, per: 'minute', maxKeys: 1_000, routes: { 'POST /login': { name: 'login', rate: 5, per: 'minute' } } },
  // On (every request is judged), with limits a starved process on a crowded 2-core host (and the
  // sampler's forced GC each second) does not reach: a shed 503 here would be the host, not autom8.
  shed: { limits: { maxEventLoopDelayMs: 5_000, maxEventLoopUtilization: 1 }, maxQueueDelayMs: 0 },
  cache: { maxEntries: 500, routes: { 'GET /users/:id': { ttl: 30_000 }, 'GET /api/v2/things/:id': { ttl: 5_000 }, 'GET /search': false } },
  slo: { objectives: [{ name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 } }] },
  slowLog: { thresholdMs: 25 },
  dashboard: true,
});
const app = express();
app.use(mw);
app.get('/users/:id', (req, res) => res.json({ id: req.params.id, name: `user-${req.params.id}` }));
app.get('/items/:itemId/reviews/:reviewId', (req, res) => {
  res.set('cache-control', 'no-store');
  res.json({ item: req.params.itemId, review: req.params.reviewId });
});
app.get('/search', (req, res) => res.json({ q: req.query.q ?? '', hits: [] }));
app.post('/login', (_req, res) => res.status(204).end());
app.get('/slow', (_req, res) => setTimeout(() => res.json({ slow: true }), 10 + Math.floor(Math.random() * 30)));
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
const v2 = express.Router();
v2.get('/things/:id', (req, res) => res.json({ thing: req.params.id }));
app.use('/api/v2', v2);

const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));

process.on('message', async (m) => {
  if (m !== 'sample') return;
  globalThis.gc();
  const mem = process.memoryUsage();
  const { resourceMetrics } = await reader.collect();
  let otelPoints = 0;
  for (const sm of resourceMetrics.scopeMetrics) for (const metric of sm.metrics) otelPoints += metric.dataPoints.length;
  send({ type: 'sample', heapUsed: mem.heapUsed, rss: mem.rss, otelPoints, spans, slowLines, warnings });
});
