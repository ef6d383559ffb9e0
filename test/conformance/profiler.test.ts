// The opt-in `GET {prefix}/profile` endpoint (the `profiler` feature) on every adapter, over real HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type CpuProfile } from '@autom8/core';
import { createEngine } from '@autom8/core/adapter';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const TOKEN = 'profiler-token-0123456789';
const silent = { info() {}, warn() {}, error() {} };

for (const adapter of ADAPTERS) {
  describe(`profiler endpoint on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });
    const auth = { authorization: `Bearer ${TOKEN}` };

    before(async () => {
      app = buildApp(adapter, { profiler: { token: TOKEN, maxSeconds: 2 }, logger: silent });
      // A feature that refuses every request: monitoring endpoints must never reach it (exempt rule).
      app.engine.use({ name: 'refuse-all', stage: 200, onRequest: () => ({ status: 429, headers: {}, body: 'limited' }) });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    test('without the token, or with a wrong one: 401, and no profile is taken', async () => {
      const none = await get('/api/v1/profile?seconds=0.1');
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await get('/api/v1/profile?seconds=0.1', { authorization: 'Bearer nope' })).status, 401);
      assert.equal((await get('/api/v1/profile?seconds=0.1', { 'x-autom8-token': `${TOKEN}x` })).status, 401);
      assert.equal((await get('/users/1')).status, 429, 'the refusing feature is really there');
    });

    test('with the token: a valid .cpuprofile, never refused by features', async () => {
      const res = await get('/api/v1/profile?seconds=0.3', auth);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="autom8-\d+-\d+\.cpuprofile"/);
      const p = (await res.json()) as CpuProfile;
      assert.ok(p.nodes.length > 0 && p.endTime - p.startTime >= 250_000, `${p.endTime - p.startTime} µs`);
      assert.equal(p.samples!.length, p.timeDeltas!.length);
      assert.ok(p.nodes.some((n) => n.callFrame.functionName === '(root)'));
      const sum = (await (await get('/api/v1/profile?seconds=0.1&format=summary', { 'x-autom8-token': TOKEN })).json()) as {
        top: unknown[];
        durationMs: number;
      };
      assert.ok(Array.isArray(sum.top) && sum.durationMs >= 90);
    });

    test('bad seconds or format: 400; a second profile while one runs: 409', async () => {
      assert.equal((await get('/api/v1/profile?seconds=3', auth)).status, 400, 'over maxSeconds');
      assert.equal((await get('/api/v1/profile?seconds=abc', auth)).status, 400);
      assert.equal((await get('/api/v1/profile?seconds=0', auth)).status, 400);
      assert.equal((await get('/api/v1/profile?seconds=0.1&format=xml', auth)).status, 400);
      assert.equal((await fetch(`${base}/api/v1/profile?seconds=0.1`, { method: 'HEAD', headers: auth })).status, 405);
      const first = get('/api/v1/profile?seconds=2', auth);
      // Wait until that profile is being recorded (not for a fixed time the request may need more of).
      const busy = () => (app.engine.metricsSnapshot().features as any).profiler.busy === true;
      for (const deadline = Date.now() + 2000; !busy() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 5));
      assert.ok(busy(), 'the first profile is being recorded');
      assert.equal((await get('/api/v1/profile?seconds=0.1', auth)).status, 409);
      assert.equal((await first).status, 200);
      const snap = (await (await get('/api/v1/metrics')).json()) as { features: { profiler: { profilesTaken: number; unauthorized: number } } };
      assert.ok(snap.features.profiler.profilesTaken >= 3);
      assert.equal(snap.features.profiler.unauthorized, 3);
    });
  });
}

describe('profiler options', () => {
  test('off by default: no endpoint', async () => {
    const engine = createEngine({ logger: silent });
    assert.ok(!engine.monitoring.paths().includes('/api/v1/profile'));
    const on = createEngine({ logger: silent, profiler: { token: TOKEN } });
    assert.ok(on.monitoring.paths().includes('/api/v1/profile'));
    const off = createEngine({ logger: silent, profiler: { enabled: false, token: TOKEN } });
    assert.ok(!off.monitoring.paths().includes('/api/v1/profile'));
    await Promise.all([engine.close(), on.close(), off.close()]);
  });

  test('bad options throw naming the option', () => {
    assert.throws(() => createEngine({ profiler: {} as never }), /profiler\.token/);
    assert.throws(() => createEngine({ profiler: { token: 'short' } }), /profiler\.token.*16/);
    assert.throws(() => createEngine({ profiler: { token: TOKEN, maxSeconds: -1 } }), /profiler\.maxSeconds/);
    assert.throws(() => createEngine({ profiler: { token: TOKEN, defaultSeconds: 50, maxSeconds: 10 } }), /profiler\.defaultSeconds/);
    assert.throws(() => createEngine({ profiler: { token: TOKEN, tokne: 1 } as never }), /profiler\.tokne/);
  });
});
