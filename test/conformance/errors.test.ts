// The most common real-world 5xx on every adapter: a handler that throws, and an async handler that
// rejects, answered by the framework's own error handling. autom8 must count them as what they are:
// a 5xx under the route's template in the metrics, an error in the SLO, and an ERROR SERVER span
// with error.type, exactly as for a handler that sets 500 itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

for (const adapter of ADAPTERS) {
  describe(`handlers that throw or reject on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    before(async () => {
      app = buildApp(adapter, {
        logger: { info() {}, warn() {}, error() {} },
        telemetry: { tracerProvider },
        slo: { objectives: [{ name: 'throw-errors', route: 'GET /throw', errorRate: 0.01, minEvents: 1 }] },
      });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
      await tracerProvider.shutdown();
    });

    for (const route of ['/throw', '/reject']) {
      test(`GET ${route}: a 500 counted under its route, in the span and (for /throw) in the SLO`, async () => {
        spans.reset();
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`${base}${route}`);
          assert.equal(r.status, 500);
          await r.text();
        }
        for (let i = 0; i < 200 && app.engine.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 5));
        const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
        const series = m.routes[`GET ${route}`];
        assert.ok(series, `no GET ${route} series: ${Object.keys(m.routes).join(', ')}`);
        assert.equal(series.total.status['5xx'], 3);
        assert.equal(series.total.errorRate, 1);
        const server = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
        assert.equal(server.length, 3);
        for (const s of server) {
          assert.equal(s.name, `GET ${route}`);
          assert.equal(s.attributes['http.route'], route);
          assert.equal(s.attributes['http.response.status_code'], 500);
          assert.equal(s.attributes['error.type'], '500');
          assert.equal(s.status.code, SpanStatusCode.ERROR);
        }
        if (route === '/throw') {
          const slo: any = await (await fetch(`${base}/api/v1/metrics/slo`)).json();
          const o = slo.objectives.find((x: any) => x.name === 'throw-errors');
          assert.equal(o.bad, 3);
          assert.equal(o.status, 'breached');
        }
        // The process serves on.
        assert.equal((await fetch(`${base}/users/1`)).status, 200);
      });
    }
  });
}
