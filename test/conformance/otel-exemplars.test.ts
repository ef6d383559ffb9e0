// Exemplars on http.server.request.duration: each duration is recorded with its request's span
// context, so an exemplar names the trace and span of a request that fell in the bucket.
//
// @opentelemetry/sdk-metrics 2.x ships the exemplar filters and reservoirs but does not wire them
// into the MeterProvider yet (no `exemplarFilter` option, no `exemplars` on data points;
// open-telemetry/opentelemetry-js#5147). So this test does the wiring the SDK will do: every
// duration record, with the context autom8 passes, goes to the real SDK histogram and is offered to
// the SDK's own trace-based filter and aligned-bucket reservoir, whose exemplars are then checked.
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  context,
  propagation,
  SpanKind,
  type Attributes,
  type Context,
  type Histogram,
  type Meter,
  type MeterProvider as ApiMeterProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
// Not in the package's index yet: the same classes the SDK's pending exemplar support uses.
import { AlignedHistogramBucketExemplarReservoir, WithTraceExemplarFilter } from '@opentelemetry/sdk-metrics/build/src/exemplar';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';
import { DURATION_BUCKETS } from '../../packages/core/src/telemetry/http-telemetry';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

/** The real SDK's meters, with http.server.request.duration records also offered to an exemplar reservoir. */
function withExemplars(sdk: MeterProvider, reservoir: AlignedHistogramBucketExemplarReservoir): ApiMeterProvider {
  const filter = new WithTraceExemplarFilter();
  return {
    getMeter(name, version, options): Meter {
      const meter = sdk.getMeter(name, version, options);
      return new Proxy(meter, {
        get(target, prop) {
          if (prop !== 'createHistogram') return Reflect.get(target, prop, target);
          return (n: string, o: never) => {
            const h: Histogram = target.createHistogram(n, o);
            if (n !== 'http.server.request.duration') return h;
            return {
              record(value: number, attributes?: Attributes, ctx?: Context) {
                const c = ctx ?? context.active(); // what the SDK does without one
                const now: [number, number] = [Math.floor(Date.now() / 1000), 0];
                if (filter.shouldSample(value, now, attributes ?? {}, c)) reservoir.offer(value, now, attributes ?? {}, c);
                h.record(value, attributes, ctx);
              },
            };
          };
        },
      });
    },
  };
}

for (const adapter of ADAPTERS) {
  describe(`http.server.request.duration exemplars on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const sdk = new MeterProvider();
    // One reservoir cell per advised bucket (the SDK's default for explicit-bucket histograms).
    const reservoir = new AlignedHistogramBucketExemplarReservoir(DURATION_BUCKETS);

    before(async () => {
      app = buildApp(adapter, { telemetry: { mode: 'own', tracerProvider, meterProvider: withExemplars(sdk, reservoir) } });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
      await sdk.shutdown();
      await tracerProvider.shutdown();
    });

    test("each exemplar carries the trace and span ids of a request's SERVER span", async () => {
      // /slow (>= 50 ms) and /users/1 (well under 50 ms) land in different buckets: one exemplar each.
      for (const path of ['/slow', '/users/1']) {
        await new Promise<void>((resolve, reject) => {
          http.get(`${base}${path}`, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
      }
      for (let i = 0; i < 200 && spans.getFinishedSpans().length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      const servers = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
      assert.equal(servers.length, 2);
      const exemplars = reservoir.collect({});
      assert.equal(exemplars.length, 2, 'one exemplar per request');
      const ids = (xs: Array<{ traceId?: string | undefined; spanId?: string | undefined }>) => xs.map((x) => `${x.traceId}/${x.spanId}`).sort();
      assert.deepEqual(ids(exemplars), ids(servers.map((s) => s.spanContext())));
    });
  });
}
