// autom8 beside @opentelemetry/instrumentation-http (telemetry.mode 'auto'): one SERVER span and one
// duration series per request — the instrumentation's — carrying autom8's route template, which
// the instrumentation cannot know by itself for nested routers.
import { metricExporter, metricReader, spanExporter } from '../support/otel-http-instrumentation';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { buildApp, type AdapterName, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

for (const adapter of ['express5', 'koa3'] as AdapterName[]) {
  describe(`${adapter} with the OTel http instrumentation`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      app = buildApp(adapter); // global providers; mode 'auto'
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    test('one SERVER span per request, named by autom8 with the nested route', async () => {
      spanExporter.reset();
      assert.equal((await fetch(`${base}/api/v2/things/7`)).status, 200);
      let servers = [];
      for (let i = 0; i < 100; i++) {
        servers = spanExporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
        if (servers.length > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      servers = spanExporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
      assert.equal(servers.length, 1, `server spans: ${servers.map((s) => `${s.name} (${s.instrumentationScope.name})`)}`);
      assert.equal(servers[0]!.instrumentationScope.name, '@opentelemetry/instrumentation-http');
      assert.equal(servers[0]!.name, 'GET /api/v2/things/:thingId');
      assert.equal(servers[0]!.attributes['http.route'], '/api/v2/things/:thingId');
    });

    test('one http.server.request.duration series, with http.route, not double-counted', async () => {
      // Cumulative and shared by the adapters of this file: compare counts before and after.
      const read = async () => {
        await metricReader.forceFlush();
        const rm = metricExporter.getMetrics().at(-1);
        const durations = (rm?.scopeMetrics ?? []).flatMap((s) =>
          s.metrics.filter((m) => m.descriptor.name === 'http.server.request.duration').map((m) => ({ scope: s.scope.name, m })),
        );
        const points = durations.flatMap((d) => (d.m as HistogramMetricData).dataPoints.filter((p) => p.attributes['http.route'] === '/users/:id'));
        return { scopes: durations.map((d) => d.scope), points, count: points.reduce((n, p) => n + p.value.count, 0) };
      };
      const before = await read();
      for (let i = 0; i < 3; i++) await (await fetch(`${base}/users/${i}`)).text();
      const after = await read();
      assert.deepEqual(after.scopes, ['@opentelemetry/instrumentation-http']);
      assert.equal(after.points.length, 1);
      assert.equal(after.count - before.count, 3);
      // autom8's own JSON metrics are unaffected by the mode.
      const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
      assert.equal(m.routes['GET /users/:id'].total.count, 3);
    });
  });
}
