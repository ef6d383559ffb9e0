// GET /api/v1/metrics/history, the recent past the dashboard draws on load: one point per collection
// interval from the windowed series, in a fixed-size ring, behind the monitoring protections
// (authorize, the endpoints' token bucket, cacheMs, routeLimit). A manual clock drives the intervals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type Autom8Options } from '@autom8/core';
import { startPerfApp, type PerfApp } from './perf-support';

const WINDOWS = [{ name: '1m', intervalMs: 1000, slots: 60 }];
const START = 1_700_000_000_000; // a multiple of 1000: intervals start at START + k·1000

interface History {
  intervalMs: number;
  capacity: number;
  t: number[];
  totals: { count: number[]; errors: number[]; p50: number[]; p99: number[]; status: Record<string, number[]> };
  routes: Record<string, { count: number[]; errors: number[]; p99: number[]; p50?: number[]; status?: Record<string, number[]> }>;
  routeSelection: { total: number; returned: number };
  features?: Record<string, (number | null)[]>;
}

async function start(options: Autom8Options): Promise<{ app: PerfApp; clock: ManualClock }> {
  const clock = new ManualClock(START);
  const app = await startPerfApp('express5', clock, { metrics: { windows: WINDOWS }, ...options });
  return { app, clock };
}

async function history(app: PerfApp, query = ''): Promise<History> {
  const res = await app.get(`/api/v1/metrics/history${query}`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as History;
}

describe('history endpoint', () => {
  let app: PerfApp;
  let clock: ManualClock;
  before(async () => {
    ({ app, clock } = await start({ dashboard: { historyPoints: 5 }, rateLimit: true }));
  });
  after(() => app.stop());

  test('one point per finished interval: counts, 5xx, status classes and percentiles of that interval', async () => {
    assert.deepEqual((await history(app)).t, [], 'no interval has ended yet');
    // interval 0: three fast requests and one 500; interval 1: one slow request.
    await app.get('/users/1?ms=5');
    await app.get('/users/2?ms=5');
    await app.get('/users/bad?ms=5');
    await app.get('/work?ms=2');
    clock.set(START + 1000);
    await app.get('/users/3?ms=80');
    clock.set(START + 2000);
    const h = await history(app);
    assert.equal(h.intervalMs, 1000);
    assert.equal(h.capacity, 5);
    assert.deepEqual(h.t, [START, START + 1000]);
    assert.deepEqual(h.totals.count, [4, 1]);
    assert.deepEqual(h.totals.errors, [1, 0]);
    assert.deepEqual(h.totals.status['2xx'], [3, 1]);
    assert.deepEqual(h.totals.status['5xx'], [1, 0]);
    const users = h.routes['GET /users/:id']!;
    assert.deepEqual(users.count, [3, 1]);
    assert.deepEqual(users.errors, [1, 0]);
    assert.ok(Math.abs(users.p99[0]! - 5) <= 0.05, `p99 ${users.p99[0]}`);
    assert.ok(Math.abs(users.p99[1]! - 80) <= 0.8, `p99 ${users.p99[1]}`);
    assert.equal(users.p50, undefined, 'the route list carries what a table row needs');
    assert.deepEqual(h.routes['GET /work']!.count, [1, 0]);
    // Feature figures sampled at the end of the interval: the limiter's cumulative count.
    const allowed = h.features!['rateLimit.limiters.default.allowed']!;
    assert.equal(allowed.length, 2);
    assert.equal(allowed.at(-1), 5);
  });

  test('one route in full with ?route=; unknown routes and bad queries are refused', async () => {
    const h = await history(app, `?route=${encodeURIComponent('GET /users/:id')}`);
    const users = h.routes['GET /users/:id']!;
    assert.deepEqual(Object.keys(h.routes), ['GET /users/:id']);
    assert.deepEqual(users.status!['5xx'], [1, 0]);
    assert.equal(users.p50!.length, 2);
    assert.equal(h.features, undefined);
    assert.equal((await app.get('/api/v1/metrics/history?route=GET%20/nope')).status, 404);
    for (const q of ['?since=abc', '?since=-1', '?since=1&since=2', '?limit=3', `?route=${'x'.repeat(301)}`]) {
      const res = await app.get(`/api/v1/metrics/history${q}`);
      assert.equal(res.status, 400, q);
      assert.ok(JSON.parse(res.body).error, q);
    }
  });

  test('?since= gives only later points; the ring keeps the last historyPoints intervals', async () => {
    const first = await history(app);
    const later = await history(app, `?since=${first.t[0]}`);
    assert.deepEqual(later.t, [START + 1000]);
    assert.deepEqual(later.totals.count, [1]);
    clock.set(START + 9000);
    await app.get('/work?ms=1');
    clock.set(START + 10_000);
    const h = await history(app);
    assert.deepEqual(h.t, [START + 5000, START + 6000, START + 7000, START + 8000, START + 9000]);
    assert.deepEqual(h.totals.count, [0, 0, 0, 0, 1]);
    assert.deepEqual(h.routes['GET /work']!.count, [0, 0, 0, 0, 1]);
    // intervals caught up at once got no feature sample of their own: only the latest has one
    assert.deepEqual(h.features!['rateLimit.limiters.default.allowed'], [null, null, null, null, 6]);
  });

  test('is not counted as app traffic', async () => {
    const before = (await history(app)).totals.count.reduce((a, b) => a + b, 0);
    clock.advance(1000);
    const h = await history(app);
    assert.equal(
      h.totals.count.reduce((a, b) => a + b, 0),
      before,
      'history reads add no requests',
    );
  });
});

describe('history endpoint behind the monitoring protections', () => {
  test('monitoring.routeLimit bounds the routes listed', async () => {
    const { app, clock } = await start({ dashboard: true, monitoring: { routeLimit: 1 } });
    try {
      await app.get('/users/1');
      await app.get('/users/2');
      await app.get('/work');
      clock.advance(10_000);
      const h = await history(app);
      assert.deepEqual(Object.keys(h.routes), ['GET /users/:id'], 'the busiest only');
      assert.deepEqual(h.routeSelection, { total: 2, returned: 1 });
    } finally {
      await app.stop();
    }
  });

  test('monitoring.authorize and the monitoring token bucket apply to history and the chart files', async () => {
    const { app } = await start({
      dashboard: true,
      monitoring: { authorize: (r) => r.headers['x-token'] === 'ok', rateLimit: { perSecond: 0.001, burst: 3 } },
    });
    try {
      for (const path of ['/api/v1/metrics/history', '/api/v1/metrics/dashboard/uplot.js', '/api/v1/metrics/dashboard/uplot.css']) {
        const res = await fetch(app.base + path);
        assert.equal(res.status, 401, path);
        await res.text();
      }
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${app.base}/api/v1/metrics/history`, { headers: { 'x-token': 'ok' } });
        statuses.push(res.status);
        await res.text();
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
    } finally {
      await app.stop();
    }
  });

  test('one answer per URL for monitoring.cacheMs', async () => {
    const { app, clock } = await start({ dashboard: true, monitoring: { cacheMs: 60_000 } });
    try {
      clock.advance(2000);
      const a = await history(app);
      await app.get('/work');
      clock.advance(2000);
      const b = await history(app);
      assert.deepEqual(b, a, 'served from the reply cache');
      const c = await history(app, '?since=0');
      assert.equal(c.t.length, a.t.length + 2, 'another URL is computed afresh');
    } finally {
      await app.stop();
    }
  });
});
