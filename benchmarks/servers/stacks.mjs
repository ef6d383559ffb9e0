// A server for the side-by-side stacks benchmark: `node servers/stacks.mjs <stack>`
//   stack: node | <framework>-<variant>
//   framework: express (5) | express4 | koa (3) | koa2
//   variant:
//     bare    the framework and its router only
//     autom8  autom8Express / autom8Koa with every feature on: metrics, monitoring endpoints,
//             telemetry through a real OTel SDK, rateLimit (memory store), shed, cache on GET /catalog
//             (limits set so that timed runs admit every request; see autom8Options)
//     front   (Express only) the same options in front mode: http.createServer(mw.front(app))
//     peers   what users assemble today. Express: express-prom-bundle + express-rate-limit +
//             apicache on GET /catalog + OTel auto-instrumentation (http + express). Koa:
//             express-prom-bundle through koa-connect (its documented Koa usage) + koa-ratelimit
//             (memory driver) + koa-cash (lru-cache store) + OTel auto-instrumentation (http + koa)
//     otel    the OTel auto-instrumentation alone (http + the framework's instrumentation)
//     sdk     the bare framework with the same OTel SDK registered and no instrumentation: what
//             registering OTel costs by itself (its AsyncLocalStorage context manager)
//     nosdk   autom8 with every feature on and no OTel SDK (its OTel calls are no-ops): autom8's own cost
//     sampled autom8 as in `autom8`, with the SDK sampling 10 % of new traces (ParentBased(TraceIdRatioBased
//             (0.1)), the head sampling production setups use; every request still gets its span
//             context, context propagation and duration record (check runs sample everything)
//     floor   the SDK floor: the same SDK and a hand-written minimal OTel middleware (one SERVER span,
//             its context active, one duration record; lib/otel-floor.mjs), nothing else: what any
//             instrumentation pays this SDK per request
//   Per feature (perfeature.bench.mjs): one job each, autom8 against the single-purpose peers.
//     a8metrics  autom8 metrics + monitoring endpoints only (telemetry off)
//     prom       express-prom-bundle (Koa: through koa-connect)
//     a8rl       autom8 rate limit only (metrics and telemetry off)
//     a8rlnohdr  the same with `headers: false` (rate-limiter-flexible's middleware sends none)
//     erl        express-rate-limit (Express only)
//     rlflex     rate-limiter-flexible's RateLimiterMemory in the middleware its README shows
//     koarl      koa-ratelimit, memory driver (Koa only)
//     a8cache    autom8 cache only on GET /catalog (metrics and telemetry off)
//     apicache   apicache on GET /catalog (Express only)
//     koacash    koa-cash with an lru-cache store on GET /catalog (Koa only)
//     a8otel     autom8 telemetry only, to the OTel SDK (metrics off)
//     a8metrl    autom8 metrics + rate limit, telemetry at its default with no SDK registered
// Every stack serves the same routes and bodies: GET /users/:id (never cached: the miss path) and
// GET /catalog (the cached route). Stacks with OTel register the same SDK globally (lib/otel-sdk.mjs).
// Env STACK_CHECK=1: a rate limit of 3 per minute instead of "never", and GET /__bench/stats
// (what the OTel SDK exported, how often /catalog's handler ran) for the bench's sanity check.
// Env BENCH_OFF=rl,shed,cache,metrics,tel (any of them): autom8 variants without those features, to
// see over HTTP what each costs.
// Prints "LISTENING <port>".
import { createRequire } from 'node:module';
import { startOtelSdk } from '../lib/otel-sdk.mjs';
import { expressOtelFloor, koaOtelFloor } from '../lib/otel-floor.mjs';
import { expressRateLimit, flexibleExpress, flexibleKoa, koaRateLimit } from '../lib/peer-limiters.mjs';

const require = createRequire(import.meta.url);
const stack = process.argv[2] ?? 'express-bare';
const [framework, variant = 'bare'] = stack === 'node' ? ['node', 'bare'] : stack.split('-');
const check = process.env.STACK_CHECK === '1';
// Timed runs admit every request, so each limiter's own per-request cost shows, not its 429 path.
const LIMIT = check ? 3 : 1_000_000_000;
const CACHE_TTL_MS = 300_000;

const PER_FEATURE = ['a8metrics', 'prom', 'a8rl', 'a8rlnohdr', 'rlflex', 'a8cache', 'a8otel', 'a8metrl'];
const VARIANTS = {
  node: ['bare'],
  express: ['bare', 'autom8', 'front', 'peers', 'otel', 'sdk', 'nosdk', 'floor', 'sampled', ...PER_FEATURE, 'erl', 'apicache'],
  koa: ['bare', 'autom8', 'peers', 'otel', 'sdk', 'nosdk', 'floor', 'sampled', ...PER_FEATURE, 'koarl', 'koacash'],
};
const family = framework.startsWith('express') ? 'express' : framework.startsWith('koa') ? 'koa' : framework;
if (!VARIANTS[family]?.includes(variant) || !['node', 'express', 'express4', 'koa', 'koa2'].includes(framework)) {
  throw new Error(`unknown stack ${stack}`);
}
// The framework packages: the npm aliases express4 / koa2 are Express 4 / Koa 2.
const frameworkPackage = { express: 'express', express4: 'express4', koa: 'koa', koa2: 'koa2' }[framework];

// --- OTel first: auto-instrumentation patches modules as they are required -------------------
const usesOtel = ['autom8', 'front', 'peers', 'otel', 'sdk', 'floor', 'sampled', 'a8otel'].includes(variant);
// BENCH_NO_CONTEXT=1 / BENCH_NO_TRACING=1 leave the context manager / tracer provider out, to see what each costs.
const sdk = usesOtel
  ? startOtelSdk({
      global: true,
      sampleRatio: variant === 'sampled' && !check ? 0.1 : 1,
      contextManager: process.env.BENCH_NO_CONTEXT !== '1',
      tracing: process.env.BENCH_NO_TRACING !== '1',
    })
  : undefined;
if (variant === 'peers' || variant === 'otel') {
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const FrameworkInstrumentation =
    family === 'express'
      ? require('@opentelemetry/instrumentation-express').ExpressInstrumentation
      : require('@opentelemetry/instrumentation-koa').KoaInstrumentation;
  const frameworkInstrumentation = new FrameworkInstrumentation();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), frameworkInstrumentation] });
  if (frameworkPackage !== family) {
    // The require hook matches packages by directory name, and the npm alias lives in
    // node_modules/express4 (koa2): apply the instrumentation's own patch to the module, as the
    // hook would have for an app that installed the framework under its real name.
    const exports = require(frameworkPackage);
    const version = require(`${frameworkPackage}/package.json`).version;
    for (const def of frameworkInstrumentation.getModuleDefinitions()) def.patch?.(exports, version);
  }
}

const http = require('node:http');
const user = (id) => JSON.stringify({ id, name: 'Ada Lovelace', email: 'ada@example.com' });
const items = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `Product ${i}`, price: 10 + i, tags: ['a', 'b'] }));
let catalogCalls = 0;
const catalog = () => {
  catalogCalls++;
  return JSON.stringify({ items, total: items.length });
};

/**
 * autom8 with every feature on; telemetry goes to the globally registered SDK, as in an app. Like
 * the rate limit, the shedder runs its per-request decision but is set never to fire in timed runs:
 * a saturating load generator on a shared 2-core machine is overload by design, and cheap 503s
 * would make the stack look faster for the wrong reason (the check run keeps the defaults).
 */
const OFF = new Set((process.env.BENCH_OFF ?? '').split(','));
const RATE_LIMIT = { rateLimit: { rate: LIMIT, per: 'minute' } };
const CACHE = { cache: { routes: { 'GET /catalog': { ttl: CACHE_TTL_MS } } } };
const METRICS_OFF = { metrics: { enabled: false } };
const TELEMETRY_OFF = { telemetry: { enabled: false } };
/** autom8's options per per-feature variant: only that feature on. */
const ONLY = {
  a8metrics: { ...TELEMETRY_OFF },
  a8rl: { ...RATE_LIMIT, ...METRICS_OFF, ...TELEMETRY_OFF },
  a8rlnohdr: { rateLimit: { ...RATE_LIMIT.rateLimit, headers: false }, ...METRICS_OFF, ...TELEMETRY_OFF },
  a8cache: { ...CACHE, ...METRICS_OFF, ...TELEMETRY_OFF },
  a8otel: { ...METRICS_OFF },
  a8metrl: { ...RATE_LIMIT },
};
// autom8 in app.use (front mode wraps the app instead): the full variants and every autom8 per-feature one.
const usesAutom8 = ['autom8', 'nosdk', 'sampled'].includes(variant) || Object.hasOwn(ONLY, variant);
const autom8Options = () =>
  ONLY[variant] ?? {
    ...(OFF.has('rl') ? {} : { rateLimit: { rate: LIMIT, per: 'minute' } }),
    ...(OFF.has('shed') ? {} : { shed: check ? true : { limits: { maxEventLoopDelayMs: 60_000 }, maxQueueDelayMs: 60_000 } }),
    ...(OFF.has('cache') ? {} : { cache: { routes: { 'GET /catalog': { ttl: CACHE_TTL_MS } } } }),
    ...(OFF.has('metrics') ? { metrics: { enabled: false } } : {}),
    ...(OFF.has('tel') ? { telemetry: { enabled: false } } : {}),
  };

let handler;
if (framework === 'node') {
  handler = (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/catalog') res.end(catalog());
    else if (req.url.startsWith('/users/')) res.end(user(req.url.slice(7)));
    else {
      res.statusCode = 404;
      res.end();
    }
  };
} else if (family === 'express') {
  const express = require(frameworkPackage);
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  let mw;
  const catalogMiddleware = [];
  if (usesAutom8) app.use(require('@autom8/express').autom8Express(autom8Options()));
  if (variant === 'front') mw = require('@autom8/express').autom8Express(autom8Options());
  if (variant === 'floor') app.use(expressOtelFloor());
  if (variant === 'peers') {
    // Order as their docs advise: metrics first (they time only what is registered after them).
    app.use(require('express-prom-bundle')({ includeMethod: true, includePath: true }));
    app.use(expressRateLimit(LIMIT));
    catalogMiddleware.push(require('apicache').middleware('5 minutes'));
  }
  if (variant === 'prom') app.use(require('express-prom-bundle')({ includeMethod: true, includePath: true }));
  if (variant === 'erl') app.use(expressRateLimit(LIMIT));
  if (variant === 'rlflex') app.use(flexibleExpress(LIMIT));
  if (variant === 'apicache') catalogMiddleware.push(require('apicache').middleware('5 minutes'));
  app.get('/users/:id', (req, res) => res.type('json').send(user(req.params.id)));
  app.get('/catalog', ...catalogMiddleware, (_req, res) => res.type('json').send(catalog()));
  handler = mw ? mw.front(app) : app;
} else {
  const Koa = require(frameworkPackage);
  const Router = require('@koa/router');
  const app = new Koa();
  let cashed = false;
  if (usesAutom8) app.use(require('@autom8/koa').autom8Koa(autom8Options()));
  if (variant === 'floor') app.use(koaOtelFloor());
  if (variant === 'peers') {
    const c2k = require('koa-connect');
    app.use(c2k(require('express-prom-bundle')({ includeMethod: true, includePath: true })));
    app.use(koaRateLimit(LIMIT));
    const { LRUCache } = require('lru-cache');
    const lru = new LRUCache({ max: 1000, ttl: CACHE_TTL_MS });
    app.use(require('koa-cash')({ get: (key) => lru.get(key), set: (key, value) => void lru.set(key, value) }));
    cashed = true;
  }
  if (variant === 'prom') app.use(require('koa-connect')(require('express-prom-bundle')({ includeMethod: true, includePath: true })));
  if (variant === 'koarl') app.use(koaRateLimit(LIMIT));
  if (variant === 'rlflex') app.use(flexibleKoa(LIMIT));
  if (variant === 'koacash') {
    const { LRUCache } = require('lru-cache');
    const lru = new LRUCache({ max: 1000, ttl: CACHE_TTL_MS });
    app.use(require('koa-cash')({ get: (key) => lru.get(key), set: (key, value) => void lru.set(key, value) }));
    cashed = true;
  }
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.type = 'json';
    ctx.body = user(ctx.params.id);
  });
  router.get('/catalog', async (ctx) => {
    if (cashed && (await ctx.cashed())) return;
    ctx.type = 'json';
    ctx.body = catalog();
  });
  app.use(router.routes());
  handler = app.callback();
}

if (check) {
  const app = handler;
  handler = (req, res) => {
    if (req.url !== '/__bench/stats') return app(req, res);
    const exported = sdk ? sdk.exported() : Promise.resolve({ spans: 0, spanNames: [], metricNames: [] });
    exported.then((e) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...e, catalogCalls }));
    });
  };
}

const server = http.createServer(handler);
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
