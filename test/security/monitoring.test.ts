// Issue #19 item 4: the monitoring endpoints as an attack surface, over real HTTP on every adapter.
// Open to anyone, recomputed per request, unbounded in size, never limited, and revealing the
// working directory: each test below is one of those, and fails on the code before the fix.
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type Autom8Options, type MetricsSnapshot, type MonitoringRequest } from '@autom8/core';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const SECRET = 'Bearer monitoring-secret';
const PROFILER_TOKEN = 'profiler-token-0123456789';
const silent = { info() {}, warn() {}, error() {} };

/** authorize: sync by default, async with `x-async`, throws / rejects on `x-explode`. */
function authorize(r: MonitoringRequest): boolean | Promise<boolean> {
  const explode = r.headers['x-explode'];
  if (explode === 'throw') throw new Error('token service down');
  if (explode === 'reject') return Promise.reject(new Error('token service down'));
  const ok = r.headers.authorization === SECRET;
  if (r.headers['x-async'] === '1') return new Promise((resolve) => setImmediate(() => resolve(ok)));
  return ok;
}

async function start(adapter: (typeof ADAPTERS)[number], options: Autom8Options): Promise<{ app: TestApp; base: string }> {
  const app = buildApp(adapter, { logger: silent, ...options });
  return { app, base: await listen(app.server) };
}

async function stop(app: TestApp): Promise<void> {
  await close(app.server);
  await app.engine.close();
}

for (const adapter of ADAPTERS) {
  describe(`monitoring endpoints are guarded on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    let clock: ManualClock;
    let snapshots = 0;
    const errors: { obj: Record<string, unknown>; msg?: string }[] = [];
    const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });
    const auth = { authorization: SECRET };

    before(async () => {
      clock = new ManualClock();
      ({ app, base } = await start(adapter, {
        clock,
        logger: { info() {}, warn() {}, error: (obj: Record<string, unknown>, msg?: string) => errors.push({ obj, msg }) },
        metrics: { maxSeries: 400 },
        monitoring: { authorize, cacheMs: 1000, rateLimit: false },
        dashboard: true,
        profiler: { token: PROFILER_TOKEN },
        slo: { objectives: [{ name: 'errors', errorRate: 0.1, window: '1m' }] },
      }));
      // Counts how often the /metrics snapshot is built (every feature's snapshot() is read then).
      app.engine.use({ name: 'probe', stage: 0, snapshot: () => ++snapshots });
    });
    after(() => stop(app));

    test('without authorization every endpoint answers 401 and computes nothing; with it, 200', async () => {
      const paths = app.engine.monitoring.paths();
      for (const p of ['/api/v1/metrics', '/api/v1/metrics/system', '/api/v1/metrics/dashboard', '/api/v1/metrics/slo', '/api/v1/profile']) {
        assert.ok(paths.includes(p), `${p} is served`);
      }
      const before = snapshots;
      for (const p of paths) {
        const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { 'x-async': '1' }];
        for (const headers of refused) {
          const res = await get(p, headers);
          assert.equal(res.status, 401, `${p} ${JSON.stringify(headers)}`);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="autom8"');
          assert.deepEqual(await res.json(), { error: 'unauthorized' });
        }
        assert.equal((await fetch(base + p, { method: 'HEAD' })).status, 401, `HEAD ${p}`);
      }
      assert.equal(snapshots, before, 'no snapshot was built for a refused request');
      for (const p of paths.filter((x) => !x.endsWith('/profile'))) {
        const res = await get(p, auth);
        assert.equal(res.status, 200, p);
        await res.arrayBuffer();
        const viaAsync = await get(p, { ...auth, 'x-async': '1' });
        assert.equal(viaAsync.status, 200, `${p} (async authorize)`);
        await viaAsync.arrayBuffer();
      }
      // The profiler keeps its own token behind authorize: both are needed.
      assert.equal((await get('/api/v1/profile?seconds=5&format=xml', { authorization: `Bearer ${PROFILER_TOKEN}` })).status, 401);
      assert.equal((await get('/api/v1/profile?seconds=5&format=xml', { ...auth, 'x-autom8-token': PROFILER_TOKEN })).status, 400);
    });

    test('a throwing or rejecting authorize answers 500, logs once, and the app keeps serving', async () => {
      errors.length = 0;
      for (const explode of ['throw', 'reject', 'throw', 'reject']) {
        const res = await get('/api/v1/metrics', { ...auth, 'x-explode': explode });
        assert.equal(res.status, 500, explode);
        assert.deepEqual(await res.json(), { error: 'authorization failed' });
      }
      assert.equal(errors.filter((e) => /authorize failed/.test(e.msg ?? '')).length, 1, 'logged once, not per request');
      assert.equal((await get('/users/1')).status, 200);
      assert.equal((await get('/api/v1/metrics/system', auth)).status, 200);
    });

    test('the /metrics answer is computed once per cacheMs and shared', async () => {
      clock.advance(5000);
      const before = snapshots;
      const first = await (await get('/api/v1/metrics', auth)).text();
      await get('/users/1'); // traffic in between does not make the cached answer recompute
      clock.advance(500);
      const concurrent = await Promise.all([1, 2, 3].map(() => get('/api/v1/metrics', { ...auth, 'x-async': '1' }).then((r) => r.text())));
      for (const body of concurrent) assert.equal(body, first);
      assert.equal(snapshots, before + 1, 'one snapshot for four readers');
      clock.advance(600);
      const later = await (await get('/api/v1/metrics', auth)).text();
      assert.notEqual(later, first);
      assert.equal(snapshots, before + 2);
      assert.notEqual(JSON.parse(later).generatedAt, JSON.parse(first).generatedAt);
    });

    test('300 routes: the answer lists the busiest 50 and says how many it left out; paging and filter', async () => {
      const rm = app.engine.routeMetrics;
      const now = clock.now();
      for (let i = 0; i < 300; i++) rm.record(rm.seriesFor('GET', `/generated/${i}`, now), 1, 200, now, undefined);
      for (let k = 0; k < 5; k++) rm.record(rm.seriesFor('GET', '/generated/123', now), 1, 200, now, undefined);
      clock.advance(2000);
      const m = (await (await get('/api/v1/metrics', auth)).json()) as MetricsSnapshot;
      assert.ok(m.routeSelection, 'the answer says which routes it lists');
      const keys = Object.keys(m.routes);
      assert.equal(keys.length, 50);
      assert.equal(m.routeSelection.returned, 50);
      assert.equal(m.routeSelection.omitted, m.routeSelection.total - 50);
      assert.ok(m.routeSelection.total >= 300, String(m.routeSelection.total));
      assert.ok(keys.includes('GET /generated/123'), 'the busiest generated route is listed');

      const page = (await (await get('/api/v1/metrics?route=/generated/&limit=7&offset=10', auth)).json()) as MetricsSnapshot;
      assert.ok(page.routeSelection, 'the page says which routes it lists');
      assert.equal(Object.keys(page.routes).length, 7);
      assert.deepEqual(
        { matched: page.routeSelection.matched, omitted: page.routeSelection.omitted, filter: page.routeSelection.filter },
        { matched: 300, omitted: 293, filter: '/generated/' },
      );
      for (const k of Object.keys(page.routes)) assert.ok(k.startsWith('GET /generated/'), k);
      const one = (await (await get(`/api/v1/metrics?route=${encodeURIComponent('GET /generated/123')}`, auth)).json()) as MetricsSnapshot;
      assert.deepEqual(Object.keys(one.routes), ['GET /generated/123']);
      assert.equal(one.routes['GET /generated/123']?.total.count, 6);

      for (const q of [
        'limit=abc',
        'limit=0',
        'limit=-1',
        'limit=1.5',
        'limit=1001',
        'limit=1&limit=2',
        'offset=x',
        'offset=',
        'foo=1',
        `route=${'a'.repeat(201)}`,
      ]) {
        const res = await get(`/api/v1/metrics?${q}`, auth);
        assert.equal(res.status, 400, q);
        assert.equal(typeof ((await res.json()) as { error?: unknown }).error, 'string');
      }
      assert.equal((await get('/api/v1/metrics?limit=1000', auth)).status, 200);
    });

    test('/metrics/system shows disk figures without the working directory', async () => {
      for (let i = 0; i < 200 && app.engine.system.snapshot().disk === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(app.engine.system.snapshot().disk !== undefined, 'the disk was sampled');
      clock.advance(2000);
      const body = await (await get('/api/v1/metrics/system', auth)).text();
      assert.ok(!body.includes(process.cwd()), 'cwd in the body');
      assert.ok(!body.includes(JSON.stringify(process.cwd()).slice(1, -1)), 'escaped cwd in the body');
      const disk = JSON.parse(body).disk;
      assert.deepEqual(Object.keys(disk).sort(), ['freeBytes', 'totalBytes']);
    });
  });

  describe(`monitoring endpoints have their own token bucket on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      ({ app, base } = await start(adapter, {
        clock: new ManualClock(),
        monitoring: { rateLimit: { perSecond: 1, burst: 4 } },
        rateLimit: { rate: 5, per: 'hour', algorithm: 'fixed-window' },
      }));
    });
    after(() => stop(app));

    test('429 past the burst, while the same client still reaches the app within its own limit', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${base}/api/v1/metrics${i % 2 ? '/system' : ''}`);
        statuses.push(res.status);
        if (res.status === 429) {
          assert.equal(res.headers.get('retry-after'), '1');
          assert.deepEqual(await res.json(), { error: 'too many monitoring requests' });
        } else await res.arrayBuffer();
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
      // The app's limit (5/hour) is untouched by the 8 monitoring requests.
      for (let i = 0; i < 5; i++) assert.equal((await fetch(`${base}/users/${i}`)).status, 200, `app request ${i}`);
      assert.equal((await fetch(`${base}/users/9`)).status, 429, "the app's own limit is there");
    });
  });

  describe(`monitoring endpoints on a listener of their own, beside ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    let side: http.Server;
    let sideBase: string;
    before(async () => {
      ({ app, base } = await start(adapter, { monitoring: { serveOnApp: false, authorize }, dashboard: true }));
      side = http.createServer(app.engine.monitoringHandler());
      sideBase = await listen(side);
    });
    after(async () => {
      await close(side);
      await stop(app);
    });

    test("the app's port no longer answers them; the side port does, behind authorize", async () => {
      for (const p of ['/api/v1/metrics', '/api/v1/metrics/system', '/api/v1/metrics/dashboard']) {
        const onApp = await fetch(base + p, { headers: { authorization: SECRET } });
        assert.equal(onApp.status, 404, `app port ${p}`);
        await onApp.arrayBuffer();
        assert.equal((await fetch(sideBase + p)).status, 401, `side port ${p} without authorization`);
        const res = await fetch(sideBase + p, { headers: { authorization: SECRET } });
        assert.equal(res.status, 200, `side port ${p}`);
        await res.arrayBuffer();
      }
      assert.equal((await fetch(`${sideBase}/users/1`, { headers: { authorization: SECRET } })).status, 404, 'the side port serves nothing else');
      assert.equal((await fetch(`${base}/users/1`)).status, 200);
      const m = (await (await fetch(`${sideBase}/api/v1/metrics`, { headers: { authorization: SECRET } })).json()) as MetricsSnapshot;
      assert.ok('GET /users/:id' in m.routes, 'the side port shows the app traffic');
    });
  });
}
