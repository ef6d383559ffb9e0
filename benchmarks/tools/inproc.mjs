// An in-process harness for counting what autom8 adds per request, without sockets or a load
// generator. Not part of `npm run bench`: use it under callgrind, whose instruction counts hardly
// depend on how busy this noisy machine is, at two request counts, and divide the difference by the extra
// requests:
//
//   for n in 5000 15000; do
//     W=10000 N=$n FW=express F=rl,shed valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//       node --single-threaded benchmarks/tools/inproc.mjs full
//   done
//   (grep totals /tmp/cg.15000 − grep totals /tmp/cg.5000) / 10000 = instructions/request
//
// argv[2] MODE: none | noop (a pass-through middleware) | full (app.use(autom8…)) |
//               front (Express: mw.front(app)) | floor (lib/otel-floor.mjs: a hand-written minimal
//               OTel middleware; with F=otel, what the SDK alone costs per request) |
//               rlflex (rate-limiter-flexible's RateLimiterMemory in the middleware its README
//               shows, keyed by the client's address; no headers) | erl (Express: express-rate-limit,
//               memory store, draft-8 RateLimit headers; Koa: koa-ratelimit, memory driver, its
//               X-RateLimit headers): the rate-limit peers of F=rl,metoff, as servers/stacks.mjs wires them |
//               asyncnext (a pass-through middleware that calls next() from a microtask, as the
//               peers do after their promise settles: the control row for them)
// FW: express (5, default) | express4 | koa (3) | koa2 | node (node:http; mode none or front)
// F (autom8 features, comma-separated): otel (a real SDK: BasicTracerProvider + BatchSpanProcessor
//   + in-memory exporters, AsyncLocalStorage context manager registered globally), rl (rate limit,
//   memory store), shed, cache (a cached route beside the measured one), api (telemetry on, no SDK:
//   the OTel API's no-op), and with otel, to see what each part of the SDK costs: noctx (no context
//   manager registered), notrace (no tracer provider), nometrics (no meter provider).
//   Without otel or api, telemetry is off. metoff: metrics off (`metrics: { enabled: false }`).
//   nohdr (with rl): no rate-limit headers (`rateLimit.headers: false`), rate-limiter-flexible's README wiring sends none.
// PEER: the client's address on the request's socket (default none: remoteAddress undefined), so
//   that what keys by IP (autom8's rate limit, the peers) does its real work on a real address.
// YIELD=1: settle between batches of 100 requests (setImmediate) whatever the mode, as the
//   promise-answering modes (Koa, the Express peers, asyncnext) always do.
// PRESHAPE (Express): true | false sets autom8Express's `preshape` option (unset: its default, off).
// To see *which* property accesses miss V8's inline caches (on Express's per-request hidden classes
// each miss costs ~3k instructions), log them at two request counts and compare the per-request
// counts by code position: `node --single-threaded --log-ic --logfile=ic.log
// --no-logfile-per-isolate benchmarks/tools/inproc.mjs full` (LoadIC/StoreIC lines; the pc maps to
// a function through the log's code-creation lines).
// --single-threaded keeps V8's compiler and GC threads out of it; runs then agree within about
// ±5k instructions per request (Express 5 bare is ~398k). Without valgrind it prints CPU µs per
// request (noisy).
import http from 'node:http';
import { Socket } from 'node:net';
import { createRequire } from 'node:module';
import { startOtelSdk } from '../lib/otel-sdk.mjs';
import { expressOtelFloor, koaOtelFloor } from '../lib/otel-floor.mjs';
import { expressRateLimit, flexibleExpress, flexibleKoa, koaRateLimit } from '../lib/peer-limiters.mjs';

const require = createRequire(import.meta.url);
const mode = process.argv[2] ?? 'none';
const fw = process.env.FW ?? (process.env.EXPRESS === '4' ? 'express4' : 'express');
const F = new Set((process.env.F ?? '').split(',').filter(Boolean));

const options = { telemetry: { enabled: false } };
if (process.env.PRESHAPE && !fw.startsWith('koa')) options.preshape = process.env.PRESHAPE === 'true';
// TIMER_SCALE: under callgrind a wall-clock second holds ~50x fewer requests, so timer work (the
// shed sampler, the SDK's metric export) weighs ~50x more per request; the instructions bench
// stretches those periods by that factor so the count is the per-request work.
const TIMER_SCALE = Number(process.env.TIMER_SCALE ?? 1);
if (F.has('otel'))
  startOtelSdk({
    global: true,
    contextManager: !F.has('noctx'),
    tracing: !F.has('notrace'),
    meters: !F.has('nometrics'),
    exportIntervalMs: 1000 * TIMER_SCALE,
  });
if (F.has('otel') || F.has('api')) delete options.telemetry;
if (F.has('rl')) options.rateLimit = { rate: 1e9, per: 'minute', ...(F.has('nohdr') ? { headers: false } : {}) };
options.metrics = { systemIntervalMs: 5000 * TIMER_SCALE, ...(F.has('metoff') ? { enabled: false } : {}) };
if (F.has('shed')) options.shed = { limits: { maxEventLoopDelayMs: 60_000 }, maxQueueDelayMs: 60_000, sampleIntervalMs: 50 * TIMER_SCALE };
if (F.has('cache')) options.cache = { routes: { 'GET /catalog': { ttl: 300_000 } } };
const body = (id) => JSON.stringify({ id });
// Control for the rate limit's header cost (issue #23): node's own share of sending the two draft-10
// fields autom8 sends (RATE_LIMIT_FIELDS: as F=rl sends them, constant here).
const RATE_LIMIT_FIELDS = [
  ['ratelimit-policy', '"default";q=1000000000;w=60'],
  ['ratelimit', '"default";r=999999999;t=1'],
];
const setRateLimitFields = (res) => {
  for (const [name, value] of RATE_LIMIT_FIELDS) res.setHeader(name, value);
};
// The peers' limit, out of reach as autom8's (F=rl) is: every request shows its admit path.
const PEER_LIMIT = 1e9;

let handler;
let async = false;
if (fw === 'node') {
  // node:http alone: with mode front, autom8's own begin/admit/end on untouched node objects.
  const plain = (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body('42'));
  };
  handler = mode === 'front' ? require('@autom8/express').autom8Express(options).front(plain) : plain;
} else if (fw.startsWith('express')) {
  const express = require(fw);
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  handler = app;
  if (mode === 'noop') app.use((_req, _res, next) => next());
  if (mode === 'asyncnext') {
    async = true;
    app.use((_req, _res, next) => {
      Promise.resolve().then(() => next());
    });
  }
  if (mode === 'hdr2') app.use((_req, res, next) => (setRateLimitFields(res), next()));
  if (mode === 'floor') app.use(expressOtelFloor());
  if (mode === 'full') app.use(require('@autom8/express').autom8Express(options));
  if (mode === 'front') handler = require('@autom8/express').autom8Express(options).front(app);
  // Both peers answer through a promise: let it settle before the responses close, as for Koa.
  if (mode === 'rlflex' || mode === 'erl') async = true;
  if (mode === 'rlflex') app.use(flexibleExpress(PEER_LIMIT));
  if (mode === 'erl') app.use(expressRateLimit(PEER_LIMIT));
  app.get('/users/:id', (req, res) => res.type('json').send(body(req.params.id)));
  app.get('/catalog', (_req, res) => res.type('json').send(body('catalog')));
} else {
  async = true;
  const Koa = require(fw);
  const Router = require('@koa/router');
  const app = new Koa();
  if (mode === 'noop') app.use((_ctx, next) => next());
  if (mode === 'asyncnext')
    app.use(async (_ctx, next) => {
      await Promise.resolve();
      await next();
    });
  if (mode === 'hdr2') app.use((ctx, next) => (setRateLimitFields(ctx.res), next()));
  if (mode === 'floor') app.use(koaOtelFloor());
  if (mode === 'full') app.use(require('@autom8/koa').autom8Koa(options));
  if (mode === 'rlflex') app.use(flexibleKoa(PEER_LIMIT));
  if (mode === 'erl') app.use(koaRateLimit(PEER_LIMIT));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.type = 'json';
    ctx.body = body(ctx.params.id);
  });
  router.get('/catalog', (ctx) => {
    ctx.type = 'json';
    ctx.body = body('catalog');
  });
  app.use(router.routes());
  handler = app.callback();
}

// Requests arrive as node's server hands them out: a 'request' event on a (not listening) server,
// whose socket knows its server.
if (process.env.YIELD === '1') async = true;
const server = http.createServer(handler);
const PEER = process.env.PEER;
function start() {
  const socket = new Socket();
  socket.server = server;
  // Where net.Socket keeps a connected socket's peer once asked (remoteAddress reads it from there).
  if (PEER !== undefined) socket._peername = { address: PEER, family: PEER.includes(':') ? 'IPv6' : 'IPv4', port: 54321 };
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/users/42';
  req.headers = { host: 'x' };
  const res = new http.ServerResponse(req);
  server.emit('request', req, res);
  return res;
}
const batch = [];
async function run(n) {
  for (let i = 0; i < n; i++) {
    batch.push(start());
    // Koa answers after its promise chain: let it settle before the responses close.
    if (batch.length === 100 || i === n - 1) {
      if (async) await new Promise((resolve) => setImmediate(resolve));
      if (process.env.CHECK === '1') console.log(batch[0].statusCode, batch[0].getHeaderNames().join(' '), batch[0].writableEnded);
      for (const res of batch) {
        res.emit('finish');
        res.emit('close');
      }
      batch.length = 0;
    }
  }
}

const W = Number(process.env.W ?? 30000);
const N = Number(process.env.N ?? 100000);
await run(W);
// No forced gc() around the measured requests: a full collection there changes V8's steady state
// (callgrind: Express 5 bare −4k, with autom8 +11k per request, against what HTTP runs show).
const c0 = process.cpuUsage();
await run(N);
const c = process.cpuUsage(c0);
if (process.env.CHECK === '1') console.log('request listeners on the server:', server.listeners('request').length);
console.log(`${fw} ${mode} ${[...F].join(',')}`.padEnd(30), ((c.user + c.system) / N).toFixed(2), 'µs CPU/request');
process.exit(0);
