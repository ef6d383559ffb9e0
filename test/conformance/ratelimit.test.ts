// Rate limiting over real HTTP on every adapter (Express 5 and 4, Koa 3 and 2): headers, 429
// problem+json bodies, per-route limits, client keys, dry run, the exempt rule, exact admission
// under concurrency, and the OTel decision counter.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { ManualClock, subscribe, type Autom8Options, type Autom8Event } from '@autom8/core';
import { type Autom8, engineOf } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const ADAPTERS = ['express5', 'express4', 'koa3', 'koa2'] as const;
type Adapter = (typeof ADAPTERS)[number];

interface App {
  server: Server;
  engine: Autom8;
  base: string;
}

const quiet = { info() {}, warn() {}, error() {} };

/** A small app: GET /users/:id, POST /login, GET /health, GET /search. */
async function start(adapter: Adapter, options: Autom8Options): Promise<App> {
  const opts: Autom8Options = { logger: quiet, ...options };
  let server: Server;
  let engine: Autom8;
  if (adapter.startsWith('express')) {
    const express = require(adapter === 'express5' ? 'express' : 'express4');
    const app = express();
    const mw = autom8Express(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
    app.post('/login', (_req: any, res: any) => res.json({ ok: true }));
    app.get('/health', (_req: any, res: any) => res.json({ status: 'ok' }));
    app.get('/search', (_req: any, res: any) => res.json({ hits: [] }));
    server = http.createServer(app);
  } else {
    const Koa = require(adapter === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    const router = new Router();
    router.get('/users/:id', (ctx: any) => {
      ctx.body = { id: ctx.params.id };
    });
    router.post('/login', (ctx: any) => {
      ctx.body = { ok: true };
    });
    router.get('/health', (ctx: any) => {
      ctx.body = { status: 'ok' };
    });
    router.get('/search', (ctx: any) => {
      ctx.body = { hits: [] };
    });
    app.use(router.routes());
    server = http.createServer(app.callback());
  }
  return { server, engine, base: await listen(server) };
}

async function stop(app: App): Promise<void> {
  await close(app.server);
  await app.engine.close();
}

async function req(app: App, path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(app.base + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/** `n` requests with at most `parallel` in flight, over keep-alive sockets. */
async function burst(app: App, path: string, n: number, parallel: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const url = new URL(app.base + path);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const r = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      r.on('error', reject);
    });
  try {
    return await Promise.all(Array.from({ length: n }, one));
  } finally {
    agent.destroy();
  }
}

for (const adapter of ADAPTERS) {
  describe(`rate limiting on ${adapter}`, () => {
    describe('global default and per-route limits', () => {
      let app: App;
      before(async () => {
        app = await start(adapter, {
          clock: new ManualClock(),
          exempt: ['/health'],
          rateLimit: { algorithm: 'fixed-window', routes: { 'POST /login': { name: 'login', rate: 5, per: 'minute' }, 'GET /search': { cost: 10 } } },
        });
      });
      after(() => stop(app));

      test('allowed responses carry the draft-10 RateLimit and RateLimit-Policy fields', async () => {
        const r = await req(app, '/users/1');
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('ratelimit-policy'), '"default";q=5000;w=60');
        assert.match(r.headers.get('ratelimit')!, /^"default";r=4999;t=\d+$/);
      });

      test('POST /login: 5 per minute, then 429 with Retry-After and problem+json; every policy in one field', async () => {
        for (let i = 0; i < 5; i++) {
          const r = await req(app, '/login', { method: 'POST' });
          assert.equal(r.status, 200, `login ${i}`);
          assert.equal(r.headers.get('ratelimit-policy'), '"login";q=5;w=60, "default";q=5000;w=60');
          assert.match(r.headers.get('ratelimit')!, new RegExp(`^"login";r=${4 - i};t=\\d+, "default";r=\\d+;t=\\d+$`));
        }
        const r = await req(app, '/login', { method: 'POST' });
        assert.equal(r.status, 429);
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
        assert.equal(r.headers.get('content-type'), 'application/problem+json');
        assert.equal(r.headers.get('ratelimit-policy'), '"login";q=5;w=60, "default";q=5000;w=60');
        assert.match(r.headers.get('ratelimit')!, /^"login";r=0;t=\d+$/);
        const body = JSON.parse(r.text);
        assert.deepEqual(
          { type: body.type, title: body.title, status: body.status, policy: body.policy, retryAfter: body.retryAfter },
          { type: 'about:blank', title: 'Too Many Requests', status: 429, policy: 'login', retryAfter: retry },
        );
        // other routes of the same client are still served
        assert.equal((await req(app, '/users/2')).status, 200);
      });

      test('a route cost is charged against the global limit', async () => {
        const before = await req(app, '/users/3');
        const r0 = Number(/r=(\d+)/.exec(before.headers.get('ratelimit')!)![1]);
        const s = await req(app, '/search');
        assert.equal(s.status, 200);
        assert.equal(Number(/r=(\d+)/.exec(s.headers.get('ratelimit')!)![1]), r0 - 10);
      });

      test('monitoring endpoints and exempt routes are never limited and carry no headers', async () => {
        for (let i = 0; i < 3; i++) {
          const m = await req(app, '/api/v1/metrics');
          assert.equal(m.status, 200);
          assert.equal(m.headers.get('ratelimit'), null);
          const h = await req(app, '/health');
          assert.equal(h.status, 200);
          assert.equal(h.headers.get('ratelimit'), null);
        }
        const snap = JSON.parse((await req(app, '/api/v1/metrics')).text).features.rateLimit;
        assert.equal(snap.store, 'memory');
        assert.equal(snap.limiters.login.limited, 1);
        assert.equal(snap.limiters.login.allowed, 5);
      });
    });

    test('a tiny global limit still never touches the monitoring endpoints', async () => {
      const app = await start(adapter, { clock: new ManualClock(), rateLimit: { rate: 1, per: 'hour', algorithm: 'fixed-window' } });
      try {
        assert.equal((await req(app, '/users/1')).status, 200);
        assert.equal((await req(app, '/users/1')).status, 429);
        for (let i = 0; i < 5; i++) assert.equal((await req(app, '/api/v1/metrics')).status, 200);
      } finally {
        await stop(app);
      }
    });

    test('1,000 concurrent requests against a limit of 100 admit exactly 100 (memory store)', async () => {
      const app = await start(adapter, { clock: new ManualClock(), rateLimit: { rate: 100, per: 'hour', algorithm: 'fixed-window' } });
      try {
        const statuses = await burst(app, '/users/1', 1000, 100);
        assert.equal(statuses.filter((s) => s === 200).length, 100);
        assert.equal(statuses.filter((s) => s === 429).length, 900);
      } finally {
        await stop(app);
      }
    });

    test('client keys: an API-key header, and IPv6 grouped by /64 behind a trusted proxy', async () => {
      const app = await start(adapter, { clock: new ManualClock(), trustProxy: true, rateLimit: { rate: 1, per: 'hour', algorithm: 'fixed-window' } });
      const keyed = await start(adapter, {
        clock: new ManualClock(),
        rateLimit: { rate: 1, per: 'hour', algorithm: 'fixed-window', key: { header: 'x-api-key' } },
      });
      try {
        const xff = (a: string) => ({ headers: { 'x-forwarded-for': a } });
        assert.equal((await req(app, '/users/1', xff('2001:db8:1:2::1'))).status, 200);
        assert.equal((await req(app, '/users/1', xff('2001:db8:1:2:ffff::9'))).status, 429, 'same /64');
        assert.equal((await req(app, '/users/1', xff('2001:db8:1:3::1'))).status, 200, 'another /64');
        assert.equal((await req(app, '/users/1', xff('203.0.113.7'))).status, 200);
        assert.equal((await req(app, '/users/1', xff('203.0.113.8'))).status, 200, 'IPv4 is not grouped');

        const k = (key: string) => ({ headers: { 'x-api-key': key } });
        assert.equal((await req(keyed, '/users/1', k('alpha'))).status, 200);
        assert.equal((await req(keyed, '/users/1', k('alpha'))).status, 429);
        assert.equal((await req(keyed, '/users/1', k('beta'))).status, 200);
      } finally {
        await stop(app);
        await stop(keyed);
      }
    });

    test('skip() and legacy headers', async () => {
      const app = await start(adapter, {
        clock: new ManualClock(),
        rateLimit: { rate: 2, per: 'minute', algorithm: 'fixed-window', headers: 'legacy', skip: (ex) => ex.header('x-internal') === '1' },
      });
      try {
        const r = await req(app, '/users/1');
        assert.equal(r.headers.get('x-ratelimit-limit'), '2');
        assert.equal(r.headers.get('x-ratelimit-remaining'), '1');
        assert.ok(Number(r.headers.get('x-ratelimit-reset')) > 1_600_000_000);
        assert.equal(r.headers.get('ratelimit'), null);
        for (let i = 0; i < 5; i++) assert.equal((await req(app, '/users/1', { headers: { 'x-internal': '1' } })).status, 200);
        assert.equal((await req(app, '/users/1')).status, 200);
        assert.equal((await req(app, '/users/1')).status, 429);
      } finally {
        await stop(app);
      }
    });

    test('leaky-bucket shaper: requests within maxDelayMs are delayed and served, the rest refused', async () => {
      // One per 100 ms, wait at most 300 ms: of 6 simultaneous requests (frozen clock), the ones
      // with delays 0, 100, 200, 300 are served; two are refused.
      const app = await start(adapter, { clock: new ManualClock(), rateLimit: { algorithm: 'leaky-bucket', rate: 10, per: 'second', maxDelayMs: 300 } });
      try {
        const statuses = await burst(app, '/users/1', 6, 6);
        assert.equal(statuses.filter((s) => s === 200).length, 4, String(statuses));
        assert.equal(statuses.filter((s) => s === 429).length, 2, String(statuses));
      } finally {
        await stop(app);
      }
    });

    test('dry run: decisions are counted, logged and published, nothing is rejected', async () => {
      const lines: object[] = [];
      const logger = { info: (o: object) => lines.push(o), warn() {}, error() {} };
      const events: Autom8Event<'ratelimit.limited'>[] = [];
      const unsubscribe = subscribe(['ratelimit.limited'], (e) => events.push(e));
      const app = await start(adapter, { clock: new ManualClock(), logger, name: `dry-${adapter}`, rateLimit: { rate: 1, per: 'hour', dryRun: true } });
      try {
        for (let i = 0; i < 4; i++) {
          const r = await req(app, '/users/1');
          assert.equal(r.status, 200);
          assert.equal(r.headers.get('ratelimit'), null);
        }
        const snap = JSON.parse((await req(app, '/api/v1/metrics')).text).features.rateLimit;
        assert.equal(snap.dryRun, true);
        assert.equal(snap.limiters.default.allowed, 1);
        assert.equal(snap.limiters.default.dryRunLimited, 3);
        assert.ok(
          lines.some((l) => (l as { dryRun?: boolean }).dryRun === true),
          'logged',
        );
        const mine = events.filter((e) => e.instance === `dry-${adapter}`);
        assert.equal(mine.length, 3);
        assert.equal(mine[0]!.dryRun, true);
        assert.equal(mine[0]!.limiter, 'default');
      } finally {
        unsubscribe();
        await stop(app);
      }
    });

    test('the OTel counter autom8.ratelimit.decisions counts by limiter, route and outcome', async () => {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
      const meterProvider = new MeterProvider({ readers: [reader] });
      const app = await start(adapter, {
        clock: new ManualClock(),
        telemetry: { meterProvider },
        routes: ['POST /login'],
        rateLimit: { rate: 100, per: 'minute', algorithm: 'fixed-window', routes: { 'POST /login': { name: 'login', rate: 1 } } },
      });
      try {
        await req(app, '/login', { method: 'POST' });
        await req(app, '/login', { method: 'POST' });
        const { resourceMetrics } = await reader.collect();
        const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'autom8.ratelimit.decisions') as SumMetricData;
        assert.ok(metric, 'counter exported');
        const points = metric.dataPoints
          .map((p) => `${p.attributes['autom8.ratelimit.limiter']}|${p.attributes['http.route']}|${p.attributes['autom8.ratelimit.outcome']}=${p.value}`)
          .sort();
        assert.deepEqual(points, ['default|/login|allowed=1', 'login|/login|allowed=1', 'login|/login|limited=1']);
      } finally {
        await stop(app);
        await meterProvider.shutdown();
      }
    });
  });
}
