// Circuit breaker around real HTTP calls to a downstream server on loopback: opens on injected
// errors and on injected latency (ManualClock moved by the downstream handler), fails fast while
// open, half-opens with probes, closes or re-opens; events at each transition; state in /metrics.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type GaugeMetricData } from '@opentelemetry/sdk-metrics';
import {
  CircuitOpenError,
  createAutom8,
  createCircuitBreaker,
  InvalidOptionError,
  ManualClock,
  subscribe,
  type Autom8Event,
  type BreakerSnapshot,
} from '@autom8/core';
import { controlsOf } from '@autom8/core/adapter';
import { close, listen } from '../../../test/support/http';
import { PERF_ADAPTERS, startPerfApp, type PerfApp } from './perf-support';

const clock = new ManualClock();
let downstream: Server;
let downstreamUrl: string;
let hits = 0;
// The downstream answers ?status= after "taking" ?ms= on the shared clock.
before(async () => {
  downstream = http.createServer((req, res) => {
    hits++;
    const u = new URL(req.url!, 'http://x');
    clock.advance(Number(u.searchParams.get('ms') ?? 0));
    res.statusCode = Number(u.searchParams.get('status') ?? 200);
    res.end('{}');
  });
  downstreamUrl = await listen(downstream);
});
after(() => close(downstream));

async function call(query = ''): Promise<number> {
  const r = await fetch(`${downstreamUrl}/?${query}`);
  await r.text();
  if (r.status >= 500) throw new Error(`downstream ${r.status}`);
  return r.status;
}

type BreakerEvent = Autom8Event<'breaker.opened' | 'breaker.half-opened' | 'breaker.closed'>;

for (const adapter of PERF_ADAPTERS) {
  describe(`circuit breaker with ${adapter}`, () => {
    let app: PerfApp;
    const events: BreakerEvent[] = [];
    let off: () => void;
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    before(async () => {
      app = await startPerfApp(adapter, clock, { name: `breaker-${adapter}`, telemetry: { meterProvider } });
      off = subscribe(['breaker.opened', 'breaker.half-opened', 'breaker.closed'], (e) => {
        if (e.instance === `breaker-${adapter}`) events.push(e);
      });
    });
    after(async () => {
      off();
      await app.stop();
      await meterProvider.shutdown();
    });
    beforeEach(() => {
      events.length = 0;
    });
    const stateInMetrics = async (name: string): Promise<BreakerSnapshot> => JSON.parse((await app.get('/api/v1/metrics')).body).features.breakers[name];

    test('opens on error rate, fails fast without calling, half-opens after the wait and closes on a good probe', async () => {
      const b = createCircuitBreaker('payments', { errorRate: 0.5, window: 10_000, halfOpenAfter: 5_000, minCalls: 5, engine: controlsOf(app.engine) });
      for (let i = 0; i < 3; i++) await b.fire(() => call());
      for (let i = 0; i < 3; i++)
        await assert.rejects(
          b.fire(() => call('status=500')),
          /downstream 500/,
        );
      // 3 failures of 6 calls: 50 % is not over 50 %
      assert.equal(b.state, 'closed');
      assert.equal(events.length, 0);
      await assert.rejects(b.fire(() => call('status=503')));
      // 4 of 7: opened, exactly now
      assert.equal(b.state, 'open');
      assert.equal(events.length, 1);
      const opened = events[0] as Autom8Event<'breaker.opened'>;
      assert.equal(opened.type, 'breaker.opened');
      assert.equal(opened.reason, 'error-rate');
      assert.equal(opened.calls, 7);
      assert.equal(opened.errorRate, 0.5714);
      let s = await stateInMetrics('payments');
      assert.equal(s.state, 'open');
      assert.equal(s.calls, 7);
      assert.equal(s.failures, 4);
      assert.equal(s.halfOpenAt, new Date(clock.now() + 5_000).toISOString());

      const before = hits;
      const err = await b.fire(() => call()).catch((e: unknown) => e);
      assert.ok(err instanceof CircuitOpenError);
      assert.equal(err.code, 'AUTOM8_ERR_CIRCUIT_OPEN');
      assert.equal(err.breaker, 'payments');
      assert.equal(hits, before, 'an open breaker does not call the downstream');
      clock.advance(4_999);
      await assert.rejects(
        b.fire(() => call()),
        CircuitOpenError,
      );
      assert.equal(hits, before);

      await meterProvider.forceFlush();
      const gauge = metricExporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((m) => m.metrics)
        .find((m) => m.descriptor.name === 'autom8.breaker.state') as GaugeMetricData;
      assert.equal(gauge.dataPoints.find((p) => p.attributes['autom8.breaker.name'] === 'payments')?.value, 2);

      clock.advance(1);
      assert.equal(await b.fire(() => call()), 200);
      assert.equal(hits, before + 1);
      assert.deepEqual(
        events.map((e) => e.type),
        ['breaker.opened', 'breaker.half-opened', 'breaker.closed'],
      );
      assert.equal((events[1] as Autom8Event<'breaker.half-opened'>).openForMs, 5_000);
      assert.equal(b.state, 'closed');
      s = await stateInMetrics('payments');
      assert.equal(s.state, 'closed');
      assert.equal(s.calls, 0, 'the window starts afresh after closing');
      assert.equal(s.rejected, 2);
      assert.equal(s.opened, 1);
    });

    test('opens on latency: more than 1 % of calls over latencyP99; the core histogram shows the p99', async () => {
      const b = createCircuitBreaker('search', { latencyP99: 200, errorRate: 0.9, minCalls: 10, engine: controlsOf(app.engine) });
      for (let i = 0; i < 15; i++) await b.fire(() => call('ms=20'));
      assert.equal(b.state, 'closed');
      await b.fire(() => call('ms=500')); // 1 of 16 = 6 % > 1 %
      assert.equal(b.state, 'open');
      assert.equal(events.length, 1);
      const opened = events[0] as Autom8Event<'breaker.opened'>;
      assert.equal(opened.reason, 'latency');
      assert.equal(opened.slowRate, 0.0625);
      const s = await stateInMetrics('search');
      assert.equal(s.state, 'open');
      assert.equal(s.slow, 1);
      assert.ok(Math.abs(s.p99Ms - 500) / 500 < 0.01, `p99 ${s.p99Ms}`);
      assert.ok(Math.abs(s.p50Ms - 20) / 20 < 0.01, `p50 ${s.p50Ms}`);
    });

    test('a slow or failed probe opens it again; only halfOpenProbes probes run at once', async () => {
      const b = createCircuitBreaker('inventory', { latencyP99: 100, minCalls: 2, halfOpenAfter: 1_000, engine: controlsOf(app.engine) });
      await assert.rejects(b.fire(() => call('status=500')));
      await assert.rejects(b.fire(() => call('status=500')));
      assert.equal(b.state, 'open');
      clock.advance(1_000);
      // the probe is slow (over latencyP99): open again
      await b.fire(() => call('ms=300'));
      assert.equal(b.state, 'open');
      clock.advance(1_000);
      // a probe in flight: a second call is rejected meanwhile
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const probe = b.fire(async () => {
        await gate;
        return call();
      });
      assert.equal(b.state, 'half-open');
      await assert.rejects(
        b.fire(() => call()),
        CircuitOpenError,
      );
      release();
      await probe;
      assert.equal(b.state, 'closed');
      assert.deepEqual(
        events.map((e) => (e.type === 'breaker.opened' ? `opened:${e.reason}` : e.type)),
        ['opened:error-rate', 'breaker.half-opened', 'opened:probe-failed', 'breaker.half-opened', 'breaker.closed'],
      );
    });

    test('isFailure: errors it rejects do not count', async () => {
      const b = createCircuitBreaker('catalog', { minCalls: 2, isFailure: (e) => !(e instanceof RangeError), engine: controlsOf(app.engine) });
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          b.fire(() => {
            throw new RangeError('not found');
          }),
          RangeError,
        );
      }
      assert.equal(b.state, 'closed');
      assert.equal((await stateInMetrics('catalog')).failures, 0);
    });
  });
}

describe('circuit breaker options', () => {
  test('invalid options throw naming the option; names are unique per engine', () => {
    const bad = (opts: unknown, option: string, name = 'x') =>
      assert.throws(
        () => createCircuitBreaker(name, opts as never),
        (e: unknown) => e instanceof InvalidOptionError && e.option === option,
      );
    bad({ errorRate: 2 }, 'errorRate');
    bad({ latencyP99: 0 }, 'latencyP99');
    bad({ window: 5 }, 'window');
    bad({ halfOpenAfter: -1 }, 'halfOpenAfter');
    bad({ minCalls: 0 }, 'minCalls');
    bad({ halfOpenProbes: 1.5 }, 'halfOpenProbes');
    bad({ isFailure: 1 }, 'isFailure');
    bad({ engine: {} }, 'engine');
    bad({ typo: 1 }, 'typo');
    bad({}, 'name', '');
  });
  test('names are unique per engine', async () => {
    const engine = createAutom8({});
    try {
      createCircuitBreaker('dup', { engine });
      assert.throws(
        () => createCircuitBreaker('dup', { engine }),
        (e: unknown) => e instanceof InvalidOptionError && e.option === 'name',
      );
      assert.deepEqual(Object.keys(engine.metrics().features.breakers as object), ['dup']);
    } finally {
      await engine.close();
    }
  });
  test('works without an engine, on its own clock', async () => {
    const c = new ManualClock();
    const b = createCircuitBreaker('standalone', { minCalls: 1, errorRate: 0, clock: c });
    await assert.rejects(b.fire(() => Promise.reject(new Error('x'))));
    assert.equal(b.state, 'open');
    assert.equal(b.snapshot().failures, 1);
  });
});
