/**
 * autom8 example: a small Koa API with @koa/router.
 *   npm run start:koa    (from the repo root; PORT defaults to 3000)
 *   curl localhost:3000/users/1
 *   curl localhost:3000/api/v1/metrics
 */
import { startTelemetry } from './telemetry.js';
startTelemetry('autom8-example-koa');

import Koa from 'koa';
import Router from '@koa/router';
import { autom8Koa } from '@autom8/koa';
import { sleep, users } from './users.js';

const app = new Koa();
app.use(
  autom8Koa({
    exempt: ['/health'],
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
// Deliberately slow: 100-300 ms, so its percentiles stand out in /api/v1/metrics.
router.get('/slow', async (ctx) => {
  await sleep(100 + Math.random() * 200);
  ctx.body = { done: true };
});
app.use(router.routes()).use(router.allowedMethods());

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, () => {
  console.log(`autom8 Koa example on http://localhost:${port}`);
  console.log(`  try: curl http://localhost:${port}/users/1`);
  console.log(`       curl http://localhost:${port}/api/v1/metrics`);
});
process.once('SIGTERM', () => server.close());
