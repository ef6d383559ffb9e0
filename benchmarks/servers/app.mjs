// A benchmark server: `node servers/app.mjs <framework> <variant>`
//   framework: node | express | express4 | koa | koa2
//   variant:   bare | metrics (autom8 metrics, no OTel SDK) | otel (autom8 metrics + a real OTel SDK
//              with in-memory exporters, as users run it) | front (Express only: autom8 metrics in
//              front mode, http.createServer(mw.front(app)))
// Serves GET /users/:id (JSON) and prints "LISTENING <port>".
import http from 'node:http';
import { createRequire } from 'node:module';
import { startOtelSdk } from '../lib/otel-sdk.mjs';

const require = createRequire(import.meta.url);
const [framework = 'express', variant = 'bare'] = process.argv.slice(2);

function autom8Options() {
  if (variant === 'metrics' || variant === 'front') return { telemetry: { enabled: false } };
  if (variant === 'otel') {
    const { tracerProvider, meterProvider } = startOtelSdk();
    return { telemetry: { tracerProvider, meterProvider } };
  }
  throw new Error(`unknown variant ${variant}`);
}

const body = (id) => JSON.stringify({ id, name: 'Ada Lovelace', email: 'ada@example.com' });
let server;

if (framework === 'node') {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(body(req.url.slice(7)));
  });
} else if (framework === 'express' || framework === 'express4') {
  const express = require(framework === 'express' ? 'express' : 'express4');
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  const mw = variant === 'bare' ? undefined : require('@autom8/express').autom8Express(autom8Options());
  if (mw !== undefined && variant !== 'front') app.use(mw);
  app.get('/users/:id', (req, res) => res.type('json').send(body(req.params.id)));
  server = http.createServer(variant === 'front' ? mw.front(app) : app);
} else if (framework === 'koa' || framework === 'koa2') {
  const Koa = require(framework === 'koa' ? 'koa' : 'koa2');
  const Router = require('@koa/router');
  const app = new Koa();
  if (variant !== 'bare') app.use(require('@autom8/koa').autom8Koa(autom8Options()));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.type = 'json';
    ctx.body = body(ctx.params.id);
  });
  app.use(router.routes());
  server = http.createServer(app.callback());
} else {
  throw new Error(`unknown framework ${framework}`);
}

server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
