// Test apps for the SLO, slow-log and breaker tests: real Express 5/4 and Koa 3/2 (+ @koa/router)
// servers whose handlers move a ManualClock forward to "take" a given time, so that durations are
// exact and nothing depends on the machine's speed.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Autom8Options, ManualClock } from '@autom8/core';
import type { Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../../../test/support/http';
import { engineOf } from '@autom8/core/adapter';

const require = createRequire(__filename);

export const PERF_ADAPTERS = ['express5', 'express4', 'koa3', 'koa2'] as const;
export type PerfAdapter = (typeof PERF_ADAPTERS)[number];

export interface PerfApp {
  base: string;
  engine: Autom8;
  /** GET `path` and read the body; resolves once the engine has finished recording the request. */
  get(path: string): Promise<{ status: number; body: string; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * Routes: GET /work?ms=&status= (takes `ms`, answers `status`), GET /users/:id (500 for id `bad`,
 * takes `ms`), GET /report?ms=, and under /api a router with GET /api/items/:itemId.
 */
export async function startPerfApp(adapter: PerfAdapter, clock: ManualClock, options: Autom8Options): Promise<PerfApp> {
  // Reads of the monitoring endpoints are computed afresh and never refused, unless a test says otherwise.
  const opts = { ...options, clock, monitoring: { cacheMs: 0, rateLimit: false as const, ...options.monitoring } };
  let server: Server;
  let engine: Autom8;
  const take = (q: Record<string, unknown>) => clock.advance(Number(q.ms ?? 0));
  if (adapter.startsWith('express')) {
    const express = require(adapter === 'express5' ? 'express' : 'express4');
    const app = express();
    const mw = autom8Express(opts);
    app.use(mw);
    app.get('/work', (req: any, res: any) => {
      take(req.query);
      res.status(Number(req.query.status ?? 200)).json({ ok: true });
    });
    app.get('/users/:id', (req: any, res: any) => {
      take(req.query);
      res.status(req.params.id === 'bad' ? 500 : 200).json({ id: req.params.id });
    });
    app.get('/report', (req: any, res: any) => {
      take(req.query);
      res.json({ report: true });
    });
    const api = express.Router();
    api.get('/items/:itemId', (req: any, res: any) => {
      take(req.query);
      res.json({ item: req.params.itemId });
    });
    app.use('/api', api);
    server = http.createServer(app);
    engine = engineOf(mw)!;
  } else {
    const Koa = require(adapter === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa(opts);
    app.use(mw);
    const router = new Router();
    router.get('/work', (ctx: any) => {
      take(ctx.query);
      ctx.status = Number(ctx.query.status ?? 200);
      ctx.body = { ok: true };
    });
    router.get('/users/:id', (ctx: any) => {
      take(ctx.query);
      ctx.status = ctx.params.id === 'bad' ? 500 : 200;
      ctx.body = { id: ctx.params.id };
    });
    router.get('/report', (ctx: any) => {
      take(ctx.query);
      ctx.body = { report: true };
    });
    const api = new Router({ prefix: '/api' });
    api.get('/items/:itemId', (ctx: any) => {
      take(ctx.query);
      ctx.body = { item: ctx.params.itemId };
    });
    app.use(router.routes());
    app.use(api.routes());
    server = http.createServer(app.callback());
    engine = engineOf(mw)!;
  }
  const base = await listen(server);
  return {
    base,
    engine,
    async get(path) {
      const res = await fetch(base + path);
      const body = await res.text();
      await settled(engine);
      return { status: res.status, body, headers: res.headers };
    },
    async stop() {
      await close(server);
      await engine.close();
    },
  };
}

/** Waits until the engine has seen the end of every request (the response 'close' event). */
export async function settled(engine: Autom8): Promise<void> {
  for (let i = 0; i < 500 && engine.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 2));
  if (engine.inFlight > 0) throw new Error(`engine still has ${engine.inFlight} requests in flight`);
}

/** A pino-compatible logger that keeps what it is given. */
export function memoryLogger(): {
  lines: { obj: Record<string, unknown>; msg?: string }[];
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
} {
  const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
  const keep = (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg });
  return { lines, info: keep, warn: keep, error: keep };
}
