// The store-fault scenario's server, in its own process so a crash, an unhandled rejection or a
// hung request is its own and visible:
//   node store-faults-app.mjs <express|express-front|koa> <redis-port> <rate-limit-outage-json> <cache-outage-json>
// (forked with IPC). autom8 with a RedisRateLimitStore (global limit 10/min per client, token
// bucket) and a RedisCacheStore behind the response cache, both on one ioredis client created as
// docs/rate-limiting.md recommends. Reports over IPC: { listening, port }, every store.degraded /
// store.recovered event, and any uncaught exception or unhandled rejection.
import http from 'node:http';
import Redis from 'ioredis';
import { subscribe } from '@autom8/core';
import { RedisCacheStore, RedisRateLimitStore } from '@autom8/redis';

const [adapter, redisPort, outageJson, cacheOutageJson] = process.argv.slice(2);
const send = (msg) => process.send?.(msg);
process.on('uncaughtException', (err) => {
  send({ type: 'fatal', kind: 'uncaughtException', message: String(err?.stack ?? err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 50);
});
process.on('unhandledRejection', (err) => send({ type: 'fatal', kind: 'unhandledRejection', message: String(err?.stack ?? err) }));
process.on('disconnect', () => process.exit(0));

subscribe(['store.degraded', 'store.recovered'], (event) => send({ type: 'event', event }));

// The client as the docs recommend: fail fast while disconnected; ioredis's default reconnect backoff.
const client = new Redis({ host: '127.0.0.1', port: Number(redisPort), enableOfflineQueue: false, maxRetriesPerRequest: 1 });
client.on('error', () => {}); // ioredis reconnects by itself; the outage guard reports the outage
// Serve once connected, so the scenario starts healthy (requests before that would find the
// client not yet writable and start in the outage policy).
await new Promise((resolve) => client.once('ready', resolve));

const warnings = [];
const logger = { info() {}, warn: (o, m) => warnings.push(m ?? o), error: (o, m) => warnings.push(m ?? o) };
const options = {
  logger,
  trustProxy: true,
  telemetry: { enabled: false },
  rateLimit: {
    rate: 10,
    per: 'minute',
    store: new RedisRateLimitStore({ client, logger, outage: JSON.parse(outageJson) }),
  },
  cache: {
    routes: { 'GET /cached/:id': { ttl: 60_000 } },
    store: new RedisCacheStore({ client, broadcast: false }),
    storeOutage: JSON.parse(cacheOutageJson),
  },
};

let server;
if (adapter === 'express' || adapter === 'express-front') {
  const { default: express } = await import('express');
  const { autom8Express } = await import('@autom8/express');
  const app = express();
  const mw = autom8Express(options);
  app.use(mw);
  app.get('/limited', (_req, res) => res.json({ ok: true }));
  app.get('/cached/:id', (req, res) => res.json({ id: req.params.id }));
  server = http.createServer(adapter === 'express-front' ? mw.front(app) : app);
} else if (adapter === 'koa') {
  const { default: Koa } = await import('koa');
  const { default: Router } = await import('@koa/router');
  const { autom8Koa } = await import('@autom8/koa');
  const app = new Koa();
  app.use(autom8Koa(options));
  const router = new Router();
  router.get('/limited', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/cached/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  app.use(router.routes());
  server = http.createServer(app.callback());
} else {
  throw new Error(`unknown adapter ${adapter}`);
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: server.address().port }));
process.on('message', (m) => {
  if (m === 'warnings') send({ type: 'warnings', warnings: warnings.map(String) });
});
