/**
 * autom8 example: a small Koa API with @koa/router.
 *   npm run start:koa    (from the repo root; PORT defaults to 3000)
 *   curl -si localhost:3000/users | grep -i x-cache   (twice: MISS, then HIT)
 *   curl localhost:3000/api/v1/metrics
 * Environment: PORT; the OTEL_* variables of ./telemetry.ts (e.g. OTEL_METRICS_EXPORTER=prometheus);
 * SHED_CONCURRENCY=N → at most N requests in flight per route, the rest answered 503 at once (no
 * queue); off by default, it makes shedding easy to see (the Prometheus end-to-end test uses it).
 * AUTOM8_PROFILER_TOKEN (16+ characters) → the CPU-profile endpoint, for `npx autom8 profile`;
 * DEFAULT_LIMIT=off → no per-client default limit (5,000/min), only the login limit: for load tests
 * from one machine, which would otherwise measure that limit rather than the server (docs/toolkit.md).
 */
import { startTelemetry } from './telemetry.js';
startTelemetry('autom8-example-koa');

import Koa from 'koa';
import Router from '@koa/router';
import { autom8Koa } from '@autom8/koa';
import { printBanner } from '@autom8/example-shared';
import { sleep, users } from './users.js';

const shedConcurrency = Number(process.env.SHED_CONCURRENCY ?? 0);
const defaultLimit = process.env.DEFAULT_LIMIT !== 'off';

const app = new Koa();
app.use(
  autom8Koa({
    exempt: ['/health'], // never limited, shed or cached (the monitoring endpoints never are)
    // 5,000 requests per minute per client by default (DEFAULT_LIMIT=off: none); logins much less.
    rateLimit: { global: defaultLimit, routes: { 'POST /login': { name: 'login', rate: 5, per: 'minute' } } },
    // 503 + Retry-After before work when the process is overloaded
    shed:
      shedConcurrency > 0
        ? { concurrency: { scope: 'route', initialLimit: shedConcurrency, minLimit: shedConcurrency, maxLimit: shedConcurrency, queueSize: 0 } }
        : true,
    cache: { routes: { 'GET /users': { ttl: 30_000 } } }, // X-Cache: HIT | MISS | STALE
    // One objective met (a fast route) and one breached (/slow takes 100-300 ms): both on the dashboard.
    slo: {
      objectives: [
        { name: 'user-lookup-latency', route: 'GET /users/:id', latency: { percentile: 95, thresholdMs: 50 } },
        { name: 'slow-route-latency', route: 'GET /slow', latency: { percentile: 95, thresholdMs: 150 } },
      ],
    },
    slowLog: { thresholdMs: 250 },
    dashboard: true, // GET /api/v1/metrics/dashboard
    // GET /api/v1/profile (CPU profiles; `npx autom8 profile`) only when a token is given
    ...(process.env.AUTOM8_PROFILER_TOKEN ? { profiler: { token: process.env.AUTOM8_PROFILER_TOKEN } } : {}),
  }),
);

const router = new Router();
router.get('/health', (ctx) => {
  ctx.body = { status: 'ok' };
});
router.get('/users', (ctx) => {
  ctx.body = users;
});
router.get('/users/:id', (ctx) => {
  const user = users.find((u) => u.id === Number(ctx.params.id));
  if (user === undefined) {
    ctx.status = 404;
    ctx.body = { error: 'no such user' };
    return;
  }
  ctx.body = user;
});
router.post('/login', (ctx) => {
  ctx.status = 204;
});
// Deliberately slow: 100-300 ms, so its percentiles stand out in /api/v1/metrics.
router.get('/slow', async (ctx) => {
  await sleep(100 + Math.random() * 200);
  ctx.body = { done: true };
});
app.use(router.routes()).use(router.allowedMethods());

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, () => printBanner('Koa', port, defaultLimit));
process.once('SIGTERM', () => server.close());
