// A cache benchmark server: `node servers/cache-app.mjs <framework> <variant>`
//   framework: express | koa
//   variant:   bare | apicache (express only) | autom8 (autom8 with its response cache, defaults) |
//              autom8-lean (the response cache with autom8's metrics and telemetry off) |
//              autom8-front (express only: the adapter's front mode, http.createServer(mw.front(app)),
//              so hits never enter Express)
// Serves GET /catalog (the same JSON on every variant, built per call as an app would) and prints
// "LISTENING <port>".
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [framework = 'express', variant = 'bare'] = process.argv.slice(2);

const items = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `Product ${i}`, price: 10 + i, tags: ['a', 'b'] }));
const catalog = () => JSON.stringify({ items, total: items.length });

function autom8Options() {
  if (variant === 'autom8') return { cache: { ttl: 300_000 } };
  if (variant === 'autom8-front') return { cache: { ttl: 300_000 } };
  if (variant === 'autom8-lean') return { cache: { ttl: 300_000 }, metrics: { enabled: false }, telemetry: { enabled: false } };
  throw new Error(`unknown variant ${variant}`);
}

let server;
if (framework === 'express') {
  const express = require('express');
  const app = express();
  app.set('x-powered-by', false);
  if (variant === 'apicache') app.use(require('apicache').middleware('5 minutes'));
  else if (variant !== 'bare' && variant !== 'autom8-front') app.use(require('@autom8/express').autom8Express(autom8Options()));
  app.get('/catalog', (_req, res) => res.type('json').send(catalog()));
  if (variant === 'autom8-front') {
    const mw = require('@autom8/express').autom8Express(autom8Options());
    server = http.createServer(mw.front(app));
  } else server = http.createServer(app);
} else if (framework === 'koa') {
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  if (variant !== 'bare') app.use(require('@autom8/koa').autom8Koa(autom8Options()));
  const router = new Router();
  router.get('/catalog', (ctx) => {
    ctx.type = 'json';
    ctx.body = catalog();
  });
  app.use(router.routes());
  server = http.createServer(app.callback());
} else {
  throw new Error(`unknown framework ${framework}`);
}

server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
