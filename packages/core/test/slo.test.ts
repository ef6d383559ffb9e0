// SLOs: compliance, error budget and burn rate against hand-computed figures over a ManualClock,
// slo.breached / slo.recovered published exactly at the crossing, /metrics/slo, OTel gauges, on
// every adapter; plus option validation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type GaugeMetricData } from '@opentelemetry/sdk-metrics';
import { InvalidOptionError, ManualClock, subscribe, type Autom8Event, type SloReport, type SloStatus } from '@autom8/core';
import { createEngine } from '@autom8/core/adapter';
import { PERF_ADAPTERS, startPerfApp, type PerfApp } from './perf-support';

const WINDOWS = [
  { name: '1m', intervalMs: 10_000, slots: 6 },
  { name: '5m', intervalMs: 60_000, slots: 5 },
];

for (const adapter of PERF_ADAPTERS) {
  describe(`SLOs on ${adapter}`, () => {
    const clock = new ManualClock();
    let app: PerfApp;
    const events: Autom8Event<'slo.breached' | 'slo.recovered'>[] = [];
    let unsubscribe: () => void;
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });

    before(async () => {
      app = await startPerfApp(adapter, clock, {
        name: `slo-${adapter}`,
        metrics: { windows: WINDOWS },
        telemetry: { meterProvider },
        slo: {
          objectives: [
            { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 }, window: '1m' },
            { name: 'users-errors', route: 'GET /users/:id', errorRate: 0.1, window: '1m', minEvents: 5 },
            { name: 'items-latency', route: '/api/items/:itemId', latency: { percentile: 99, thresholdMs: 100 } },
          ],
        },
      });
      // Only this app's events: other test files publish on the same channels in other processes only,
      // but several apps of this file share the process.
      unsubscribe = subscribe(['slo.breached', 'slo.recovered'], (e) => {
        if (e.instance === `slo-${adapter}`) events.push(e);
      });
    });
    after(async () => {
      unsubscribe();
      await app.stop();
      await meterProvider.shutdown();
    });

    const report = async (): Promise<SloReport> => JSON.parse((await app.get('/api/v1/metrics/slo')).body);
    const status = async (name: string): Promise<SloStatus> => (await report()).objectives.find((o) => o.name === name)!;

    test('no traffic: no-data, full budget', async () => {
      const s = await status('api-latency');
      assert.equal(s.status, 'no-data');
      assert.equal(s.events, 0);
      assert.equal(s.compliance, 1);
      assert.equal(s.burnRate, 0);
      assert.equal(s.errorBudgetRemaining, 1);
      assert.equal(s.objective, 'p95 < 150 ms');
      assert.equal(s.window, '1m');
      assert.equal(s.windowMs, 60_000);
      assert.equal(s.budget, 0.05);
    });

    test('latency p95 < 150 ms: budget and burn rate match the hand computation; breach event at the crossing request', async () => {
      for (let i = 0; i < 18; i++) await app.get('/users/1?ms=10');
      for (let i = 0; i < 2; i++) await app.get('/users/bad?ms=10');
      for (let i = 0; i < 20; i++) await app.get('/work?ms=10');
      await app.get('/work?ms=300');
      await app.get('/work?ms=300');
      // 42 requests, 2 slower than 150 ms: bad share 2/42, allowed 5 % → burn 0.9524, not breached.
      let s = await status('api-latency');
      assert.equal(s.events, 42);
      assert.equal(s.bad, 2);
      assert.equal(s.status, 'ok');
      assert.equal(s.burnRate, 0.9524);
      assert.equal(s.errorBudgetRemaining, 0.0476);
      assert.equal(s.compliance, 0.9524);
      assert.equal(events.filter((e) => e.slo === 'api-latency').length, 0);

      await app.get('/work?ms=300');
      // 43 requests, 3 slow: 3/43 ÷ 0.05 = 1.3953 → breached, exactly now.
      const breached = events.filter((e) => e.slo === 'api-latency');
      assert.equal(breached.length, 1);
      assert.equal(breached[0]!.type, 'slo.breached');
      const b = breached[0] as Autom8Event<'slo.breached'>;
      assert.equal(b.burnRate, 1.3953);
      assert.equal(b.errorBudgetRemaining, -0.3953);
      assert.equal(b.compliance, 0.9302);
      assert.equal(b.sli, 'latency');
      assert.equal(b.window, '1m');
      s = await status('api-latency');
      assert.equal(s.status, 'breached');
      assert.equal(s.breachedSince, new Date(clock.now()).toISOString());
      assert.ok(s.observed !== undefined);
      // The core histogram agrees: of 43 requests (40 × 10 ms, 3 × 300 ms) the p95 is the 41st, 300 ms
      // (within a bucket, < 1 %), and the p50 is 10 ms.
      assert.ok(Math.abs(s.observed.valueMs! - 300) / 300 < 0.01, `p95 ${s.observed.valueMs}`);
      assert.ok(Math.abs(s.observed.p50Ms - 10) / 10 < 0.01, `p50 ${s.observed.p50Ms}`);
    });

    test('error rate on one route: 2/20 is exactly on budget, the 21st (a 500) breaches', async () => {
      let s = await status('users-errors');
      assert.equal(s.route, 'GET /users/:id');
      assert.equal(s.events, 20);
      assert.equal(s.bad, 2);
      assert.equal(s.burnRate, 1);
      assert.equal(s.errorBudgetRemaining, 0);
      assert.equal(s.status, 'ok');
      await app.get('/users/bad');
      s = await status('users-errors');
      // 3/21 ÷ 0.1 = 1.4286
      assert.equal(s.burnRate, 1.4286);
      assert.equal(s.status, 'breached');
      const mine = events.filter((e) => e.slo === 'users-errors');
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.type, 'slo.breached');
      assert.equal(mine[0]!.route, 'GET /users/:id');
    });

    test('a route objective counts only its route (mount prefix included), on the longest window by default', async () => {
      await app.get('/api/items/7?ms=20');
      await app.get('/api/items/8?ms=120');
      const s = await status('items-latency');
      assert.equal(s.events, 2);
      assert.equal(s.bad, 1);
      assert.equal(s.window, '5m');
      // 1/2 ÷ 0.01 = 50, but fewer than minEvents (10): never a breach
      assert.equal(s.burnRate, 50);
      assert.equal(s.status, 'ok');
    });

    test('/metrics shows the same objectives under features.slo; OTel gauges carry them', async () => {
      const m = JSON.parse((await app.get('/api/v1/metrics')).body);
      const names = (m.features.slo as SloStatus[]).map((o) => o.name);
      assert.deepEqual(names, ['api-latency', 'users-errors', 'items-latency']);
      await reader.forceFlush();
      const last = metricExporter.getMetrics().at(-1)!;
      const metrics = last.scopeMetrics.flatMap((s) => s.metrics);
      const burn = metrics.find((x) => x.descriptor.name === 'autom8.slo.burn_rate') as GaugeMetricData | undefined;
      assert.ok(burn, 'autom8.slo.burn_rate exported');
      const point = burn.dataPoints.find((p) => p.attributes['autom8.slo.name'] === 'users-errors');
      assert.equal(point?.value, 1.4286);
      assert.equal(point?.attributes['autom8.slo.route'], 'GET /users/:id');
      const remaining = metrics.find((x) => x.descriptor.name === 'autom8.slo.error_budget.remaining') as GaugeMetricData;
      // api-latency now has 46 requests (43 + /users/bad + 2 items), 3 slow: 1 − 3/46 ÷ 0.05 = −0.3043
      assert.equal(remaining.dataPoints.find((p) => p.attributes['autom8.slo.name'] === 'api-latency')?.value, -0.3043);
      assert.ok(metrics.some((x) => x.descriptor.name === 'autom8.slo.compliance'));
    });

    test('recovery: once the bad requests leave the window, slo.recovered is published once, with how long it lasted', async () => {
      const breachedAt = Date.parse((await status('api-latency')).breachedSince!);
      clock.advance(70_000); // past the 1m window (6 × 10 s)
      const s = await status('api-latency'); // reading evaluates the windows
      assert.equal(s.status, 'no-data');
      const rec = events.filter((e) => e.type === 'slo.recovered');
      assert.deepEqual(rec.map((e) => e.slo).sort(), ['api-latency', 'users-errors']);
      const r = rec.find((e) => e.slo === 'api-latency') as Autom8Event<'slo.recovered'>;
      assert.equal(r.breachedForMs, clock.now() - breachedAt);
      await status('api-latency');
      assert.equal(events.filter((e) => e.type === 'slo.recovered').length, 2, 'published once, not on every read');
    });

    test('the SLO endpoint is a monitoring endpoint: not counted as traffic', async () => {
      const before = (await status('api-latency')).events;
      await report();
      assert.equal((await status('api-latency')).events, before);
    });
  });
}

describe('SLO options', () => {
  const bad = (slo: unknown, option: string) => {
    assert.throws(
      () => createEngine({ slo } as never),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
    );
  };
  test('invalid objectives throw naming the option', () => {
    bad({}, 'slo.objectives');
    bad({ objectives: [] }, 'slo.objectives');
    bad({ objectives: [{ name: 'x' }] }, 'slo.objectives[0]');
    bad({ objectives: [{ errorRate: 0.1, latency: { percentile: 95, thresholdMs: 1 } }] }, 'slo.objectives[0]');
    bad({ objectives: [{ latency: { percentile: 100, thresholdMs: 150 } }] }, 'slo.objectives[0].latency.percentile');
    bad({ objectives: [{ latency: { percentile: 95 } }] }, 'slo.objectives[0].latency.thresholdMs');
    bad({ objectives: [{ errorRate: 1.5 }] }, 'slo.objectives[0].errorRate');
    bad({ objectives: [{ errorRate: 0.1, window: '2m' }] }, 'slo.objectives[0].window');
    bad({ objectives: [{ errorRate: 0.1, route: 'users' }] }, 'slo.objectives[0].route');
    bad({ objectives: [{ cpu: { maxShare: 0.6 }, route: '/x' }] }, 'slo.objectives[0].route');
    bad({ objectives: [{ cpu: {} }] }, 'slo.objectives[0].cpu.maxShare');
    bad(
      {
        objectives: [
          { errorRate: 0.1, name: 'a' },
          { errorRate: 0.2, name: 'a' },
        ],
      },
      'slo.objectives[1].name',
    );
    bad({ objectives: [{ errorRate: 0.1, typo: 1 }] }, 'slo.objectives[0].typo');
  });
});

describe('CPU objective', () => {
  test('CPU samples over the share are bad events; breach and recovery follow the window', async () => {
    const clock = new ManualClock();
    const engine = createEngine({
      name: 'slo-cpu',
      clock,
      metrics: { windows: WINDOWS, systemIntervalMs: 3_600_000 },
      slo: { objectives: [{ name: 'cpu', cpu: { percentile: 50, maxShare: 0.000001 }, window: '1m', minEvents: 1 }], evaluateEveryMs: 3_600_000 },
    });
    const events: Autom8Event[] = [];
    const off = subscribe(['slo.breached', 'slo.recovered'], (e) => {
      if (e.instance === 'slo-cpu') events.push(e);
    });
    try {
      const slo = engine.metricsSnapshot().features.slo as SloStatus[];
      assert.equal(slo[0]!.events, 0);
      const until = process.cpuUsage().user + 30_000;
      while (process.cpuUsage().user < until); // burn 30 ms of CPU: the next sample is > 0 %
      engine.system.sample();
      const s = (engine.metricsSnapshot().features.slo as SloStatus[])[0]!;
      assert.equal(s.events, 1);
      assert.equal(s.bad, 1);
      assert.equal(s.status, 'breached');
      assert.deepEqual(
        events.map((e) => e.type),
        ['slo.breached'],
      );
      // the same sample is not counted twice
      assert.equal((engine.metricsSnapshot().features.slo as SloStatus[])[0]!.events, 1);
      clock.advance(70_000);
      engine.metricsSnapshot();
      assert.deepEqual(
        events.map((e) => e.type),
        ['slo.breached', 'slo.recovered'],
      );
    } finally {
      off();
      await engine.close();
    }
  });
});
