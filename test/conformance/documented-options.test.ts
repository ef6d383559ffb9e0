// Documented options no other test would catch breaking (issue #26, item 6), on every adapter:
// rate-limit header formats ('draft-7', an array of formats, false), cache `etag: false` and a
// custom `tagHeader`, the p90/p99.9 figures of /api/v1/metrics, `telemetry.bodySizeMetrics`, and
// `user_agent.original` on the SERVER span, and the disk figures of /api/v1/metrics/system.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
} from '@opentelemetry/sdk-metrics';
import type { Autom8Options } from '@autom8/core';
import { ADAPTERS, buildApp, type ExtraRoutes, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const quiet = { info() {}, warn() {}, error() {} };

for (const adapter of ADAPTERS) {
  describe(`documented options on ${adapter}`, () => {
    const started: TestApp[] = [];
    const start = async (options: Autom8Options, extra?: ExtraRoutes): Promise<string> => {
      const app = buildApp(adapter, { logger: quiet, ...options }, extra);
      started.push(app);
      return listen(app.server);
    };
    after(async () => {
      for (const app of started) {
        await close(app.server);
        await app.engine.close();
      }
    });

    test("rateLimit.headers 'draft-7': RateLimit-Policy and one RateLimit item list", async () => {
      const base = await start({ rateLimit: { rate: 5, per: 'minute', headers: 'draft-7' } });
      const r = await fetch(`${base}/users/1`);
      await r.text();
      assert.equal(r.headers.get('ratelimit-policy'), '5;w=60');
      // reset: seconds until a unit comes back (a token bucket of 5/min refills one every 12 s)
      assert.match(r.headers.get('ratelimit') ?? '', /^limit=5, remaining=4, reset=([1-9]|[1-5]\d|60)$/);
      assert.equal(r.headers.get('x-ratelimit-limit'), null);
    });

    test("rateLimit.headers ['draft-6', 'legacy']: both sets of fields", async () => {
      const base = await start({ rateLimit: { rate: 5, per: 'minute', headers: ['draft-6', 'legacy'] } });
      const r = await fetch(`${base}/users/1`);
      await r.text();
      assert.equal(r.headers.get('ratelimit-limit'), '5');
      assert.equal(r.headers.get('ratelimit-remaining'), '4');
      assert.equal(r.headers.get('x-ratelimit-limit'), '5');
      assert.equal(r.headers.get('x-ratelimit-remaining'), '4');
      const reset = Number(r.headers.get('x-ratelimit-reset'));
      const inSec = reset - Date.now() / 1000;
      assert.ok(inSec > 0 && inSec <= 61, `legacy reset is epoch seconds within the minute: ${reset} (${inSec} s from now)`);
    });

    test('rateLimit.headers false: no rate-limit fields, but Retry-After on a 429', async () => {
      const base = await start({ rateLimit: { rate: 1, per: 'minute', headers: false } });
      const ok = await fetch(`${base}/users/1`);
      await ok.text();
      for (const name of ['ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'x-ratelimit-limit']) assert.equal(ok.headers.get(name), null, name);
      const limited = await fetch(`${base}/users/1`);
      await limited.text();
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(limited.headers.get('ratelimit'), null);
    });

    test('cache.etag false: no ETag generated, and a hit is served whole whatever If-None-Match says', async () => {
      // Express makes its own weak ETags; turned off here so only autom8 could add one.
      const base = await start({ cache: { global: true, ttl: 60_000, etag: false } }, (app, framework) => {
        if (framework === 'express') app.set('etag', false);
      });
      const first = await fetch(`${base}/users/7`);
      await first.text();
      assert.equal(first.headers.get('etag'), null);
      const hit = await fetch(`${base}/users/7`);
      assert.equal(hit.headers.get('x-cache'), 'HIT');
      assert.equal(hit.headers.get('etag'), null);
      assert.deepEqual(await hit.json(), { id: '7' });
      const conditional = await fetch(`${base}/users/7`, { headers: { 'if-none-match': '"abc"' } });
      assert.equal(conditional.status, 200);
      assert.deepEqual(await conditional.json(), { id: '7' });
    });

    test('cache.tagHeader: the custom header tags entries, is stripped, and invalidation by tag works', async () => {
      let n = 0;
      const base = await start({ cache: { global: true, ttl: 60_000, tagHeader: 'Surrogate-Key' } }, (app, framework) => {
        if (framework === 'express') {
          app.get('/tagged-custom', (_req: any, res: any) => res.set('surrogate-key', 'team:red').json({ n: ++n }));
        } else {
          app.get('/tagged-custom', (ctx: any) => {
            ctx.set('surrogate-key', 'team:red');
            ctx.body = { n: ++n };
          });
        }
      });
      const a = await fetch(`${base}/tagged-custom`);
      assert.deepEqual(await a.json(), { n: 1 });
      assert.equal(a.headers.get('surrogate-key'), null, 'the tag header is not sent to clients');
      const b = await fetch(`${base}/tagged-custom`);
      assert.deepEqual(await b.json(), { n: 1 });
      assert.equal(b.headers.get('x-cache'), 'HIT');
      const engine = started.at(-1)!.engine;
      const { controlsOf } = await import('@autom8/core/adapter');
      const result = await controlsOf(engine).cache.invalidate({ tag: 'team:red' });
      assert.equal(result.local, 1);
      assert.deepEqual(await (await fetch(`${base}/tagged-custom`)).json(), { n: 2 });
    });

    test('/api/v1/metrics has p90 and p99.9 per route and window, ordered with the other percentiles', async () => {
      const base = await start({});
      for (let i = 0; i < 20; i++) await (await fetch(`${base}/users/${i}`)).text();
      const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
      const total = m.routes['GET /users/:id'].total;
      for (const k of ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'p999Ms']) assert.equal(typeof total[k], 'number', k);
      assert.ok(total.p50Ms <= total.p90Ms && total.p90Ms <= total.p95Ms && total.p99Ms <= total.p999Ms && total.p999Ms <= total.maxMs);
      assert.equal(typeof m.routes['GET /users/:id'].windows['1m'].p999Ms, 'number');
    });

    test('/api/v1/metrics/system reports disk space, without the path it was read from', async () => {
      const base = await start({ metrics: { systemIntervalMs: 50 } });
      let sys: any;
      for (let i = 0; i < 200; i++) {
        sys = await (await fetch(`${base}/api/v1/metrics/system`)).json();
        if (sys.disk !== undefined) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(sys.disk, `no disk figures: ${JSON.stringify(sys).slice(0, 200)}`);
      assert.ok(sys.disk.totalBytes > 0 && sys.disk.freeBytes >= 0 && sys.disk.freeBytes <= sys.disk.totalBytes, JSON.stringify(sys.disk));
      assert.deepEqual(Object.keys(sys.disk).sort(), ['freeBytes', 'totalBytes']);
    });

    test('telemetry.bodySizeMetrics and user_agent.original', async () => {
      const spans = new InMemorySpanExporter();
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
      const meterProvider = new MeterProvider({ readers: [reader] });
      try {
        const base = await start({ telemetry: { tracerProvider, meterProvider, bodySizeMetrics: true } });
        const r = await fetch(`${base}/users/42`, { headers: { 'user-agent': 'autom8-test/1.0' } });
        const body = await r.text();
        for (let i = 0; i < 200 && spans.getFinishedSpans().length === 0; i++) await new Promise((res) => setTimeout(res, 5));
        const server = spans.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
        assert.equal(server.attributes['user_agent.original'], 'autom8-test/1.0');
        await reader.forceFlush();
        const all = exporter
          .getMetrics()
          .at(-1)!
          .scopeMetrics.flatMap((s) => s.metrics);
        const size = all.find((m) => m.descriptor.name === 'http.server.response.body.size') as HistogramMetricData | undefined;
        assert.ok(size, `metrics: ${all.map((m) => m.descriptor.name).join(', ')}`);
        const point = size.dataPoints.find((p) => p.attributes['http.route'] === '/users/:id');
        assert.ok(point, 'a response body size under the route');
        assert.equal(point.value.sum, Buffer.byteLength(body));
        // A request with a body (no route takes POST: a 404, still measured).
        await (await fetch(`${base}/users/42`, { method: 'POST', body: 'x'.repeat(123) })).text();
        for (let i = 0; i < 200 && started.at(-1)!.engine.inFlight !== 0; i++) await new Promise((res) => setTimeout(res, 5));
        await reader.forceFlush();
        const after = exporter
          .getMetrics()
          .at(-1)!
          .scopeMetrics.flatMap((s) => s.metrics);
        const req = after.find((m) => m.descriptor.name === 'http.server.request.body.size') as HistogramMetricData | undefined;
        assert.ok(
          req?.dataPoints.some((p) => p.value.sum === 123),
          'the request body size',
        );
      } finally {
        await meterProvider.shutdown();
        await tracerProvider.shutdown();
      }
    });
  });
}
