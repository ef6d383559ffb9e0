// The shed feature inside the engine (adapters are covered by test/conformance/shed.test.ts):
// priorities from critical routes and the priority hook, partitions from the partition hook, and
// a hook that throws. Load is fed to the sampler directly, so the ramp position is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, type Autom8, type Reply } from '../src/adapter';
import { ManualClock } from '../src/index';
import { ShedFeature } from '../src/shed/shed-feature';
import { begin, silent } from './shed-support';

const request = begin;

/** The engine's shed feature (the engine keeps its features private; tests may look). */
function featureOf(engine: Autom8): ShedFeature {
  return (engine as unknown as { features: unknown[] }).features.find((f) => f instanceof ShedFeature) as ShedFeature;
}

/** Puts the smoothed load at exactly `load` (event-loop delay against a 100 ms limit). */
function setLoad(f: ShedFeature, load: number) {
  f.shedder!.signal.observe({ eventLoopDelayMs: load * 100, eventLoopUtilization: 1, heapUsedBytes: 0, rssBytes: 0, inFlight: 0 }, 1e9);
}

test('priorities: low goes first, then normal, then high; critical routes only above maxLoad', async () => {
  const engine = createEngine({
    telemetry: { enabled: false },
    logger: silent,
    shed: {
      maxLoad: 0.9,
      softLoad: 0.5,
      // The driven lag would arm stale shedding, and hundreds of requests read in one go are one long batch.
      maxQueueDelayMs: 0,
      sampleIntervalMs: 0,
      limits: { maxEventLoopDelayMs: 100, maxHeapUsedBytes: 0 },
      critical: ['POST /checkout'],
      priority: (req) => req.headers['x-priority'] as 'low' | 'high' | undefined,
    },
  });
  const f = featureOf(engine);
  const admitted = (path: string, prio?: string, method = 'GET', n = 200) => {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const r = request(engine, path, prio ? { 'x-priority': prio } : {}, method);
      if (r.decision === undefined) ok++;
      else assert.equal((r.decision as Reply).status, 503);
      r.end();
    }
    return ok;
  };
  try {
    setLoad(f, 0.6); // a quarter up the ramp: low 50%, normal 25%, high 0% shed
    assert.ok(Math.abs(admitted('/x', 'low') - 100) <= 2);
    assert.ok(Math.abs(admitted('/x') - 150) <= 2);
    assert.equal(admitted('/x', 'high'), 200);
    setLoad(f, 0.9); // at the hard threshold: all but critical
    assert.equal(admitted('/x', 'high'), 0);
    assert.equal(admitted('/checkout', 'low', 'POST'), 200, 'a critical route wins over the hook');
    setLoad(f, 0.95); // halfway between maxLoad and 1: critical sheds half
    assert.ok(Math.abs(admitted('/checkout', undefined, 'POST') - 100) <= 2);
    const snap = engine.metricsSnapshot().features.shed as any;
    assert.equal(snap.shedding, true);
    assert.ok(snap.shed.load > 0);
  } finally {
    await engine.close();
  }
});

test('partitions: the hook picks the class; a throwing hook falls back without failing the request', async () => {
  const warnings: string[] = [];
  const engine = createEngine({
    telemetry: { enabled: false },
    logger: { ...silent, warn: (_o: unknown, msg: string) => warnings.push(msg) },
    shed: {
      load: false,
      concurrency: {
        initialLimit: 10,
        queueSize: 0,
        partitions: { interactive: 0.8, batch: 0.2 },
        partition: (req) => {
          if (req.headers['x-bad']) throw new Error('boom');
          return req.headers['x-batch'] ? 'batch' : 'interactive';
        },
      },
    },
  });
  try {
    const held = [];
    for (let i = 0; i < 10; i++) held.push(request(engine, '/x', { 'x-batch': '1' })); // batch borrows all 10
    assert.ok(held.every((r) => r.decision === undefined));
    assert.notEqual(request(engine, '/x', { 'x-batch': '1' }).decision, undefined, 'batch over the limit, no queue: shed');
    for (let i = 0; i < 8; i++) assert.equal(request(engine, '/x').decision, undefined, `interactive keeps its 8 guaranteed slots (#${i})`);
    assert.notEqual(request(engine, '/x').decision, undefined, 'interactive beyond its share: shed');
    const bad = request(engine, '/x', { 'x-bad': '1' });
    assert.notEqual(bad.decision, undefined, 'a throwing hook counts as the largest partition (full here)');
    assert.ok(warnings.some((w) => w.includes('partition threw')));
    const conc = (engine.metricsSnapshot().features.shed as any).concurrency;
    assert.equal(conc.partitions.find((p: any) => p.name === 'interactive').inFlight, 8);
    assert.equal(conc.partitions.find((p: any) => p.name === 'batch').inFlight, 10);
    for (const r of held) r.end();
    assert.equal((engine.metricsSnapshot().features.shed as any).concurrency.inFlight, 8, 'ending responses releases slots');
  } finally {
    await engine.close();
  }
});

test('stale requests: shed once a standing queue forms (two over-target batches within 100 ms), never for critical', async () => {
  const clock = new ManualClock();
  const engine = createEngine({
    clock,
    telemetry: { enabled: false },
    logger: silent,
    shed: { load: false, maxQueueDelayMs: 20, critical: ['GET /vip'] },
  });
  const nextBatch = () => new Promise((r) => setImmediate(r));
  const batch = (paths: string[], workMs: number) => {
    // One poll phase: each request "works" workMs before the next one is read.
    const out: (Reply | undefined)[] = [];
    for (const p of paths) {
      const r = request(engine, p);
      out.push(r.decision as Reply | undefined);
      clock.advance(workMs);
      r.end();
    }
    return out.map((d) => (d === undefined ? 'ok' : d.status));
  };
  try {
    // A single burst: the fourth request has waited 30 ms, but one over-target batch is no standing queue.
    assert.deepEqual(batch(['/a', '/a', '/a', '/a'], 10), ['ok', 'ok', 'ok', 'ok']);
    await nextBatch();
    // The next batch runs over too, 40 ms later: standing queue, the late ones are shed; critical is not.
    assert.deepEqual(batch(['/a', '/a', '/a', '/a', '/vip'], 10), ['ok', 'ok', 'ok', 503, 'ok']);
    await nextBatch();
    clock.advance(500); // the queue drained; a new burst is served in full again
    assert.deepEqual(batch(['/a', '/a', '/a', '/a'], 10), ['ok', 'ok', 'ok', 'ok']);
    assert.equal((engine.metricsSnapshot().features.shed as any).shed.stale, 1);
  } finally {
    await engine.close();
  }
});

test('per-route scope: one limiter per known route, later routes share one', async () => {
  const engine = createEngine({
    telemetry: { enabled: false },
    logger: silent,
    routes: ['GET /a', 'GET /b', 'GET /c'],
    shed: { load: false, maxQueueDelayMs: 0, concurrency: { scope: 'route', maxRoutes: 2, initialLimit: 1, maxLimit: 1, queueSize: 0 } },
  });
  try {
    const a = request(engine, '/a');
    const b = request(engine, '/b');
    assert.equal(a.decision, undefined);
    assert.equal(b.decision, undefined, 'a different route has its own limit');
    assert.notEqual(request(engine, '/a').decision, undefined, '/a is at its limit of 1');
    const c = request(engine, '/c'); // third route: over maxRoutes, goes to the shared "(other)" limiter
    assert.equal(c.decision, undefined);
    assert.notEqual(request(engine, '/nowhere').decision, undefined, 'unknown routes share "(other)" with /c');
    const routes = (engine.metricsSnapshot().features.shed as any).concurrency.routes;
    assert.deepEqual(Object.keys(routes).sort(), ['(other)', 'GET /a', 'GET /b']);
    a.end();
    assert.equal(request(engine, '/a').decision, undefined, 'released on response end');
  } finally {
    await engine.close();
  }
});
