// Slow-request log: threshold (global and per route), deterministic sampling, the per-minute cap
// under a flood, the `request.slow` event and the trace id, on every adapter.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InvalidOptionError, ManualClock, onEvent, type Autom8Event, type Autom8Options } from '@autom8/core';
import { createEngine } from '@autom8/core/adapter';
import { memoryLogger, PERF_ADAPTERS, settled, startPerfApp, type PerfApp } from './perf-support';

for (const adapter of PERF_ADAPTERS) {
  describe(`slow-request log on ${adapter}`, () => {
    const clock = new ManualClock();
    const apps: PerfApp[] = [];
    const start = async (slowLog: Autom8Options['slowLog'], extra: Autom8Options = {}) => {
      const app = await startPerfApp(adapter, clock, { name: `slow-${adapter}-${apps.length}`, slowLog, ...extra });
      apps.push(app);
      return app;
    };
    after(async () => {
      for (const a of apps) await a.stop();
    });

    test('threshold: global and per route, with route template, status, duration and trace id', async () => {
      const log = memoryLogger();
      const spans = new InMemorySpanExporter();
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
      const app = await start({ thresholdMs: 100, routes: { 'GET /report': 500, '/api/items/:itemId': 20 }, logger: log }, { telemetry: { tracerProvider } });
      await app.get('/work?ms=50');
      await app.get('/work?ms=100'); // not over the threshold
      assert.equal(log.lines.length, 0);
      await app.get('/work?ms=150&status=503');
      await app.get('/report?ms=300'); // under its own 500 ms
      await app.get('/report?ms=600');
      await app.get('/api/items/3?ms=25'); // over its own 20 ms
      assert.equal(log.lines.length, 3);
      const [a, b, c] = log.lines.map((l) => l.obj);
      assert.deepEqual(
        {
          route: a!.route,
          method: a!.method,
          status: a!.status,
          durationMs: a!.durationMs,
          thresholdMs: a!.thresholdMs,
          event: a!.event,
          suppressed: a!.suppressed,
        },
        { route: '/work', method: 'GET', status: 503, durationMs: 150, thresholdMs: 100, event: 'autom8.slow_request', suppressed: 0 },
      );
      assert.equal(b!.route, '/report');
      assert.equal(b!.durationMs, 600);
      assert.equal(b!.thresholdMs, 500);
      assert.equal(c!.route, '/api/items/:itemId');
      assert.equal(c!.thresholdMs, 20);
      const span = spans.getFinishedSpans().find((s) => s.name === 'GET /work' && s.attributes['http.response.status_code'] === 503);
      assert.ok(span);
      assert.equal(a!.traceId, span.spanContext().traceId);
      assert.equal(a!.spanId, span.spanContext().spanId);
      assert.match(log.lines[0]!.msg!, /slow request GET \/work 150 ms/);
      const snap = JSON.parse((await app.get('/api/v1/metrics')).body).features.slowLog;
      assert.deepEqual(snap, { slow: 3, logged: 3, unsampled: 0, capped: 0, thresholdMs: 100, maxPerMinute: 60 });
      await tracerProvider.shutdown();
    });

    test('sampling: rate 0.25 logs exactly every 4th slow request; every one is still an event', async () => {
      const log = memoryLogger();
      const app = await start({ thresholdMs: 100, sampleRate: 0.25, logger: log });
      const seen: Autom8Event<'request.slow'>[] = [];
      const off = onEvent('request.slow', (e) => {
        if (e.instance === `slow-${adapter}-${apps.length - 1}`) seen.push(e);
      });
      try {
        for (let i = 0; i < 20; i++) await app.get('/users/1?ms=200');
        await app.get('/users/1?ms=10');
      } finally {
        off();
      }
      assert.equal(log.lines.length, 5);
      assert.equal(seen.length, 20);
      assert.equal(seen[0]!.route, '/users/:id');
      assert.equal(seen[0]!.durationMs, 200);
      assert.equal(seen[0]!.thresholdMs, 100);
      const snap = JSON.parse((await app.get('/api/v1/metrics')).body).features.slowLog;
      assert.equal(snap.unsampled, 15);
    });

    test('cap: a concurrent flood of slow requests writes at most maxPerMinute lines; the next minute reports what was dropped', async () => {
      const log = memoryLogger();
      const app = await start({ thresholdMs: 100, maxPerMinute: 5, logger: log });
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 20 }, () => fetch(`${app.base}/work?ms=150`).then((r) => r.text())));
      }
      await settled(app.engine);
      assert.equal(log.lines.length, 5);
      clock.advance(60_000);
      await app.get('/work?ms=150');
      assert.equal(log.lines.length, 6);
      assert.equal(log.lines[5]!.obj.suppressed, 95);
      const snap = JSON.parse((await app.get('/api/v1/metrics')).body).features.slowLog;
      assert.equal(snap.slow, 101);
      assert.equal(snap.capped, 95);
    });
  });
}

describe('slow-log options', () => {
  const bad = (slowLog: unknown, option: string) => {
    assert.throws(
      () => createEngine({ slowLog } as never),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
    );
  };
  test('invalid options throw naming the option', () => {
    bad({ thresholdMs: -1 }, 'slowLog.thresholdMs');
    bad({ sampleRate: 0 }, 'slowLog.sampleRate');
    bad({ sampleRate: 2 }, 'slowLog.sampleRate');
    bad({ maxPerMinute: 0 }, 'slowLog.maxPerMinute');
    bad({ routes: { users: 10 } }, "slowLog.routes['users']");
    bad({ routes: { '/users': 'x' } }, "slowLog.routes['/users']");
    bad({ logger: {} }, 'slowLog.logger');
    bad({ nope: 1 }, 'slowLog.nope');
    bad('yes', 'slowLog');
  });
  test('slowLog: true uses the defaults and the engine logger', async () => {
    const engine = createEngine({ slowLog: true });
    try {
      assert.deepEqual(engine.metricsSnapshot().features.slowLog, { slow: 0, logged: 0, unsampled: 0, capped: 0, thresholdMs: 1000, maxPerMinute: 60 });
    } finally {
      await engine.close();
    }
  });
});
