// ablation server: F=cm,sdk,rl,shed,cache,tel0  FW=koa|express
import { createRequire } from 'node:module';
import { startOtelSdk } from '../lib/otel-sdk.mjs';
const require = createRequire(import.meta.url);
const F = new Set((process.env.F ?? '').split(',').filter(Boolean));
const fw = process.env.FW ?? 'koa';
let sdk;
if (F.has('cm')) sdk = startOtelSdk({ global: true });
const opts = {};
if (F.has('tel0')) opts.telemetry = { enabled: false };
if (F.has('sdk') && !sdk) { sdk = startOtelSdk({ global: false }); opts.telemetry = { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider }; }
if (F.has('rl')) opts.rateLimit = { rate: 1e9, per: 'minute' };
if (F.has('shed')) opts.shed = { limits: { maxEventLoopDelayMs: 60_000 }, maxQueueDelayMs: 60_000 };
if (F.has('cache')) opts.cache = { routes: { 'GET /catalog': { ttl: 300000 } } };
const user = (id) => JSON.stringify({ id, name: 'Ada Lovelace', email: 'ada@example.com' });
const http = require('node:http');
let handler;
if (fw === 'koa') {
  const Koa = require('koa'); const Router = require('@koa/router');
  const app = new Koa(); if (!F.has('none')) app.use(require('@autom8/koa').autom8Koa(opts));
  const r = new Router(); r.get('/users/:id', (ctx) => { ctx.type = 'json'; ctx.body = user(ctx.params.id); });
  app.use(r.routes()); handler = app.callback();
} else {
  const express = require(fw === 'express4' ? 'express4' : 'express'); const app = express(); app.set('etag', false); app.set('x-powered-by', false);
  if (!F.has('none')) app.use(require('@autom8/express').autom8Express(opts));
  app.get('/users/:id', (req, res) => res.type('json').send(user(req.params.id)));
  handler = app;
}
const server = http.createServer(handler);
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
