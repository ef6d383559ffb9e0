// OpenTelemetry conformance on every adapter, with the real SDK and in-memory exporters:
// SERVER spans named `{method} {route}` with HTTP semantic-convention attributes, continuing an
// incoming W3C traceparent, and the http.server.request.duration histogram.
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, createNoopMeter, propagation, ProxyTracerProvider, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

for (const adapter of ADAPTERS) {
  describe(`OpenTelemetry on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });

    before(async () => {
      app = buildApp(adapter, { telemetry: { tracerProvider, meterProvider } });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    });

    const serverSpans = () => spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    const waitForSpans = async (n: number): Promise<ReadableSpan[]> => {
      for (let i = 0; i < 100 && serverSpans().length < n; i++) await new Promise((r) => setTimeout(r, 10));
      return serverSpans();
    };

    test('SERVER span named {method} {route} with semantic-convention attributes, continuing traceparent', async () => {
      spans.reset();
      const res = await fetch(`${base}/api/items/42?x=1`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } });
      assert.equal(res.status, 200);
      const [span] = await waitForSpans(1);
      assert.ok(span);
      assert.equal(span.name, 'GET /api/items/:itemId');
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.spanContext().traceId, TRACE_ID);
      assert.equal(span.parentSpanContext?.spanId, PARENT_SPAN);
      assert.equal(span.attributes['http.request.method'], 'GET');
      assert.equal(span.attributes['http.route'], '/api/items/:itemId');
      assert.equal(span.attributes['url.path'], '/api/items/42');
      assert.equal(span.attributes['url.scheme'], 'http');
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.equal(span.attributes['error.type'], undefined);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
    });

    test('span status: error with error.type for 5xx, unset for 4xx', async () => {
      spans.reset();
      await (await fetch(`${base}/boom`)).text();
      await (await fetch(`${base}/admin/stats`)).text();
      const got = await waitForSpans(2);
      const boom = got.find((s) => s.attributes['http.response.status_code'] === 500)!;
      assert.equal(boom.status.code, SpanStatusCode.ERROR);
      assert.equal(boom.attributes['error.type'], '500');
      const denied = got.find((s) => s.attributes['http.response.status_code'] === 401)!;
      assert.equal(denied.status.code, SpanStatusCode.UNSET);
    });

    test('unknown methods are reported as _OTHER with the original kept', async () => {
      spans.reset();
      await (await fetch(`${base}/users/1`, { method: 'PURGE' })).text();
      const [span] = await waitForSpans(1);
      assert.equal(span!.attributes['http.request.method'], '_OTHER');
      assert.equal(span!.attributes['http.request.method_original'], 'PURGE');
      // The span name's method MUST be HTTP then (the route is not known: no route takes PURGE).
      assert.match(span!.name, /^HTTP( |$)/);
    });

    test('recommended attributes: server, client and peer addresses, protocol version', async () => {
      spans.reset();
      const port = Number(new URL(base).port);
      await (await fetch(`${base}/users/5`)).text();
      const [span] = await waitForSpans(1);
      const a = span!.attributes;
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(a['server.port'], port);
      assert.equal(a['client.address'], '127.0.0.1');
      assert.equal(a['network.peer.address'], '127.0.0.1');
      assert.equal(typeof a['network.peer.port'], 'number');
      assert.notEqual(a['network.peer.port'], port);
      assert.equal(a['network.protocol.version'], '1.1');
    });

    test('client.address follows trustProxy; network.peer.address stays the socket peer', async () => {
      const proxied = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(proxied)] });
      const behind = buildApp(adapter, { trustProxy: ['127.0.0.1'], telemetry: { tracerProvider: provider } });
      const url = await listen(behind.server);
      try {
        // fetch() may not set Host: node's http client does.
        await new Promise<void>((resolve, reject) => {
          const req = http.get(`${url}/users/6`, { headers: { 'x-forwarded-for': '203.0.113.9', host: 'shop.example:8443' } }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
        });
        for (let i = 0; i < 200 && proxied.getFinishedSpans().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
        const a = proxied.getFinishedSpans()[0]!.attributes;
        assert.equal(a['client.address'], '203.0.113.9');
        assert.equal(a['network.peer.address'], '127.0.0.1');
        assert.equal(a['server.address'], 'shop.example');
        assert.equal(a['server.port'], 8443);
      } finally {
        await close(behind.server);
        await behind.engine.close();
        await provider.shutdown();
      }
    });

    test('url.query is set when the request has a query, with signed-URL credentials redacted', async () => {
      spans.reset();
      await (await fetch(`${base}/users/1?b=2&sig=abc&X-Goog-Signature=def&a=1`)).text();
      await (await fetch(`${base}/users/2`)).text();
      const got = await waitForSpans(2);
      const withQuery = got.find((s) => s.attributes['url.path'] === '/users/1')!;
      assert.equal(withQuery.attributes['url.query'], 'b=2&sig=REDACTED&X-Goog-Signature=REDACTED&a=1');
      const without = got.find((s) => s.attributes['url.path'] === '/users/2')!;
      assert.equal(without.attributes['url.query'], undefined);
    });

    test('monitoring endpoints produce no spans', async () => {
      spans.reset();
      await (await fetch(`${base}/api/v1/metrics`)).text();
      await (await fetch(`${base}/users/7`)).text();
      const got = await waitForSpans(1);
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        serverSpans().map((s) => s.name),
        ['GET /users/:id'],
      );
      assert.equal(got.length, 1);
    });

    test('exemplars carry the trace ids of the slowest requests', async () => {
      await (await fetch(`${base}/slow`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } })).text();
      const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
      const ex = m.routes['GET /slow'].windows['1m'].exemplars;
      assert.equal(ex.length, 1);
      assert.equal(ex[0].traceId, TRACE_ID);
      assert.ok(ex[0].durationMs >= 50);
      assert.equal(ex[0].status, 200);
    });

    test('http.server.request.duration histogram data points', async () => {
      for (let i = 0; i < 3; i++) await (await fetch(`${base}/users/${i}`)).text();
      await (await fetch(`${base}/boom`)).text();
      await reader.forceFlush();
      const rm = metricExporter.getMetrics().at(-1)!;
      const all = rm.scopeMetrics.flatMap((s) => s.metrics);
      const duration = all.find((m) => m.descriptor.name === 'http.server.request.duration') as HistogramMetricData;
      assert.ok(duration, `metrics: ${all.map((m) => m.descriptor.name)}`);
      assert.equal(duration.descriptor.unit, 's');
      const users = duration.dataPoints.find((p) => p.attributes['http.route'] === '/users/:id' && p.attributes['http.response.status_code'] === 200);
      assert.ok(users);
      assert.ok(users.value.count >= 3);
      assert.equal(users.attributes['http.request.method'], 'GET');
      assert.equal(users.attributes['url.scheme'], 'http');
      assert.deepEqual(users.value.buckets.boundaries, [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
      const boom = duration.dataPoints.find((p) => p.attributes['http.route'] === '/boom')!;
      assert.equal(boom.attributes['error.type'], '500');
      // The stable conventions' set: required, conditionally required when there is one, and the
      // recommended protocol version; server.* are opt-in and network.protocol.name is only for
      // protocols other than http.
      assert.deepEqual(Object.keys(users.attributes).sort(), [
        'http.request.method',
        'http.response.status_code',
        'http.route',
        'network.protocol.version',
        'url.scheme',
      ]);
      assert.equal(users.attributes['network.protocol.version'], '1.1');
      assert.deepEqual(Object.keys(boom.attributes).sort(), [
        'error.type',
        'http.request.method',
        'http.response.status_code',
        'http.route',
        'network.protocol.version',
        'url.scheme',
      ]);
      const active = all.find((m) => m.descriptor.name === 'http.server.active_requests');
      assert.ok(active, 'http.server.active_requests exported');
    });

    test('an HTTP/1.0 request is its own duration series, network.protocol.version 1.0', async () => {
      const { port } = new URL(base);
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET /users/10 HTTP/1.0\r\nHost: x\r\n\r\n'));
        socket.on('data', () => {});
        socket.on('end', resolve);
        socket.on('error', reject);
      });
      await reader.forceFlush();
      const all = metricExporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((s) => s.metrics);
      const duration = all.find((m) => m.descriptor.name === 'http.server.request.duration') as HistogramMetricData;
      const users = duration.dataPoints.filter((p) => p.attributes['http.route'] === '/users/:id' && p.attributes['http.response.status_code'] === 200);
      assert.deepEqual(users.map((p) => p.attributes['network.protocol.version']).sort(), ['1.0', '1.1']);
      assert.equal(users.find((p) => p.attributes['network.protocol.version'] === '1.0')!.value.count, 1);
    });

    test('http.server.active_requests goes up while a request is in flight and back to 0 after it', async () => {
      const active = async (): Promise<number> => {
        await reader.forceFlush();
        const all = metricExporter
          .getMetrics()
          .at(-1)!
          .scopeMetrics.flatMap((s) => s.metrics);
        const m = all.find((x) => x.descriptor.name === 'http.server.active_requests') as SumMetricData | undefined;
        return (m?.dataPoints ?? []).reduce((sum, p) => sum + p.value, 0);
      };
      const until = async (cond: () => boolean, what: string) => {
        for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
        assert.ok(cond(), what);
      };
      await until(() => app.engine.inFlight === 0, 'earlier requests still in flight');
      assert.equal(await active(), 0, 'active requests before');
      const slow = fetch(`${base}/slow`).then((r) => r.text());
      await until(() => app.engine.inFlight === 1, 'the /slow request never arrived');
      assert.equal(await active(), 1, 'active requests during /slow');
      await slow;
      await until(() => app.engine.inFlight === 0, 'the /slow request never ended');
      assert.equal(await active(), 0, 'active requests after');
    });

    test("the app's handlers run inside the SERVER span's context (after awaits too)", async () => {
      spans.reset();
      const body: any = await (await fetch(`${base}/whoami`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } })).json();
      const [server] = await waitForSpans(1);
      assert.equal(server!.name, 'GET /whoami');
      assert.equal(body.spanId, server!.spanContext().spanId);
      assert.equal(trace.getSpan(context.active()), undefined, 'no span leaks into the test context');
    });

    test('a caller that sampled the trace out: no span recorded, but the handlers still see its trace, not sampled', async () => {
      spans.reset();
      const body: any = await (await fetch(`${base}/whoami`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-00` } })).json();
      // Without the unsampled context, the app's own spans would start traces of their own.
      assert.equal(body.traceId, TRACE_ID);
      assert.equal(body.sampled, false);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(serverSpans().length, 0);
    });
  });
}

// The API without an SDK behind it (what an app that never starts one gets): every span is a no-op,
// yet requests, metrics and an incoming trace context behave as with one.
for (const adapter of ADAPTERS) {
  describe(`OpenTelemetry API without an SDK on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      // A proxy provider with no delegate is the API's own no-op, as the global one before an SDK registers.
      app = buildApp(adapter, { telemetry: { tracerProvider: new ProxyTracerProvider(), meterProvider: { getMeter: () => createNoopMeter() } } });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    test('handlers run with no span; the request is served and counted', async () => {
      const body: any = await (await fetch(`${base}/whoami`)).json();
      assert.deepEqual(body, { spanId: 'none', traceId: 'none', sampled: false });
      const users = await fetch(`${base}/users/7`);
      assert.equal(users.status, 200);
      const metrics: any = await (await fetch(`${base}/api/v1/metrics`)).json();
      assert.equal(metrics.routes['GET /whoami']?.total.count, 1);
    });

    test("an incoming traceparent still reaches the handlers (the propagator is the app's, not the SDK's)", async () => {
      const body: any = await (await fetch(`${base}/whoami`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } })).json();
      assert.equal(body.traceId, TRACE_ID);
      assert.equal(body.spanId, PARENT_SPAN);
      assert.equal(body.sampled, true);
    });
  });
}
