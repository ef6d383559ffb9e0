import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { context, trace } from '@opentelemetry/api';
import type { Autom8Options } from '@autom8/core';
import type { Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { engineOf } from '@autom8/core/adapter';

const require = createRequire(__filename);

/** Every adapter × framework major the conformance suite runs against. */
export const ADAPTERS = ['express5', 'express4', 'koa3', 'koa2', 'express5-front', 'express4-front'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** A test app: its HTTP server (not yet listening) and the autom8 engine inside it. */
export interface TestApp {
  server: Server;
  engine: Autom8;
}

/** Routes every test app serves, the same on every adapter. */
/** Extra routes registered before the standard ones: on the Express app, or on the Koa router. */
export type ExtraRoutes = (app: any, framework: 'express' | 'koa') => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits at least `ms` by the monotonic clock. A plain timer can fire up to ~1 ms early against it
 * (libuv schedules from its cached loop time, in whole ms), and tests assert the /slow route's
 * duration is ≥ 50 ms.
 */
async function sleepAtLeast(ms: number): Promise<void> {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) await sleep(Math.ceil(left));
}

/** The span active in the handler after an await: shows the request context reached the app. */
async function activeSpan(): Promise<{ spanId: string; traceId: string; sampled: boolean }> {
  await sleep(1);
  const sc = trace.getSpan(context.active())?.spanContext();
  return { spanId: sc?.spanId ?? 'none', traceId: sc?.traceId ?? 'none', sampled: sc !== undefined && (sc.traceFlags & 1) === 1 };
}

/**
 * The suites read the monitoring endpoints before and after their requests: unless a test says
 * otherwise, every read is computed afresh (no answer cache) and never refused by the endpoints'
 * token bucket. test/security/monitoring.test.ts covers the defaults.
 */
export function freshMonitoring(options: Autom8Options | undefined): Autom8Options {
  return { ...options, monitoring: { cacheMs: 0, rateLimit: false, ...options?.monitoring } };
}

/**
 * Builds the standard app on one adapter:
 * - GET /users/:id (JSON), GET /slow (50 ms), GET /boom (500), GET /health, GET /whoami (active span and trace ids)
 * - GET /throw (the handler throws), GET /reject (an async handler rejects): the framework's own 500
 * - GET /api/items/:itemId (router mounted at /api), GET /api/v2/things/:thingId (nested router)
 * - GET /orgs/:org/teams/:team (router mounted on a parametric path)
 * - /admin/*: middleware answers 401 before routing unless `authorization: ok`; GET /admin/stats
 * - GET /etag: JSON with ETag, 304 on a matching If-None-Match
 */
export function buildApp(adapter: AdapterName, options?: Autom8Options, extra?: ExtraRoutes): TestApp {
  options = freshMonitoring(options);
  if (adapter.startsWith('express')) return buildExpress(adapter.startsWith('express5') ? 'express' : 'express4', options, adapter.endsWith('-front'), extra);
  return buildKoa(adapter === 'koa3' ? 'koa' : 'koa2', options, extra);
}

/** Express with `app.use(mw)`, or in front mode (`http.createServer(mw.front(app))`, mw still app.use'd). */
function buildExpress(pkg: string, options: Autom8Options | undefined, front: boolean, extra?: ExtraRoutes): TestApp {
  const express = require(pkg);
  const app = express();
  const mw = autom8Express(options);
  app.use(mw);
  extra?.(app, 'express');
  app.use('/admin', (req: any, res: any, next: any) => (req.headers.authorization === 'ok' ? next() : res.status(401).json({ error: 'unauthorized' })));
  app.get('/admin/stats', (_req: any, res: any) => res.json({ ok: true }));
  app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
  app.get('/slow', async (_req: any, res: any) => {
    await sleepAtLeast(50);
    res.json({ slow: true });
  });
  app.get('/boom', (_req: any, res: any) => res.status(500).json({ error: 'boom' }));
  // The common real-world 5xx: a handler that throws, and an async one that rejects (Express 5
  // catches the rejection itself; Express 4 needs it handed to next()).
  app.get('/throw', () => {
    throw new Error('handler threw');
  });
  app.get('/reject', (_req: any, _res: any, next: any) => {
    const p = Promise.reject(new Error('handler rejected'));
    return pkg === 'express' ? p : p.catch(next);
  });
  app.get('/health', (_req: any, res: any) => res.json({ status: 'ok' }));
  app.get('/whoami', async (_req: any, res: any) => res.json(await activeSpan()));
  app.get('/etag', (_req: any, res: any) => {
    res.set('ETag', '"v1"');
    if (req304(_req)) return res.status(304).end();
    res.json({ v: 1 });
  });
  const api = express.Router();
  api.get('/items/:itemId', (req: any, res: any) => res.json({ item: req.params.itemId }));
  const v2 = express.Router();
  v2.get('/things/:thingId', (req: any, res: any) => res.json({ thing: req.params.thingId }));
  api.use('/v2', v2);
  app.use('/api', api);
  const org = express.Router({ mergeParams: true });
  org.get('/teams/:team', (req: any, res: any) => res.json({ org: req.params.org, team: req.params.team }));
  app.use('/orgs/:org', org);
  return { server: http.createServer(front ? mw.front(app) : app), engine: engineOf(mw)! };
}

function req304(req: { headers: Record<string, string | undefined> }): boolean {
  return req.headers['if-none-match'] === '"v1"';
}

function buildKoa(pkg: string, options?: Autom8Options, extra?: ExtraRoutes): TestApp {
  const Koa = require(pkg);
  const Router = require('@koa/router');
  const app = new Koa();
  app.silent = true; // the /throw and /reject routes' errors are expected: no stack on stderr
  const mw = autom8Koa(options);
  app.use(mw);
  app.use(async (ctx: any, next: any) => {
    if (ctx.path.startsWith('/admin') && ctx.headers.authorization !== 'ok') {
      ctx.status = 401;
      ctx.body = { error: 'unauthorized' };
      return;
    }
    await next();
  });
  const router = new Router();
  extra?.(router, 'koa');
  router.get('/admin/stats', (ctx: any) => {
    ctx.body = { ok: true };
  });
  router.get('/users/:id', (ctx: any) => {
    ctx.body = { id: ctx.params.id };
  });
  router.get('/slow', async (ctx: any) => {
    await sleepAtLeast(50);
    ctx.body = { slow: true };
  });
  router.get('/boom', (ctx: any) => {
    ctx.status = 500;
    ctx.body = { error: 'boom' };
  });
  router.get('/throw', () => {
    throw new Error('handler threw');
  });
  router.get('/reject', async () => {
    await Promise.resolve();
    throw new Error('handler rejected');
  });
  router.get('/health', (ctx: any) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/whoami', async (ctx: any) => {
    ctx.body = await activeSpan();
  });
  router.get('/etag', (ctx: any) => {
    ctx.set('ETag', '"v1"');
    if (req304(ctx.req)) {
      ctx.status = 304;
      return;
    }
    ctx.body = { v: 1 };
  });
  const api = new Router({ prefix: '/api' });
  api.get('/items/:itemId', (ctx: any) => {
    ctx.body = { item: ctx.params.itemId };
  });
  const v2 = new Router();
  v2.get('/things/:thingId', (ctx: any) => {
    ctx.body = { thing: ctx.params.thingId };
  });
  api.use('/v2', v2.routes());
  const org = new Router({ prefix: '/orgs/:org' });
  org.get('/teams/:team', (ctx: any) => {
    ctx.body = { org: ctx.params.org, team: ctx.params.team };
  });
  app.use(router.routes());
  app.use(api.routes());
  app.use(org.routes());
  return { server: http.createServer(app.callback()), engine: engineOf(mw)! };
}
