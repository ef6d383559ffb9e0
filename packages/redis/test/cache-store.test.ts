// RedisCacheStore against a real redis-server: records round-trip, expire with their stale window,
// respect the size cap, and are deleted by key, tag and prefix. Then two app instances (Express 5
// and Koa 3) share entries through it, and a Redis outage degrades to the local tier, never fatal.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { InvalidOptionError, ManualClock, subscribe, type Autom8Event, type CacheRecord } from '@autom8/core';
import { controlsOf, engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { RedisCacheStore } from '@autom8/redis';
import { startRedis, type TestRedis } from '../../../test/support/redis-server';
import { close, listen } from '../../../test/support/http';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };

function client(redis: TestRedis): Redis {
  const c = new Redis(redis.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  c.on('error', () => {});
  return c;
}

async function ready(c: Redis): Promise<void> {
  if (c.status === 'ready') return;
  await new Promise<void>((resolve) => c.once('ready', () => resolve()));
}

function record(value: string, clock: ManualClock, freshMs: number, staleMs: number, tags: string[] = []): CacheRecord {
  const now = clock.now();
  return { value: Buffer.from(value), expiresAt: now + freshMs, staleUntil: now + freshMs + staleMs, tags };
}

describe('RedisCacheStore', () => {
  let redis: TestRedis;
  let c: Redis;
  const clock = new ManualClock(Date.now());

  before(async () => {
    redis = await startRedis();
    c = client(redis);
    await ready(c);
  });
  after(async () => {
    await redis.stop(); // while the client is connected: its reconnect timer keeps the loop alive until exit
    c.disconnect();
  });

  test('invalid options throw an InvalidOptionError naming the option', () => {
    const names = (fn: () => unknown, option: string) =>
      assert.throws(fn, (err: unknown) => err instanceof InvalidOptionError && err.option === option && err.message.includes(option), option);
    names(() => new RedisCacheStore({} as never), 'client');
    names(() => new RedisCacheStore({ client: c, maxEntryBytes: 0 }), 'maxEntryBytes');
    names(() => new RedisCacheStore({ client: c, prefix: '' }), 'prefix');
    names(() => new RedisCacheStore({ client: c, clock: {} as never }), 'clock');
    names(() => new RedisCacheStore({ client: c, broadcast: 'yes' as never }), 'broadcast');
  });

  test('without a clock of its own it reads record times against its engine’s clock', async () => {
    // An engine clock far from the system's (a test clock, as here): read against the system clock,
    // the record would already be past its stale window and never stored.
    const engineClock = new ManualClock(1_700_000_000_000);
    const store = new RedisCacheStore({ client: c, prefix: 'clk:', broadcast: false });
    const express = require('express');
    const app = express();
    const mw = autom8Express({ logger: quiet, clock: engineClock, cache: { ttl: 60_000, store } });
    app.use(mw);
    app.get('/t', (_req: any, res: any) => res.json({ ok: true }));
    const server = http.createServer(app);
    const base = await listen(server);
    try {
      assert.equal((await fetch(`${base}/t`)).headers.get('x-cache'), 'MISS');
      let ttl = -2;
      for (let i = 0; i < 100 && ttl < 0; i++) {
        ttl = await c.pttl('clk:e:/t');
        if (ttl < 0) await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(ttl > 50_000 && ttl <= 60_000, `stored with the record's 60 s, PTTL ${ttl}`);
    } finally {
      await mw.close();
      await close(server);
    }
  });

  test('a record round-trips with its timestamps, tags and bytes', async () => {
    const store = new RedisCacheStore({ client: c, clock, prefix: 't1:' });
    const r = record('hello \u00e9', clock, 1000, 2000, ['a', 'b']);
    await store.set('/k', r);
    const back = await store.get('/k');
    assert.ok(back);
    assert.deepEqual(back.value, r.value);
    assert.equal(back.expiresAt, r.expiresAt);
    assert.equal(back.staleUntil, r.staleUntil);
    assert.deepEqual(back.tags, ['a', 'b']);
    const pttl = await c.pttl('t1:e:/k');
    assert.ok(pttl > 2000 && pttl <= 3000, `pttl ${pttl}`);
    assert.equal(await store.get('/missing'), undefined);
  });

  test('records over maxEntryBytes are not stored', async () => {
    const store = new RedisCacheStore({ client: c, clock, prefix: 't2:', maxEntryBytes: 100 });
    await store.set('/big', record('x'.repeat(200), clock, 1000, 0));
    await store.set('/small', record('x'.repeat(10), clock, 1000, 0));
    assert.equal(await store.get('/big'), undefined);
    assert.ok(await store.get('/small'));
  });

  test('delete, deleteByTag and deleteByPrefix', async () => {
    const store = new RedisCacheStore({ client: c, clock, prefix: 't3:' });
    await store.set('/u/1', record('1', clock, 5000, 0, ['user:1', 'users']));
    await store.set('/u/2', record('2', clock, 5000, 0, ['user:2', 'users']));
    await store.set('/p/1', record('p', clock, 5000, 0));
    await store.set('/p/2', record('p', clock, 5000, 0));
    await store.set('/q*1', record('q', clock, 5000, 0));
    assert.equal(await store.deleteByTag('user:1'), 1);
    assert.equal(await store.get('/u/1'), undefined);
    assert.ok(await store.get('/u/2'));
    assert.equal(await store.deleteByTag('users'), 1);
    assert.equal(await store.get('/u/2'), undefined);
    assert.equal(await store.deleteByPrefix('/p/'), 2);
    assert.ok(await store.get('/q*1'), 'glob characters in keys are not wildcards');
    await store.delete('/q*1');
    assert.equal(await store.get('/q*1'), undefined);
  });
});

describe('two app instances share entries through Redis', () => {
  let redis: TestRedis;
  let c1: Redis;
  let c2: Redis;
  const clock = new ManualClock(Date.now());
  let calls = 0;
  // Instance a's OTel meter: the shared tier's outage transitions are counted there.
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  let a: { server: Server; engine: Autom8; base: string };
  let b: { server: Server; engine: Autom8; base: string };

  before(async () => {
    redis = await startRedis();
    c1 = client(redis);
    c2 = client(redis);
    await Promise.all([ready(c1), ready(c2)]);
    const cacheOptions = (cl: Redis) => ({
      ttl: 60_000,
      store: new RedisCacheStore({ client: cl, clock, prefix: 'shared:' }),
      storeOutage: { timeoutMs: 500, probeIntervalMs: 1000, recoverAfterSuccesses: 1 },
    });
    const express = require('express');
    const ea = express();
    const mwa = autom8Express({ logger: quiet, clock, name: 'a', cache: cacheOptions(c1), telemetry: { meterProvider } });
    ea.use(mwa);
    ea.get('/products/:id', (req: any, res: any) => {
      calls++;
      res.set('x-cache-tags', `product:${req.params.id}`);
      res.json({ id: req.params.id, from: 'a' });
    });
    const Koa = require('koa');
    const Router = require('@koa/router');
    const kb = new Koa();
    const mwb = autom8Koa({ logger: quiet, clock, name: 'b', cache: cacheOptions(c2) });
    kb.use(mwb);
    const router = new Router();
    router.get('/products/:id', (ctx: any) => {
      calls++;
      ctx.set('x-cache-tags', `product:${ctx.params.id}`);
      ctx.body = { id: ctx.params.id, from: 'b' };
    });
    kb.use(router.routes());
    const sa = http.createServer(ea);
    const sb = http.createServer(kb.callback());
    a = { server: sa, engine: engineOf(mwa)!, base: await listen(sa) };
    b = { server: sb, engine: engineOf(mwb)!, base: await listen(sb) };
  });
  after(async () => {
    await a.engine.close();
    await b.engine.close();
    await close(a.server);
    await close(b.server);
    await redis.stop();
    c1.disconnect();
    c2.disconnect();
  });

  /** Waits until the background write of the shared tier has landed. */
  async function landed(key: string): Promise<void> {
    for (let i = 0; i < 100 && (await c1.exists(`shared:e:${key}`)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  }

  test('an entry stored by one instance is a hit on the other', async () => {
    const first = await fetch(`${a.base}/products/1`);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const body = await first.text();
    await landed('/products/1');
    const second = await fetch(`${b.base}/products/1`);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.equal(await second.text(), body);
    assert.equal(second.headers.get('etag'), first.headers.get('etag'));
    assert.equal(calls, 1);
    const snap = (b.engine.metricsSnapshot().features as any).cache;
    assert.equal(snap.sharedHits, 1);
    assert.equal(snap.store.kind, 'redis');
  });

  test('invalidation by tag reaches the shared tier', async () => {
    await fetch(`${a.base}/products/2`);
    await landed('/products/2');
    const r = await controlsOf(a.engine).cache.invalidate({ tag: 'product:2' });
    assert.deepEqual(r, { local: 1, shared: 1 });
    const again = await fetch(`${b.base}/products/2`);
    assert.equal(again.headers.get('x-cache'), 'MISS');
    assert.equal(((await again.json()) as { from: string }).from, 'b');
  });

  test("an invalidation on one instance reaches the other's local tier (pub/sub)", async () => {
    await fetch(`${a.base}/products/5`);
    await landed('/products/5');
    assert.equal((await fetch(`${b.base}/products/5`)).headers.get('x-cache'), 'HIT'); // now in b's local tier
    assert.equal((await fetch(`${b.base}/products/5`)).headers.get('x-cache'), 'HIT');
    const remote = () => (b.engine.metricsSnapshot().features as any).cache.remoteInvalidations as number;
    const before = remote();
    await controlsOf(a.engine).cache.invalidate({ tag: 'product:5' });
    for (let i = 0; i < 200 && remote() === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(remote(), before + 1);
    const again = await fetch(`${b.base}/products/5`);
    assert.equal(again.headers.get('x-cache'), 'MISS');
  });

  test('a Redis outage degrades to the local tier: requests keep working, with an event and an OTel count', async () => {
    const events: Autom8Event[] = [];
    const stop = subscribe(['store.degraded', 'store.recovered'], (e) => events.push(e));
    try {
      await redis.kill();
      const before = calls;
      const r1 = await fetch(`${a.base}/products/3`);
      assert.equal(r1.status, 200);
      const r2 = await fetch(`${a.base}/products/3`);
      assert.equal(r2.status, 200);
      assert.equal(r2.headers.get('x-cache'), 'HIT', 'the local tier still serves');
      assert.equal(calls, before + 1);
      assert.ok(events.some((e) => e.type === 'store.degraded' && e.instance === 'cache:redis'));
      const snap = (a.engine.metricsSnapshot().features as any).cache;
      assert.equal(snap.store.degraded, true);

      await redis.restart();
      await ready(c1);
      clock.advance(1500); // past the probe interval
      const r3 = await fetch(`${a.base}/products/4`);
      assert.equal(r3.status, 200);
      assert.ok(events.some((e) => e.type === 'store.recovered'));
      const { resourceMetrics } = await reader.collect();
      const m = resourceMetrics.scopeMetrics.flatMap((x) => x.metrics).find((x) => x.descriptor.name === 'autom8.store.transitions') as
        SumMetricData | undefined;
      const points = (m?.dataPoints ?? [])
        .map((p) => `${p.attributes['autom8.store']} ${p.attributes['autom8.store.state']} ${p.attributes['autom8.store.policy']}=${p.value}`)
        .sort();
      assert.deepEqual(points, ['cache:redis degraded fallback=1', 'cache:redis recovered fallback=1']);
    } finally {
      stop();
    }
  });
});
