// The response cache over real HTTP on every adapter (Express 5 and 4, Koa 3 and 2): byte- and
// header-identical hits, Vary, Set-Cookie, coalescing, TTL on a ManualClock, ETag/304, tags,
// streamed bodies (tee), the per-entry and whole-cache byte caps, request directives, the exempt
// monitoring routes, stale-if-error, and the cache outcome on the OTel duration metric.
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
} from '@opentelemetry/sdk-metrics';
import { ManualClock, type Autom8Options } from '@autom8/core';
import { type Autom8, engineOf, controlsOf } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const ADAPTERS = ['express5', 'express4', 'koa3', 'koa2', 'express5-front', 'express4-front'] as const;
type Adapter = (typeof ADAPTERS)[number];
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface App {
  server: Server;
  engine: Autom8;
  base: string;
  calls: Record<string, number>;
  state: { fail: boolean };
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Headers a hit must repeat exactly: all but the per-reply ones. */
function comparable(h: IncomingHttpHeaders): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) if (!['x-cache', 'age', 'date', 'connection', 'keep-alive'].includes(k)) out[k] = v;
  return out;
}

async function start(adapter: Adapter, options: Autom8Options): Promise<App> {
  const opts: Autom8Options = { logger: quiet, ...options };
  const calls: Record<string, number> = {};
  const state = { fail: false };
  const hit = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const big = 'x'.repeat(5000);
  let server: Server;
  let engine: Autom8;
  if (adapter.startsWith('express')) {
    const express = require(adapter.startsWith('express5') ? 'express' : 'express4');
    const app = express();
    const mw = autom8Express(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    app.get('/json/:id', (req: any, res: any) => {
      res.set('x-custom', 'yes');
      res.json({ id: req.params.id, n: hit('json') });
    });
    app.get('/vary', (req: any, res: any) => {
      hit('vary');
      res.set('Vary', 'Accept-Language');
      res.send(`lang=${req.headers['accept-language'] ?? 'none'}`);
    });
    app.get('/cookie', (_req: any, res: any) => {
      hit('cookie');
      res.cookie('sid', 'secret').send('c');
    });
    app.get('/coalesce', async (_req: any, res: any) => {
      const n = hit('coalesce');
      await sleep(100);
      res.json({ n });
    });
    app.get('/stream', (_req: any, res: any) => {
      hit('stream');
      res.type('text/plain');
      Readable.from(['alpha,', 'beta,', 'gamma']).pipe(res);
    });
    app.get('/tagged/:id', (req: any, res: any) => {
      hit('tagged');
      res.set('x-cache-tags', `user:${req.params.id}`);
      res.json({ user: req.params.id });
    });
    app.get('/nostore', (_req: any, res: any) => {
      hit('nostore');
      res.set('Cache-Control', 'no-store').send('n');
    });
    app.get('/big', (_req: any, res: any) => {
      hit('big');
      res.send(big);
    });
    app.get('/flaky', (_req: any, res: any) => {
      const n = hit('flaky');
      if (state.fail) res.status(500).send('broken');
      else res.json({ n });
    });
    app.get('/many/:id', (req: any, res: any) => {
      hit('many');
      res.send(`item ${req.params.id} ${'y'.repeat(200)}`);
    });
    server = http.createServer(adapter.endsWith('-front') ? mw.front(app) : app);
  } else {
    const Koa = require(adapter === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    const router = new Router();
    router.get('/json/:id', (ctx: any) => {
      ctx.set('x-custom', 'yes');
      ctx.body = { id: ctx.params.id, n: hit('json') };
    });
    router.get('/vary', (ctx: any) => {
      hit('vary');
      ctx.set('Vary', 'Accept-Language');
      ctx.body = `lang=${ctx.headers['accept-language'] ?? 'none'}`;
    });
    router.get('/cookie', (ctx: any) => {
      hit('cookie');
      ctx.cookies.set('sid', 'secret');
      ctx.body = 'c';
    });
    router.get('/coalesce', async (ctx: any) => {
      const n = hit('coalesce');
      await sleep(100);
      ctx.body = { n };
    });
    router.get('/stream', (ctx: any) => {
      hit('stream');
      ctx.type = 'text/plain';
      ctx.body = Readable.from(['alpha,', 'beta,', 'gamma']);
    });
    router.get('/tagged/:id', (ctx: any) => {
      hit('tagged');
      ctx.set('x-cache-tags', `user:${ctx.params.id}`);
      ctx.body = { user: ctx.params.id };
    });
    router.get('/nostore', (ctx: any) => {
      hit('nostore');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = 'n';
    });
    router.get('/big', (ctx: any) => {
      hit('big');
      ctx.body = big;
    });
    router.get('/flaky', (ctx: any) => {
      const n = hit('flaky');
      if (state.fail) {
        ctx.status = 500;
        ctx.body = 'broken';
      } else ctx.body = { n };
    });
    router.get('/many/:id', (ctx: any) => {
      hit('many');
      ctx.body = `item ${ctx.params.id} ${'y'.repeat(200)}`;
    });
    app.use(router.routes());
    server = http.createServer(app.callback());
  }
  const base = await listen(server);
  return { server, engine, base, calls, state };
}

for (const adapter of ADAPTERS) {
  describe(`response cache on ${adapter}`, () => {
    const clock = new ManualClock();
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    let app: App;

    before(async () => {
      app = await start(adapter, {
        clock,
        telemetry: { meterProvider, mode: 'own' },
        cache: {
          ttl: 10_000,
          maxEntryBytes: 4096,
          maxBytes: 100_000,
          staleIfError: 60_000,
          global: true,
          routes: { 'GET /json/:id': { tags: (ex) => [`json:${ex.path.split('/')[2]}`] } },
        },
      });
    });
    after(async () => {
      await app.engine.close();
      await close(app.server);
      await meterProvider.shutdown();
    });

    test('a hit returns the same status, bytes and headers as the miss, with X-Cache and Age', async () => {
      const miss = await get(`${app.base}/json/1`);
      assert.equal(miss.status, 200);
      assert.equal(miss.headers['x-cache'], 'MISS');
      clock.advance(2500);
      const hit = await get(`${app.base}/json/1`);
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.equal(hit.headers.age, '2');
      assert.equal(hit.status, miss.status);
      assert.deepEqual(hit.body, miss.body);
      assert.deepEqual(comparable(hit.headers), comparable(miss.headers));
      assert.ok(typeof hit.headers.etag === 'string' && hit.headers.etag.length > 2, 'an ETag is sent');
      assert.equal(app.calls.json, 1);
      // a differently ordered query is the same key; another query is another
      await get(`${app.base}/json/1?b=2&a=1`);
      const same = await get(`${app.base}/json/1?a=1&b=2`);
      assert.equal(same.headers['x-cache'], 'HIT');
      assert.equal(app.calls.json, 2);
    });

    test('HEAD is answered from the GET entry, without a body', async () => {
      await get(`${app.base}/json/head`);
      const head = await get(`${app.base}/json/head`, {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['x-cache'], 'HIT');
      assert.equal(head.body.length, 0);
    });

    test('Vary separates entries by the named request header', async () => {
      const en = await get(`${app.base}/vary`, { 'accept-language': 'en' });
      const fr = await get(`${app.base}/vary`, { 'accept-language': 'fr' });
      assert.equal(en.body.toString(), 'lang=en');
      assert.equal(fr.body.toString(), 'lang=fr');
      assert.equal(fr.headers['x-cache'], 'MISS');
      const en2 = await get(`${app.base}/vary`, { 'accept-language': 'en' });
      const fr2 = await get(`${app.base}/vary`, { 'accept-language': 'fr' });
      assert.equal(en2.body.toString(), 'lang=en');
      assert.equal(en2.headers['x-cache'], 'HIT');
      assert.equal(fr2.body.toString(), 'lang=fr');
      assert.equal(fr2.headers['x-cache'], 'HIT');
      assert.equal(app.calls.vary, 2);
    });

    test('a response that sets a cookie is never cached or replayed', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await get(`${app.base}/cookie`);
        assert.match(String(r.headers['set-cookie']), /sid=secret/);
        assert.equal(r.headers['x-cache'], 'MISS');
      }
      assert.equal(app.calls.cookie, 3);
    });

    test('100 concurrent misses for one key call the handler once', async () => {
      const results = await Promise.all(Array.from({ length: 100 }, () => get(`${app.base}/coalesce`)));
      assert.equal(app.calls.coalesce, 1);
      const bodies = new Set(results.map((r) => r.body.toString()));
      assert.deepEqual([...bodies], ['{"n":1}']);
      assert.equal(results.filter((r) => r.headers['x-cache'] === 'MISS').length, 1);
      assert.equal(results.filter((r) => r.headers['x-cache'] === 'HIT').length, 99);
    });

    test('entries expire after their TTL (ManualClock)', async () => {
      await get(`${app.base}/json/ttl`);
      clock.advance(9_999);
      assert.equal((await get(`${app.base}/json/ttl`)).headers['x-cache'], 'HIT');
      clock.advance(2);
      const after = await get(`${app.base}/json/ttl`);
      assert.equal(after.headers['x-cache'], 'MISS');
      assert.equal(JSON.parse(after.body.toString()).id, 'ttl');
    });

    test('If-None-Match with the stored ETag gets a 304 without a body', async () => {
      const first = await get(`${app.base}/json/etag`);
      const etag = String(first.headers.etag);
      await get(`${app.base}/json/etag`); // stored
      const nm = await get(`${app.base}/json/etag`, { 'if-none-match': etag });
      assert.equal(nm.status, 304);
      assert.equal(nm.body.length, 0);
      assert.equal(nm.headers.etag, etag);
      assert.equal(nm.headers['x-cache'], 'HIT');
      const other = await get(`${app.base}/json/etag`, { 'if-none-match': '"nope"' });
      assert.equal(other.status, 200);
      assert.deepEqual(other.body, first.body);
    });

    test('invalidation by tag (header-set and route-set), by key and by prefix', async () => {
      await get(`${app.base}/tagged/42`);
      await get(`${app.base}/tagged/7`);
      assert.equal((await get(`${app.base}/tagged/42`)).headers['x-cache'], 'HIT');
      const cache = controlsOf(app.engine).cache;
      assert.deepEqual(await cache.invalidate({ tag: 'user:42' }), { local: 1, shared: null });
      assert.equal((await get(`${app.base}/tagged/42`)).headers['x-cache'], 'MISS');
      assert.equal((await get(`${app.base}/tagged/7`)).headers['x-cache'], 'HIT');
      const tagged = await get(`${app.base}/tagged/42`);
      assert.equal(tagged.headers['x-cache-tags'], undefined, 'the tag header is not sent to clients');

      await get(`${app.base}/json/9`);
      assert.equal((await cache.invalidate({ tag: 'json:9' })).local, 1);
      assert.equal((await get(`${app.base}/json/9`)).headers['x-cache'], 'MISS');
      assert.equal((await cache.invalidate({ key: '/json/9' })).local, 1);
      assert.equal((await get(`${app.base}/json/9`)).headers['x-cache'], 'MISS');
      assert.ok((await cache.invalidate({ prefix: '/tagged/' })).local >= 2);
      assert.equal((await get(`${app.base}/tagged/7`)).headers['x-cache'], 'MISS');
    });

    test('a streamed body reaches the client and is captured; the hit replays it', async () => {
      const miss = await get(`${app.base}/stream`);
      assert.equal(miss.body.toString(), 'alpha,beta,gamma');
      const hit = await get(`${app.base}/stream`);
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.equal(hit.body.toString(), 'alpha,beta,gamma');
      assert.equal(hit.headers['content-type'], miss.headers['content-type']);
      assert.equal(app.calls.stream, 1);
    });

    test('no-store responses, bodies over the entry cap and Authorization requests are not cached', async () => {
      await get(`${app.base}/nostore`);
      await get(`${app.base}/nostore`);
      assert.equal(app.calls.nostore, 2);
      const b1 = await get(`${app.base}/big`);
      const b2 = await get(`${app.base}/big`);
      assert.equal(b1.body.length, 5000);
      assert.equal(b2.body.length, 5000);
      assert.equal(b2.headers['x-cache'], 'MISS');
      assert.equal(app.calls.big, 2);
      const before = app.calls.json ?? 0;
      await get(`${app.base}/json/auth`, { authorization: 'Bearer a' });
      const r = await get(`${app.base}/json/auth`, { authorization: 'Bearer b' });
      // looked up (only entries marked public may serve it) and missed; the answer is not stored
      assert.equal(r.headers['x-cache'], 'MISS');
      assert.equal(JSON.parse(r.body.toString()).n, before + 2);
      assert.equal(app.calls.json, before + 2);
    });

    test('request Cache-Control: no-cache goes to the app; no-store bypasses', async () => {
      await get(`${app.base}/json/cc`);
      const before = app.calls.json ?? 0;
      const nc = await get(`${app.base}/json/cc`, { 'cache-control': 'no-cache' });
      assert.equal(nc.headers['x-cache'], 'MISS');
      assert.equal(app.calls.json, before + 1);
      const ns = await get(`${app.base}/json/cc`, { 'cache-control': 'no-store' });
      assert.equal(ns.headers['x-cache'], undefined);
      assert.equal(app.calls.json, before + 2);
      assert.equal((await get(`${app.base}/json/cc`)).headers['x-cache'], 'HIT');
    });

    test('stale-if-error serves the stale copy instead of a 500', async () => {
      const fresh = await get(`${app.base}/flaky`);
      assert.equal(fresh.status, 200);
      clock.advance(11_000);
      app.state.fail = true;
      const r = await get(`${app.base}/flaky`);
      app.state.fail = false;
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-cache'], 'STALE');
      assert.deepEqual(r.body, fresh.body);
      assert.equal(app.calls.flaky, 2);
    });

    test('the whole cache stays within maxBytes over many distinct keys', async () => {
      for (let i = 0; i < 600; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => get(`${app.base}/many/${i + j}`)));
      }
      const snap = (app.engine.metricsSnapshot().features as any).cache;
      assert.ok(snap.bytes <= 100_000, `bytes ${snap.bytes}`);
      assert.ok(snap.evictions > 0);
      assert.ok(snap.entries < 600);
    });

    test('monitoring routes are never cached; stats appear in /metrics', async () => {
      const m1 = await get(`${app.base}/api/v1/metrics`);
      const m2 = await get(`${app.base}/api/v1/metrics`);
      assert.equal(m1.headers['x-cache'], undefined);
      assert.equal(m2.headers['x-cache'], undefined);
      const snap = JSON.parse(m2.body.toString()).features.cache;
      assert.ok(snap.hits > 0 && snap.misses > 0 && snap.stored > 0, JSON.stringify(snap));
    });

    test('OTel: the cache outcome is an attribute of http.server.request.duration, and counted per route', async () => {
      await reader.forceFlush();
      const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
      const duration = metrics.filter((m) => m.descriptor.name === 'http.server.request.duration').flatMap((m): DataPoint<unknown>[] => m.dataPoints);
      const outcomes = new Set(duration.map((p) => p.attributes['autom8.cache.outcome']));
      assert.ok(outcomes.has('hit') && outcomes.has('miss'), [...outcomes].join());
      const hitPoint = duration.find((p) => p.attributes['autom8.cache.outcome'] === 'hit' && p.attributes['http.route'] === '/json/:id');
      assert.ok(hitPoint, 'hits on /json/:id are recorded with their route');
      const counter = metrics
        .filter((m) => m.descriptor.name === 'autom8.cache.requests')
        .flatMap((m) => (m.dataPointType === DataPointType.SUM ? m.dataPoints : assert.fail(`autom8.cache.requests is a counter, got ${m.dataPointType}`)));
      const jsonHits = counter.find((p) => p.attributes['autom8.cache.outcome'] === 'hit' && p.attributes['http.route'] === '/json/:id');
      assert.ok(jsonHits !== undefined && jsonHits.value >= 2);
    });
  });
}

after(() => agent.destroy());

// Over HTTP the point is the adapters' wiring into the cap, with far more keys than fit (each entry
// is a few hundred bytes: ~1% of these fit); 100,000 keys in one process are
// packages/core/test/cache-response.test.ts's.
const DISTINCT_KEYS = 20_000;
describe(`the byte cap over real HTTP with ${DISTINCT_KEYS.toLocaleString('en')} distinct keys`, () => {
  for (const adapter of ['express5', 'koa3'] as const) {
    test(adapter, async () => {
      const app = await start(adapter, {
        telemetry: { enabled: false },
        metrics: { enabled: false },
        cache: { ttl: 600_000, maxBytes: 200_000, global: true },
      });
      try {
        for (let i = 0; i < DISTINCT_KEYS; i += 250) {
          await Promise.all(Array.from({ length: 250 }, (_, j) => get(`${app.base}/many/${i + j}`)));
        }
        const snap = (app.engine.metricsSnapshot().features as any).cache;
        assert.ok(snap.bytes <= 200_000, `bytes ${snap.bytes}`);
        assert.ok(snap.entries > 0 && snap.entries < DISTINCT_KEYS / 20, `entries ${snap.entries}`);
        assert.ok(snap.evictions >= DISTINCT_KEYS - snap.entries - 1, `evictions ${snap.evictions}`);
        const rss = process.memoryUsage().rss;
        assert.ok(rss < 1024 * 1024 * 1024, `rss ${rss}`);
      } finally {
        await app.engine.close();
        await close(app.server);
      }
    });
  }
});

describe('a hit carries the current client’s rate-limit headers, not the stored ones', () => {
  for (const adapter of ADAPTERS) {
    test(adapter, async () => {
      const app = await start(adapter, { rateLimit: { rate: 10, per: 'minute' }, cache: { ttl: 60_000, global: true } });
      try {
        const miss = await get(`${app.base}/json/7`);
        assert.equal(miss.headers['x-cache'], 'MISS');
        assert.match(String(miss.headers.ratelimit), /r=9\b/);
        const hit = await get(`${app.base}/json/7`);
        assert.equal(hit.headers['x-cache'], 'HIT');
        assert.match(String(hit.headers.ratelimit), /r=8\b/, `HIT RateLimit: ${hit.headers.ratelimit}`);
        assert.equal(app.calls.json, 1);
      } finally {
        await app.engine.close();
        await close(app.server);
      }
    });
  }
});
