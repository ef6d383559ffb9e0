// Load shedding and adaptive concurrency on every adapter (Express 5 and 4, Koa 3 and 2), over real
// HTTP on loopback: 503 + Retry-After, monitoring never shed, critical routes last, the concurrency
// limit with its queue (queue full, queue timeout, a client leaving while queued), /metrics, the
// OTel counter and gauges, and the shed.started / shed.stopped events.
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ManualClock, subscribe, type Autom8Event, type Autom8Options } from '@autom8/core';
import { type Autom8, engineOf } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { ADAPTERS, buildApp, freshMonitoring, type AdapterName, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

type Json = any;
const require = createRequire(__filename);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms for up to 5 s (the generous bound keeps this robust on a loaded host). */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** An app whose GET /work waits until the test opens the gate (or runs `work` instead). */
function gatedApp(adapter: AdapterName, options: Autom8Options, work?: () => void) {
  options = freshMonitoring(options);
  let open!: () => void;
  let gate = new Promise<void>((r) => (open = r));
  const control = {
    release: () => {
      open();
      gate = new Promise<void>((r) => (open = r));
    },
  };
  let server: http.Server;
  let engine: Autom8;
  if (adapter.startsWith('express')) {
    const express = require(adapter === 'express5' ? 'express' : 'express4');
    const app = express();
    const mw = autom8Express(options);
    app.use(mw);
    app.get('/work', async (_req: any, res: any) => {
      if (work) work();
      else await gate;
      res.json({ done: true });
    });
    server = http.createServer(app);
    engine = engineOf(mw)!;
  } else {
    const Koa = require(adapter === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa(options);
    app.use(mw);
    const router = new Router();
    router.get('/work', async (ctx: any) => {
      if (work) work();
      else await gate;
      ctx.body = { done: true };
    });
    app.use(router.routes());
    server = http.createServer(app.callback());
    engine = engineOf(mw)!;
  }
  return { server, engine, control };
}

for (const adapter of ADAPTERS) {
  describe(`load shedding on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const events: Autom8Event[] = [];
    let unsubscribe: () => void;
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });

    before(async () => {
      unsubscribe = subscribe(['shed.started', 'shed.stopped'], (e) => events.push(e));
      // A heap limit of 1 byte puts the load at 1 from the first sample: deterministic overload.
      app = buildApp(adapter, {
        name: `shed-${adapter}`,
        telemetry: { meterProvider },
        shed: { maxLoad: 1, softLoad: 0.5, limits: { maxHeapUsedBytes: 1 }, critical: ['GET /users/:id'], retryAfterSec: 7 },
      });
      base = await listen(app.server);
    });
    after(async () => {
      unsubscribe();
      await close(app.server);
      await app.engine.close();
      await meterProvider.shutdown();
    });

    test('over the limit: 503 with Retry-After and a JSON body, before the app runs', async () => {
      const res = await fetch(`${base}/api/items/1`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.deepEqual(await res.json(), { error: 'overloaded' });
      const started = events.filter((e) => e.type === 'shed.started' && e.instance === `shed-${adapter}`);
      assert.equal(started.length, 1);
      assert.equal((started[0] as Json).reason, 'load');
    });

    test('critical routes are not shed at this load; monitoring is never shed', async () => {
      assert.equal((await fetch(`${base}/users/5`)).status, 200);
      const m = await fetch(`${base}/api/v1/metrics`);
      assert.equal(m.status, 200);
      const body: Json = await m.json();
      const shed = body.features.shed;
      assert.equal(shed.shedding, true);
      assert.equal(shed.load.load, 1);
      assert.equal(shed.load.dominant, 'heapUsedBytes');
      assert.ok(shed.shed.load >= 1);
      assert.equal((await fetch(`${base}/api/v1/metrics/system`)).status, 200);
    });

    test('OTel: autom8.shed.requests counts shed requests by reason and priority; autom8.shed.load gauge', async () => {
      await fetch(`${base}/slow`);
      await reader.forceFlush();
      const all = exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((s) => s.metrics);
      const counter = all.find((m) => m.descriptor.name === 'autom8.shed.requests');
      assert.ok(counter, `metrics: ${all.map((m) => m.descriptor.name)}`);
      const point = counter.dataPoints.find((p) => p.attributes['autom8.shed.reason'] === 'load' && p.attributes['autom8.shed.priority'] === 'normal');
      assert.ok(point && (point.value as number) >= 2);
      const gauge = all.find((m) => m.descriptor.name === 'autom8.shed.load');
      assert.equal(gauge?.dataPoints[0]?.value, 1);
    });
  });

  describe(`adaptive concurrency on ${adapter}`, () => {
    test('limit 1, queue 1: the second request waits, the third is rejected, both waiters finish; /metrics answers throughout', async () => {
      const clock = new ManualClock();
      const events: Autom8Event[] = [];
      const unsubscribe = subscribe(['shed.started', 'shed.stopped'], (e) => e.instance === `conc-${adapter}` && events.push(e));
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
      const mp = new MeterProvider({ readers: [reader] });
      const { server, engine, control } = gatedApp(adapter, {
        name: `conc-${adapter}`,
        clock,
        telemetry: { meterProvider: mp },
        shed: { load: false, concurrency: { initialLimit: 1, minLimit: 1, maxLimit: 1, queueSize: 1, queueTimeoutMs: 60_000 } },
      });
      const base = await listen(server);
      const conc = async (): Promise<Json> => ((await (await fetch(`${base}/api/v1/metrics`)).json()) as Json).features.shed.concurrency;
      try {
        const a = fetch(`${base}/work`);
        await until(async () => (await conc()).inFlight === 1, 'A in flight');
        const b = fetch(`${base}/work`);
        await until(async () => (await conc()).queued === 1, 'B queued');
        const c = await fetch(`${base}/work`);
        assert.equal(c.status, 503, 'queue full: rejected at once');
        assert.equal(c.headers.get('retry-after'), '1');
        const snap = await conc();
        assert.equal(snap.limit, 1);
        assert.equal(snap.inFlight, 1);
        assert.equal(snap.queued, 1);
        control.release(); // A finishes, B gets the slot
        assert.equal((await a).status, 200);
        await until(async () => (await conc()).inFlight === 1 && (await conc()).queued === 0, 'B granted');
        control.release();
        assert.equal((await b).status, 200);
        assert.equal(events[0]?.type, 'shed.started');
        assert.equal((events[0] as Json).reason, 'concurrency');
        clock.advance(1500);
        await conc(); // reading /metrics notices the quiet second
        assert.equal(events[1]?.type, 'shed.stopped');
        assert.equal((events[1] as Json).shed, 1);
        await reader.forceFlush();
        const all = exporter
          .getMetrics()
          .at(-1)!
          .scopeMetrics.flatMap((s) => s.metrics);
        const limit = all.find((m) => m.descriptor.name === 'autom8.shed.concurrency_limit');
        assert.equal(limit?.dataPoints[0]?.value, 1);
      } finally {
        unsubscribe();
        await close(server);
        await engine.close();
        await mp.shutdown();
      }
    });

    test('the limit tunes itself from measured latency: steady while latency holds, down when it climbs', async () => {
      // The handler moves a ManualClock forward: the latency autom8 measures is exactly `latencyMs`.
      const clock = new ManualClock();
      let latencyMs = 10;
      const { server, engine } = gatedApp(
        adapter,
        { clock, shed: { load: false, concurrency: { initialLimit: 20, tuneIntervalMs: 100, minSamples: 5, learningRate: 0.5 } } },
        () => clock.advance(latencyMs),
      );
      const base = await listen(server);
      const limit = async (): Promise<number> => ((await (await fetch(`${base}/api/v1/metrics`)).json()) as Json).features.shed.concurrency.limitExact;
      try {
        for (let i = 0; i < 60; i++) assert.equal((await fetch(`${base}/work`)).status, 200);
        assert.equal(await limit(), 20, 'one request at a time uses under half the limit: no growth (no upward drift)');
        latencyMs = 40;
        for (let i = 0; i < 60; i++) assert.equal((await fetch(`${base}/work`)).status, 200);
        const shrunk = await limit();
        assert.ok(shrunk < 12, `latency ×4: the limit came down from 20 to ${shrunk}`);
      } finally {
        await close(server);
        await engine.close();
      }
    });

    // Two apps: the client that leaves must leave well before its queue timeout, however slow the
    // host, or it is shed by the timeout instead and counted (a short timeout for both flaked so).
    test('a queued request is shed with 503 after queueTimeoutMs; a client leaving the queue frees its place', async () => {
      const limit = { initialLimit: 1, minLimit: 1, maxLimit: 1, queueSize: 1 };
      for (const queueTimeoutMs of [100, 60_000]) {
        const { server, engine, control } = gatedApp(adapter, { shed: { load: false, concurrency: { ...limit, queueTimeoutMs } } });
        const base = await listen(server);
        const metrics = async (): Promise<Json> => ((await (await fetch(`${base}/api/v1/metrics`)).json()) as Json).features.shed;
        const conc = async (): Promise<Json> => (await metrics()).concurrency;
        try {
          const a = fetch(`${base}/work`);
          await until(async () => (await conc()).inFlight === 1, 'A in flight');
          if (queueTimeoutMs === 100) {
            const b = await fetch(`${base}/work`); // waits 100 ms, then shed
            assert.equal(b.status, 503);
            assert.equal((await conc()).partitions[0].timedOut, 1);
            assert.deepEqual((await metrics()).shed, { load: 0, concurrency: 0, queueTimeout: 1, stale: 0 });
          } else {
            const ac = new AbortController();
            const gone = fetch(`${base}/work`, { signal: ac.signal }).catch(() => 'aborted');
            await until(async () => (await conc()).queued === 1, 'C queued');
            ac.abort();
            assert.equal(await gone, 'aborted');
            await until(async () => (await conc()).queued === 0, 'C left the queue');
            assert.deepEqual((await metrics()).shed, { load: 0, concurrency: 0, queueTimeout: 0, stale: 0 }, 'a client that left is not counted as shed');
          }
          control.release();
          assert.equal((await a).status, 200);
          await until(async () => (await conc()).inFlight === 0, 'all slots back');
        } finally {
          await close(server);
          await engine.close();
        }
      }
    });
  });
}
