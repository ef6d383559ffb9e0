// The runtime controls on what autom8Express() / autom8Koa() return (issue #20): cache
// invalidation, metrics, custom metrics and close() are methods of the middleware, the same on both
// adapters, with no engine (nor any of its mutable state) on the public object.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createAutom8, createCircuitBreaker, type Autom8Controls, type Autom8Options } from '@autom8/core';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
const CONTROLS = ['cache', 'close', 'metrics', 'monitoringHandler', 'recordLatency', 'recordThroughput'];

type Built = { server: Server; mw: Autom8Controls };

function expressApp(options: Autom8Options): Built {
  const express = require('express');
  const app = express();
  const mw = autom8Express(options);
  app.use(mw);
  app.get('/items/:id', (req: { params: { id: string } }, res: { set(k: string, v: string): void; json(b: unknown): void }) => {
    res.set('cache-control', 'public, max-age=60');
    res.set('x-cache-tags', `item:${req.params.id}`);
    res.json({ id: req.params.id, at: process.hrtime.bigint().toString() });
  });
  return { server: http.createServer(app), mw };
}

function koaApp(options: Autom8Options): Built {
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  const router = new Router();
  const mw = autom8Koa(options);
  app.use(mw);
  router.get('/items/:id', (ctx: { params: { id: string }; set(k: string, v: string): void; body: unknown }) => {
    ctx.set('cache-control', 'public, max-age=60');
    ctx.set('x-cache-tags', `item:${ctx.params.id}`);
    ctx.body = { id: ctx.params.id, at: process.hrtime.bigint().toString() };
  });
  app.use(router.routes());
  return { server: http.createServer(app.callback()), mw };
}

for (const [name, build] of [
  ['express', expressApp],
  ['koa', koaApp],
] as const) {
  describe(`runtime controls on the ${name} middleware`, () => {
    let built: Built;
    let base: string;
    before(async () => {
      built = build({ logger: quiet, telemetry: { enabled: false }, cache: { ttl: 60_000 } });
      base = await listen(built.server);
    });
    after(async () => {
      await close(built.server);
      await built.mw.close();
    });

    test('only the controls are public: no engine, nothing writable', () => {
      const { mw } = built;
      assert.deepEqual(Object.keys(mw).sort(), CONTROLS);
      assert.equal('engine' in mw, false);
      for (const key of CONTROLS) assert.equal(Reflect.set(mw, key, undefined), false, `${key} is read-only`);
      assert.ok(Object.isFrozen(mw.cache));
    });

    test('mw.cache.invalidate({ tag }) drops what the tag covers', async () => {
      const { mw } = built;
      assert.equal(mw.cache.enabled, true);
      const first = await fetch(`${base}/items/1`);
      assert.equal(first.headers.get('x-cache'), 'MISS');
      const body = await first.json();
      const hit = await fetch(`${base}/items/1`);
      assert.equal(hit.headers.get('x-cache'), 'HIT');
      assert.deepEqual(await hit.json(), body);
      assert.deepEqual(await mw.cache.invalidate({ tag: 'item:1' }), { local: 1, shared: null });
      const again = await fetch(`${base}/items/1`);
      assert.equal(again.headers.get('x-cache'), 'MISS');
      assert.notDeepEqual(await again.json(), body);
      await assert.rejects(mw.cache.invalidate({ nothing: true } as never), TypeError);
    });

    test('mw.metrics() and custom metrics', async () => {
      const { mw } = built;
      await (await fetch(`${base}/items/2`)).text();
      mw.recordLatency('db.query', 2_000_000, { table: 'items' });
      mw.recordThroughput('queue.messages', 3);
      const snap = mw.metrics();
      assert.ok((snap.routes['GET /items/:id']?.total.count ?? 0) >= 1);
      assert.equal(snap.custom.latency[0]?.name, 'db.query');
      assert.equal(snap.custom.throughput[0]?.name, 'queue.messages');
      assert.ok(mw.metrics({ filter: '', limit: 1, offset: 0 }).routeSelection !== undefined);
    });

    test('a circuit breaker given the middleware shows in its metrics', async () => {
      const breaker = createCircuitBreaker(`down-${name}`, { engine: built.mw });
      await breaker.fire(async () => 1);
      assert.equal((built.mw.metrics().features.breakers as Record<string, { calls: number }>)[`down-${name}`]?.calls, 1);
    });
  });
}

describe('runtime controls without the features behind them', () => {
  test('no cache option: mw.cache is there, disabled, and removes nothing', async () => {
    const mw = autom8Express({ logger: quiet, telemetry: { enabled: false } });
    try {
      assert.equal(mw.cache.enabled, false);
      assert.deepEqual(await mw.cache.invalidate({ prefix: '/' }), { local: 0, shared: null });
      await assert.rejects(mw.cache.invalidate(null as never), TypeError);
    } finally {
      await mw.close();
    }
  });

  test('createAutom8() returns the controls alone, for a process without a framework', async () => {
    const autom8 = createAutom8({ logger: quiet, telemetry: { enabled: false } });
    try {
      assert.deepEqual(Object.keys(autom8).sort(), CONTROLS);
      autom8.recordLatency('job', 1_000_000);
      assert.equal(autom8.metrics().custom.latency[0]?.name, 'job');
      assert.ok(Object.isFrozen(autom8));
    } finally {
      await autom8.close();
    }
  });
});
