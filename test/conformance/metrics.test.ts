// The foundation's conformance suite: the same scenarios on every adapter (Express 5 and 4, Koa 3
// and 2), over real HTTP on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

type Json = any;

/** Polls `cond` every millisecond or so until it holds; fails naming `what` after 5 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

for (const adapter of ADAPTERS) {
  describe(`metrics on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });
    const metrics = async (): Promise<Json> => (await get('/api/v1/metrics')).json();

    before(async () => {
      app = buildApp(adapter, { routes: ['GET /admin/stats'], exempt: ['/health'] });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    test('a route that sleeps 50 ms reports a p50 of at least 50 ms and at most what the client waited', async () => {
      // The client's own wait, request sent to body read, holds the server's inside it, on a loaded
      // machine as on an idle one: so the server's p50 is at most the client's (its 6th smallest of
      // 10 covers either rank p50 may take), plus the 0.79 % of the histogram's bucket midpoint.
      const waited: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const res = await get('/slow');
        await res.arrayBuffer();
        waited.push(performance.now() - t0);
        assert.equal(res.status, 200);
      }
      const ceiling = waited.sort((a, b) => a - b)[5]! * 1.008;
      const m = await metrics();
      const slow = m.routes['GET /slow'];
      assert.ok(slow, `GET /slow missing from ${Object.keys(m.routes)}`);
      for (const w of ['1m', '5m', '1h']) {
        assert.equal(slow.windows[w].count, 10, `window ${w}`);
        const p50 = slow.windows[w].p50Ms;
        assert.ok(p50 >= 50 && p50 <= ceiling, `p50 ${p50} in ${w}, the client waited ${waited.map((t) => t.toFixed(1))} ms`);
        assert.ok(slow.windows[w].ratePerSec > 0);
      }
      assert.equal(slow.total.count, 10);
      assert.ok(slow.total.p99Ms >= slow.total.p50Ms && slow.total.maxMs >= slow.total.p99Ms);
    });

    test('a 500-returning route shows its error rate and status classes', async () => {
      for (let i = 0; i < 4; i++) await (await get('/boom')).text();
      const boom = (await metrics()).routes['GET /boom'];
      assert.equal(boom.windows['1m'].errorRate, 1);
      assert.equal(boom.total.status['5xx'], 4);
      const users = (await metrics()).routes;
      await (await get('/users/1')).text();
      assert.equal((await metrics()).routes['GET /users/:id'].total.errorRate, 0, JSON.stringify(users['GET /users/:id']));
    });

    test('routes are keyed by template, with mount prefixes of nested and parametric routers', async () => {
      for (const p of ['/users/1', '/users/2', '/api/items/9', '/api/v2/things/7', '/orgs/acme/teams/red', '/orgs/globex/teams/blue']) {
        assert.equal((await get(p)).status, 200, p);
      }
      const keys = Object.keys((await metrics()).routes);
      for (const k of ['GET /users/:id', 'GET /api/items/:itemId', 'GET /api/v2/things/:thingId', 'GET /orgs/:org/teams/:team']) {
        assert.ok(keys.includes(k), `${k} missing from ${keys}`);
      }
      assert.ok(!keys.some((k) => /acme|globex|\/users\/1|\/things\/7/.test(k)), `raw URL leaked into ${keys}`);
    });

    test('requests that end early in middleware are named by route, never by raw URL', async () => {
      const before = (await metrics()).routes['GET /admin/stats']?.total.status['4xx'] ?? 0;
      assert.equal((await get('/admin/stats')).status, 401);
      assert.equal((await get('/admin/stats', { authorization: 'ok' })).status, 200);
      const stats = (await metrics()).routes['GET /admin/stats'];
      assert.equal(stats.total.status['4xx'] - before, 1);
      assert.ok(stats.total.status['2xx'] >= 1);
    });

    test('a 304 from a route is counted under the route as 3xx', async () => {
      assert.equal((await get('/etag')).status, 200);
      assert.equal((await get('/etag', { 'if-none-match': '"v1"' })).status, 304);
      const etag = (await metrics()).routes['GET /etag'];
      assert.equal(etag.total.status['3xx'], 1);
      assert.equal(etag.total.status['2xx'], 1);
    });

    test('a client that leaves before the answer is counted as 499 under its route; answered ones keep their status', async () => {
      const before = (await metrics()).routes['GET /slow'].total;
      // /slow answers after 50 ms: leave once the server has the request (the router dispatches it
      // in the same tick as the engine begins it, and the handler then waits its 50 ms).
      await new Promise<void>((resolve, reject) => {
        const req = http.get(base + '/slow');
        req.on('error', () => resolve());
        req.on('response', () => reject(new Error('/slow answered before the client left')));
        void until('the server has the request', () => app.engine.inFlight > 0).then(() => req.destroy(), reject);
      });
      // The abandoned request is recorded when its connection closes, before the handler answers.
      await until('the abandoned request is recorded', () => app.engine.inFlight === 0);
      assert.equal((await get('/slow')).status, 200);
      const after = (await metrics()).routes['GET /slow'].total;
      assert.equal(after.status['4xx'] - before.status['4xx'], 1, `the abandoned request, as 499: ${JSON.stringify({ before, after })}`);
      assert.equal(after.status['2xx'] - before.status['2xx'], 1, 'the answered one');
      assert.equal(after.count - before.count, 2);
    });

    test('10,000 distinct random URLs leave the number of series unchanged', async () => {
      await (await get('/nope')).text();
      const before = (await metrics()).series.count;
      const agent = Array.from({ length: 10_000 }, (_, i) => `/scan/${i}-${Math.random().toString(36).slice(2)}?q=${i}`);
      for (let i = 0; i < agent.length; i += 100) {
        await Promise.all(agent.slice(i, i + 100).map(async (p) => (await get(p)).text()));
      }
      const m = await metrics();
      assert.equal(m.series.count, before);
      assert.ok(m.routes['GET unmatched'].total.count >= 10_000);
      assert.ok(Object.keys(m.routes).every((k) => !k.includes('/scan/')));
    });

    test('monitoring endpoints answer JSON and are not counted as app traffic', async () => {
      const res = await get('/api/v1/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const m: Json = await res.json();
      assert.deepEqual(
        m.windows.map((w: Json) => w.name),
        ['1m', '5m', '1h'],
      );
      assert.ok(m.totals.total.count > 0);
      assert.ok(!Object.keys(m.routes).some((k) => k.includes('/api/v1')));
      const sys: Json = await (await get('/api/v1/metrics/system')).json();
      for (const k of ['cpuPercent', 'memory', 'host', 'eventLoopDelay', 'eventLoopUtilization', 'uptimeSec']) assert.ok(k in sys, k);
      assert.ok(sys.memory.rssBytes > 0 && sys.memory.heapUsedBytes > 0 && sys.host.totalMemoryBytes > 0);
      assert.equal((await fetch(`${base}/api/v1/metrics`, { method: 'POST' })).status, 405);
    });

    test('exemplars point the slowest requests of a window to their trace ids', async () => {
      // No tracer provider here: untraced requests offer no exemplars rather than fake ids.
      const slow = (await metrics()).routes['GET /slow'];
      assert.deepEqual(slow.windows['1m'].exemplars, []);
    });
  });
}

describe('series cap', () => {
  test('past maxSeries, new templates fold into one overflow series and are counted', async () => {
    const app = buildApp('express5', { metrics: { maxSeries: 3 } });
    const base = await listen(app.server);
    try {
      for (const p of ['/users/1', '/slow', '/boom', '/health', '/api/items/1']) await (await fetch(base + p)).text();
      const m: Json = await (await fetch(`${base}/api/v1/metrics`)).json();
      const templates = Object.keys(m.routes).filter((k) => !k.endsWith(' unmatched') && !k.endsWith(' overflow'));
      assert.equal(templates.length, 3);
      assert.equal(m.routes['* overflow'].total.count, 2);
      assert.equal(m.series.foldedRequests, 2);
    } finally {
      await close(app.server);
      await app.engine.close();
    }
  });
});

describe('monitoring prefix', () => {
  test('is configurable on both adapters', async () => {
    for (const adapter of ['express5', 'koa3'] as const) {
      const app = buildApp(adapter, { monitoring: { prefix: '/_autom8' } });
      const base = await listen(app.server);
      try {
        assert.equal((await fetch(`${base}/_autom8/metrics`)).status, 200);
        assert.equal((await fetch(`${base}/api/v1/metrics`)).status, 404);
      } finally {
        await close(app.server);
        await app.engine.close();
      }
    }
  });
});

describe('early ends without configured routes', () => {
  for (const adapter of ['express5', 'koa3'] as const) {
    test(`${adapter}: a template learned from the router names later early ends`, async () => {
      const app = buildApp(adapter);
      const base = await listen(app.server);
      try {
        assert.equal((await fetch(`${base}/admin/stats`, { headers: { authorization: 'ok' } })).status, 200);
        assert.equal((await fetch(`${base}/admin/stats`)).status, 401);
        const m: Json = await (await fetch(`${base}/api/v1/metrics`)).json();
        assert.equal(m.routes['GET /admin/stats'].total.count, 2);
        assert.equal(m.routes['GET /admin/stats'].total.status['4xx'], 1);
        assert.equal(m.routes['GET unmatched'], undefined);
      } finally {
        await close(app.server);
        await app.engine.close();
      }
    });
  }
});
