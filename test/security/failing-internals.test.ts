// A failure inside autom8 never fails or crashes the request (issue #20, item 4). A propagator that
// throws on a header it chokes on is the realistic case: in Express front mode autom8 is the server's
// 'request' listener, where such a throw used to be an uncaught exception that took the process down.
// On every adapter the request is served by the app, the failure is logged once, and the process
// keeps serving. (Each test file runs in a process of its own: the global propagator stays here.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { propagation, type TextMapPropagator } from '@opentelemetry/api';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const exploding: TextMapPropagator = {
  inject() {},
  extract(ctx, carrier) {
    if ((carrier as Record<string, unknown>)['x-explode'] !== undefined) throw new Error('propagator exploded');
    return ctx;
  },
  fields: () => ['x-explode'],
};

before(() => propagation.setGlobalPropagator(exploding));
after(() => propagation.disable());

for (const adapter of ADAPTERS) {
  describe(`failures inside autom8 on ${adapter}`, () => {
    let app: TestApp;
    let base: string;
    const errors: string[] = [];
    before(async () => {
      app = buildApp(adapter, {
        logger: { info() {}, warn() {}, error: (_o: unknown, msg: string) => void errors.push(msg) },
        rateLimit: { rate: 100, per: 'minute' },
      });
      base = await listen(app.server);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    test('a propagator that throws: the app serves the request, the failure is said once', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${base}/users/${i}`, { headers: { 'x-explode': '1' } });
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { id: String(i) });
      }
      assert.equal(errors.filter((m) => /telemetry.start failed/.test(m)).length, 1, errors.join(' | '));
      // Still counted, and the process serves on.
      const plain = await fetch(`${base}/users/9`);
      assert.equal(plain.status, 200);
      await plain.text();
      for (let i = 0; i < 200 && app.engine.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(app.engine.snapshot().routes['GET /users/:id']!.total.count, 4);
    });
  });
}
