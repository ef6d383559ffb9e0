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
// Express's router Layer class (private to Express): autom8 must leave it as it found it.
const LAYER = { 'Express 5': require('router/lib/layer.js'), 'Express 4': require('express4/lib/router/layer.js') } as const;
const layerMethods = (name: keyof typeof LAYER) => {
  const proto = LAYER[name].prototype;
  return [proto.handle_request, proto.handleRequest, proto.handle_error, proto.handleError, proto.match];
};

/** An app with a route in a router nested two deep, one on a parametric mount, and a sub-app. */
function nestedApp(express: any, mw: unknown) {
  const app = express();
  app.use(mw);
  const api = express.Router();
  const v2 = express.Router();
  v2.get('/things/:thingId', (req: any, res: any) => res.json({ thing: req.params.thingId, route: req.route.path }));
  api.use('/v2', v2);
  app.use('/api', api);
  const org = express.Router({ mergeParams: true });
  org.get('/teams/:team', (req: any, res: any) => res.json({ team: req.params.team }));
  app.use('/orgs/:org', org);
  const sub = express();
  sub.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
  app.use('/sub', sub);
  return app;
}
const NESTED_PATHS = ['/api/v2/things/7', '/orgs/acme/teams/red', '/sub/users/3'];
const NESTED_ROUTES = ['GET /api/v2/things/:thingId', 'GET /orgs/:org/teams/:team', 'GET /sub/users/:id'];

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

    test('nested routers, a parametric mount and a sub-app keep their prefixes; Express is left as found', async () => {
      const before = layerMethods(name as keyof typeof LAYER);
      const mw = autom8Express();
      const app = nestedApp(express, mw);
      await serve(
        app,
        async (base) => {
          for (const p of NESTED_PATHS) assert.deepEqual(await Promise.all([get(base, p), get(base, p)]), [200, 200], p);
          const routes = mw.metrics().routes;
          for (const r of NESTED_ROUTES) assert.equal(routes[r]?.total.count, 2, `${r} in ${Object.keys(routes).join(', ')}`);
          // Express's req.route is what it always is, read through autom8's accessor.
          const body = await (await fetch(`${base}/api/v2/things/1`)).json();
          assert.deepEqual(body, { thing: '1', route: '/things/:thingId' });
          assert.equal(typeof Object.getOwnPropertyDescriptor(app.request, 'route')?.get, 'function', 'the accessor, on this app only');
          assert.equal(Object.getOwnPropertyDescriptor(express.request, 'route'), undefined, "not on Express's shared prototype");
        },
        mw,
      );
      assert.deepEqual(layerMethods(name as keyof typeof LAYER), before, "Express's Layer methods are the original functions");
      assert.equal(Object.getOwnPropertyDescriptor(app.request, 'route'), undefined, 'close() removed the accessor');
    });

    test('two apps: closing one leaves the other counting its nested routes', async () => {
      const mwA = autom8Express();
      const mwB = autom8Express();
      const appA = nestedApp(express, mwA);
      const appB = nestedApp(express, mwB);
      await serve(appA, async (baseA) => {
        await serve(appB, async (baseB) => {
          for (const p of NESTED_PATHS) {
            assert.equal(await get(baseA, p), 200);
            assert.equal(await get(baseB, p), 200);
          }
          await mwA.close();
          assert.equal(Object.getOwnPropertyDescriptor(appA.request, 'route'), undefined);
          for (const p of NESTED_PATHS) assert.equal(await get(baseB, p), 200);
          const routes = mwB.metrics().routes;
          for (const r of NESTED_ROUTES) assert.equal(routes[r]?.total.count, 2, `${r} in ${Object.keys(routes).join(', ')}`);
        });
      });
      await mwB.close();
      assert.equal(Object.getOwnPropertyDescriptor(appB.request, 'route'), undefined);
    });

    test('two autom8 instances on one app: the accessor stays until the last one closes', async () => {
      const first = autom8Express();
      const second = autom8Express({ monitoring: { prefix: '/second' } });
      const app = nestedApp(express, first);
      app.use(second); // after the routes: sees only what they pass on, but attaches on its first request
      app.use((_req: any, res: any) => res.status(404).end());
      await serve(app, async (base) => {
        assert.equal(await get(base, '/nope'), 404); // reaches `second`
        await first.close();
        assert.equal(typeof Object.getOwnPropertyDescriptor(app.request, 'route')?.get, 'function', 'kept for the second');
        await second.close();
        assert.equal(Object.getOwnPropertyDescriptor(app.request, 'route'), undefined);
        for (const p of NESTED_PATHS) assert.equal(await get(base, p), 200);
      });
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
