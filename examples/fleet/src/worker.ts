/**
 * One worker of the fleet (forked by fleet.ts): an Express app with autom8 whose rate-limit
 * counters and shared cache tier live in Redis, so every worker enforces the same per-client
 * limit and serves what another worker cached. Every response says which worker answered
 * (`x-served-by`: the worker's OTel `service.instance.id`).
 */
import { randomUUID } from 'node:crypto';
import { readConfig } from './config.js';
import { startTelemetry } from './telemetry.js';

const config = readConfig();
const identity = { serviceName: config.serviceName, instanceId: randomUUID(), slot: Number(process.env.FLEET_WORKER_SLOT ?? 0) };
// Before autom8 handles a request: autom8 takes its meter on the first one.
const sdk = startTelemetry(identity);

import express from 'express';
import { autom8Express } from '@autom8/express';
import { RedisCacheStore, RedisRateLimitStore } from '@autom8/redis';
import { createRedisClient, whenReady } from './redis-client.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

const redis = createRedisClient(config.redisUrl);
const rateLimitStore = new RedisRateLimitStore({
  client: redis,
  // While Redis is down each worker limits alone, at RATE_LIMIT ÷ FLEET_INSTANCES per client.
  outage: { policy: 'fallback', expectedInstances: config.fleetInstances, timeoutMs: config.redisTimeoutMs },
});
const cacheStore = new RedisCacheStore({ client: redis, maxEntryBytes: 256 * 1024 });

const autom8 = autom8Express({
  name: identity.instanceId, // `instance` in /api/v1/metrics and in events: the same id as in OTel
  exempt: ['/health'],
  shed: config.shed,
  rateLimit: {
    // sliding-log: an exact count over the last minute, so "100 per minute" is 100 across the
    // fleet at any moment (a token bucket would refill during a burst; a fixed window allows 2×
    // at its edge).
    algorithm: 'sliding-log',
    rate: config.rateLimit,
    per: 'minute',
    key: { header: 'x-api-key' }, // the client: its API key, else its IP address
    store: rateLimitStore,
  },
  cache: {
    routes: { 'GET /catalog': { ttl: 30_000 } },
    store: cacheStore,
    storeOutage: { timeoutMs: config.redisTimeoutMs },
  },
});

const app = express();
app.disable('x-powered-by');
app.use((_req, res, next) => {
  res.setHeader('x-served-by', identity.instanceId);
  next();
});
app.use(autom8);

app.get('/health', (_req, res) => {
  res.json({ status: 'ok', redis: redis.status });
});
app.get('/whoami', (_req, res) => {
  res.json({ instanceId: identity.instanceId, pid: process.pid, slot: identity.slot });
});
app.get('/api/items/:id', (req, res) => {
  res.json({ id: req.params.id, name: `item-${req.params.id}` });
});
// Cached for 30 s in the worker's memory and in Redis: any worker serves what one computed.
app.get('/catalog', (_req, res) => {
  res.json({ generatedBy: identity.instanceId, generatedAt: new Date().toISOString(), items: [1, 2, 3].map((id) => ({ id, name: `item-${id}` })) });
});

let server: ReturnType<typeof app.listen> | undefined;

async function main(): Promise<void> {
  if (!(await whenReady(redis, 5_000))) {
    console.error(`autom8 fleet: pid ${process.pid}: redis not ready after 5 s; serving with the outage policy until it is`);
  }
  // In a cluster worker, listen() asks the primary for the shared socket.
  server = app.listen(config.port);
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
  if (server !== undefined) {
    const s = server;
    // Stop taking connections, finish the requests in flight, drop idle keep-alive sockets.
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
    });
  }
  await autom8.close();
  await rateLimitStore.close();
  cacheStore.close();
  await redis.quit().catch(() => redis.disconnect());
  await sdk?.shutdown().catch(() => undefined); // flushes the last metrics
  // Explicit: the IPC channel to the primary would keep this process alive.
  process.exit(0);
}

process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
void main();
