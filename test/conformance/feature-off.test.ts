// Issue #23: autom8 pays only for what is on. Each "off" must remove the work, not only hide its
// output: with metrics and telemetry off no route series (histograms) is made and no route is
// learned; with telemetry off no span or duration record reaches a registered SDK; with telemetry
// on and no SDK the span attributes are not built (the User-Agent header is never read). Observed
// through state and reads, on real servers, never through timing.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNoopMeter, ProxyTracerProvider } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InvalidOptionError, type Autom8Options } from '@autom8/core';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const quiet = { info() {}, warn() {}, error() {} };

/** Counts reads of the request's User-Agent header, installed before the app sees the request. */
function countUserAgentReads(app: TestApp): { reads: number } {
  const counter = { reads: 0 };
  app.server.prependListener('request', (req) => {
    const value = req.headers['user-agent'];
    Object.defineProperty(req.headers, 'user-agent', {
      enumerable: true,
      configurable: true,
      get() {
        counter.reads++;
        return value;
      },
    });
  });
  return counter;
}

const RATE_LIMIT_HEADER = /^(x-)?ratelimit/i;

/** Counts RateLimit headers the response is given, through setHeader or writeHead, on every response of the app. */
function countRateLimitHeaderSets(app: TestApp): { count: number } {
  const counter = { count: 0 };
  app.server.prependListener('request', (_req, res) => {
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name: string, value: number | string | readonly string[]) => {
      if (RATE_LIMIT_HEADER.test(name)) counter.count++;
      return setHeader(name, value);
    };
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    res.writeHead = (...args: unknown[]) => {
      const headers = args.find((a) => typeof a === 'object' && a !== null);
      if (headers !== undefined) for (const name of Object.keys(headers)) if (RATE_LIMIT_HEADER.test(name)) counter.count++;
      return writeHead(...args);
    };
  });
  return counter;
}

for (const adapter of ADAPTERS) {
  describe(`features turned off do no work on ${adapter}`, () => {
    const started: TestApp[] = [];
    const start = async (options: Autom8Options): Promise<{ app: TestApp; base: string }> => {
      const app = buildApp(adapter, { logger: quiet, ...options });
      started.push(app);
      return { app, base: await listen(app.server) };
    };
    after(async () => {
      for (const app of started) {
        await close(app.server);
        await app.engine.close();
      }
    });

    test('rate limit alone (metrics, telemetry off): limits, and makes no route series and learns no route', async () => {
      const { app, base } = await start({ rateLimit: { rate: 100, per: 'minute' }, metrics: { enabled: false }, telemetry: { enabled: false } });
      for (const path of ['/users/1', '/users/2', '/admin/stats', '/nowhere']) {
        const r = await fetch(`${base}${path}`);
        await r.text();
        assert.ok(r.headers.get('ratelimit')?.includes(';r='), `${path}: RateLimit header ${r.headers.get('ratelimit')}`);
      }
      assert.equal(app.engine.routeMetrics.seriesCount, 0);
      assert.deepEqual(app.engine.routeMetrics.all(), []);
      const snapshot = app.engine.snapshot();
      assert.deepEqual(snapshot.routes, {});
      assert.equal(snapshot.totals.total.count, 0);
      assert.equal(snapshot.inFlight, 0);
    });

    test("rate limit alone adds no listener to the response; with metrics on, one 'close' listener", async () => {
      const alone = await start({ rateLimit: { rate: 100, per: 'minute' }, metrics: { enabled: false }, telemetry: { enabled: false } });
      const metered = await start({ rateLimit: { rate: 100, per: 'minute' }, telemetry: { enabled: false } });
      const closeListeners: number[] = [];
      for (const { app, base } of [alone, metered]) {
        app.server.prependListener('request', (_req, res) => {
          // 'finish' comes before 'close': by then every listener the request got is on the response
          res.once('finish', () => closeListeners.push(res.listenerCount('close')));
        });
        const r = await fetch(`${base}/users/1`);
        await r.text();
        assert.equal(r.status, 200);
      }
      assert.equal(closeListeners.length, 2);
      assert.equal(closeListeners[1]! - closeListeners[0]!, 1, `'close' listeners, alone then with metrics: ${closeListeners.join(', ')}`);
    });

    test('rate limit alone: clients that hang up mid-request used their quota, and the app goes on', async () => {
      const { app, base } = await start({ rateLimit: { rate: 3, per: 'minute' }, metrics: { enabled: false }, telemetry: { enabled: false } });
      // GET /slow answers after 50 ms; each client hangs up as soon as the server has its request.
      for (let i = 0; i < 2; i++) {
        const hangUp = new AbortController();
        app.server.prependOnceListener('request', () => setImmediate(() => hangUp.abort()));
        await assert.rejects(fetch(`${base}/slow`, { signal: hangUp.signal }));
      }
      await new Promise((r) => setTimeout(r, 100));
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${base}/users/${i}`);
        await r.text();
        statuses.push(r.status);
      }
      assert.deepEqual(statuses, [200, 429]);
      assert.equal(app.engine.snapshot().inFlight, 0);
    });

    test('rate limit with headers: false: limits, and sets no RateLimit header (with headers on, it does)', async () => {
      const off = await start({ rateLimit: { rate: 2, per: 'minute', headers: false }, metrics: { enabled: false }, telemetry: { enabled: false } });
      const on = await start({ rateLimit: { rate: 2, per: 'minute' }, metrics: { enabled: false }, telemetry: { enabled: false } });
      for (const { app, base } of [off, on]) {
        const sets = countRateLimitHeaderSets(app);
        const statuses: number[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const r = await fetch(`${base}/users/${i}`);
          await r.text();
          statuses.push(r.status);
          for (const name of r.headers.keys()) if (RATE_LIMIT_HEADER.test(name)) seen.add(name);
        }
        assert.deepEqual(statuses, [200, 200, 429]);
        if (app === off.app) {
          assert.equal(sets.count, 0, `headers: false set ${[...seen].join(', ')}`);
          assert.deepEqual([...seen], []);
        } else {
          assert.ok(sets.count >= 3, `headers on: ${sets.count} RateLimit header writes`);
          assert.ok(seen.has('ratelimit'));
        }
      }
    });

    test('metrics off, telemetry off: nothing recorded; metrics on: the same requests are', async () => {
      const off = await start({ metrics: { enabled: false }, telemetry: { enabled: false } });
      const on = await start({ telemetry: { enabled: false } });
      for (const { base } of [off, on]) await (await fetch(`${base}/users/1`)).text();
      assert.equal(off.app.engine.routeMetrics.seriesCount, 0);
      assert.equal(off.app.engine.snapshot().totals.total.count, 0);
      assert.equal(on.app.engine.snapshot().routes['GET /users/:id']?.total.count, 1);
    });

    test('telemetry off: no span and no duration record reach the SDK it was given', async () => {
      const spans = new InMemorySpanExporter();
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
      const meterProvider = new MeterProvider({ readers: [reader] });
      try {
        const { app, base } = await start({ telemetry: { enabled: false, tracerProvider, meterProvider } });
        const ua = countUserAgentReads(app);
        await (await fetch(`${base}/users/1?q=1`)).text();
        await reader.forceFlush();
        assert.equal(app.engine.telemetry, undefined);
        assert.equal(spans.getFinishedSpans().length, 0);
        const names = exporter.getMetrics().flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.descriptor.name)));
        assert.deepEqual(names, []);
        assert.equal(ua.reads, 0);
      } finally {
        await meterProvider.shutdown();
        await tracerProvider.shutdown();
      }
    });

    test('telemetry on with no SDK: no span attributes are built (User-Agent never read); with an SDK they are', async () => {
      const noSdk = await start({ telemetry: { tracerProvider: new ProxyTracerProvider(), meterProvider: { getMeter: () => createNoopMeter() } } });
      const noSdkReads = countUserAgentReads(noSdk.app);
      const spans = new InMemorySpanExporter();
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
      try {
        const sdk = await start({ telemetry: { tracerProvider } });
        const sdkReads = countUserAgentReads(sdk.app);
        for (const { base } of [noSdk, sdk]) await (await fetch(`${base}/users/1?q=1`, { headers: { 'user-agent': 'feature-off-test' } })).text();
        assert.equal(noSdkReads.reads, 0);
        assert.ok(sdkReads.reads > 0, 'the recording span reads User-Agent');
        const span = spans.getFinishedSpans().find((s) => s.attributes['user_agent.original'] === 'feature-off-test');
        assert.ok(span, 'the SDK span has user_agent.original');
      } finally {
        await tracerProvider.shutdown();
      }
    });
  });
}

describe('the switches are validated', () => {
  for (const [option, value] of [
    ['metrics.enabled', { metrics: { enabled: 'no' } }],
    ['telemetry.enabled', { telemetry: { enabled: 0 } }],
  ] as const) {
    test(`${option} must be a boolean`, () => {
      assert.throws(
        () => buildApp('koa3', value as unknown as Autom8Options),
        (err: unknown) => err instanceof InvalidOptionError && err.message.includes(option),
      );
    });
  }
});
