// Route attribution (packages/express/src/route-capture.ts): a route dispatched while autom8 runs
// the request's chain synchronously is handed to its exchange directly; one dispatched later, after
// an await, is counted, and its request's route is read from Express at the end. Real Express 4 and
// 5 apps on loopback, with concurrent requests interleaving at awaits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { autom8Express } from '@autom8/express';
import { serve } from '../../../test/support/http';

const require = createRequire(__filename);
const EXPRESS = { 'Express 5': require('express'), 'Express 4': require('express4') } as const;

async function get(base: string, path: string): Promise<number> {
  const res = await fetch(base + path);
  await res.arrayBuffer();
  return res.status;
}

for (const [name, express] of Object.entries(EXPRESS)) {
  describe(`route attribution on ${name}`, () => {
    test('concurrent requests, sync and after awaits, each counted under the route that answered it', async () => {
      const mw = autom8Express();
      const app = express();
      app.use(mw);
      // Every other request waits in a middleware before routing, so dispatches of different
      // requests interleave and some run outside autom8's synchronous chain.
      app.use((req: any, _res: any, next: () => void) => {
        if (Number(req.query.wait) > 0) setTimeout(next, Number(req.query.wait));
        else next();
      });
      app.get('/a/:x', (req: any, res: any) => res.json({ a: req.params.x }));
      // A route that passes the request on after an await: the route that answers is the next one.
      app.get('/items/:id', (req: any, _res: any, next: any) => {
        void sleep(Number(req.query.pass ?? 0)).then(() => next());
      });
      app.get('/items/:name', (req: any, res: any) => res.json({ name: req.params.name }));
      const router = express.Router();
      router.get('/b/:y', (req: any, res: any) => res.json({ b: req.params.y }));
      app.use('/nested', router);
      await serve(
        app,
        async (base) => {
          const paths: string[] = [];
          for (let i = 0; i < 60; i++) {
            const wait = i % 2 === 0 ? 0 : 1 + (i % 7);
            paths.push([`/a/${i}?wait=${wait}`, `/items/${i}?wait=${wait}&pass=${i % 3}`, `/nested/b/${i}?wait=${wait}`][i % 3]!);
          }
          const statuses = await Promise.all(paths.map((p) => get(base, p)));
          assert.deepEqual(new Set(statuses), new Set([200]));
          const routes = mw.metrics().routes;
          const counts = Object.fromEntries(Object.entries(routes).map(([k, v]) => [k, v.total.count]));
          assert.deepEqual(counts, { 'GET /a/:x': 20, 'GET /items/:name': 20, 'GET /nested/b/:y': 20 });
        },
        mw,
      );
    });

    test('a request that no route answers stays unmatched, next to requests that routes answered', async () => {
      const mw = autom8Express();
      const app = express();
      app.use(mw);
      app.get('/a/:x', (req: any, res: any) => res.json({ a: req.params.x }));
      app.use((_req: any, res: any) => res.status(404).end());
      await serve(
        app,
        async (base) => {
          const statuses = await Promise.all(['/a/1', '/nope', '/a/2', '/nope/2'].map((p) => get(base, p)));
          assert.deepEqual(statuses, [200, 404, 200, 404]);
          const routes = mw.metrics().routes;
          assert.equal(routes['GET /a/:x']?.total.count, 2);
          assert.equal(routes['GET unmatched']?.total.count, 2);
        },
        mw,
      );
    });
  });
}
