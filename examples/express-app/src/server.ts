/**
 * autom8 example: a small Express API.
 *   npm start            (from the repo root; PORT defaults to 3000)
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
startTelemetry('autom8-example-express');

import express from 'express';
import { autom8Express } from '@autom8/express';
import { printBanner } from '@autom8/example-shared';
import { sleep, users } from './users.js';

const shedConcurrency = Number(process.env.SHED_CONCURRENCY ?? 0);
const defaultLimit = process.env.DEFAULT_LIMIT !== 'off';

const app = express();
app.use(
  autom8Express({
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

app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/users', (_req, res) => {
  res.json(users);
});
app.get('/users/:id', (req, res) => {
  const user = users.find((u) => u.id === Number(req.params.id));
  if (user === undefined) {
    res.status(404).json({ error: 'no such user' });
    return;
  }
  res.json(user);
});
app.post('/login', (_req, res) => {
  res.status(204).end();
});
// Deliberately slow: 100-300 ms, so its percentiles stand out in /api/v1/metrics.
app.get('/slow', async (_req, res) => {
  await sleep(100 + Math.random() * 200);
  res.json({ done: true });
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, () => printBanner('Express', port, defaultLimit));
process.once('SIGTERM', () => server.close());
