// Early begin (packages/express/src/early-begin.ts), part of the `preshape` opt-in: after the first
// request, autom8 begins each exchange from the server's 'request' event, ahead of Express, when —
// and only when — that changes nothing the app could see; close() removes it. Real Express 4 and 5
// apps on loopback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { autom8Express } from '@autom8/express';
import { serve } from '../../../test/support/http';

const require = createRequire(__filename);
const EXPRESS = { 'Express 5': require('express'), 'Express 4': require('express4') } as const;

async function get(base: string, path: string, n = 1): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(base + path);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

async function routeCount(base: string, key: string): Promise<number | undefined> {
  const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
  return m.routes[key]?.total?.count;
}

for (const [name, express] of Object.entries(EXPRESS)) {
  describe(`early begin on ${name}`, () => {
    test('not installed without preshape (the default)', async () => {
      const app = express();
      const mw = autom8Express();
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        app,
        async (base, server) => {
          assert.deepEqual(await get(base, '/users/1', 3), [200, 200, 200]);
          assert.equal(server.listeners('request').length, 1);
          assert.equal(await routeCount(base, 'GET /users/:id'), 3);
        },
        mw,
      );
    });

    test('close() removes the listener; the app goes on serving', async () => {
      const app = express();
      const mw = autom8Express({ preshape: true });
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(app, async (base, server) => {
        await get(base, '/users/1', 2);
        assert.equal(server.listeners('request').length, 2);
        await mw.close();
        assert.deepEqual(server.listeners('request'), [app]);
        assert.deepEqual(await get(base, '/users/2', 2), [200, 200]);
      });
    });

    test('autom8 first on the app: installs on the server after the first request; every request counted once', async () => {
      const app = express();
      const mw = autom8Express({ preshape: true });
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        app,
        async (base, server) => {
          assert.equal(server.listeners('request').length, 1);
          assert.deepEqual(await get(base, '/users/1'), [200]);
          assert.equal(server.listeners('request').length, 2, 'a listener ahead of the app');
          assert.equal(server.listeners('request')[1], app);
          assert.deepEqual(await get(base, '/users/2', 24), Array(24).fill(200));
          await get(base, '/nope', 3);
          assert.equal(await routeCount(base, 'GET /users/:id'), 25);
          assert.equal(await routeCount(base, 'GET unmatched'), 3);
          assert.equal(mw.metrics().inFlight, 0);
        },
        mw,
      );
    });

    test('another middleware first: not installed, and what it answers stays out of the figures', async () => {
      const app = express();
      const mw = autom8Express({ preshape: true });
      app.use((req: any, res: any, next: any) => (req.path === '/static' ? res.send('file') : next()));
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        app,
        async (base, server) => {
          await get(base, '/users/1', 5);
          await get(base, '/static', 5);
          assert.equal(server.listeners('request').length, 1);
          const m: any = await (await fetch(`${base}/api/v1/metrics`)).json();
          assert.equal(m.routes['GET /users/:id'].total.count, 5);
          assert.equal(m.routes['GET unmatched'], undefined, 'requests answered before autom8 are not recorded');
        },
        mw,
      );
    });

    test('autom8 in a sub-app or under a mount path: not installed, routes keep their prefix', async () => {
      const parent = express();
      const sub = express();
      const subMw = autom8Express({ preshape: true });
      sub.use(subMw);
      sub.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      parent.use('/v1', sub);
      const pathMw = autom8Express({ preshape: true });
      parent.use('/v2', pathMw);
      parent.get('/v2/items/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        parent,
        async (base, server) => {
          await get(base, '/v1/users/1', 4);
          await get(base, '/v2/items/1', 4);
          assert.equal(server.listeners('request').length, 1);
          assert.equal(subMw.metrics().routes['GET /v1/users/:id']?.total.count, 4);
          assert.equal(pathMw.metrics().routes['GET /v2/items/:id']?.total.count, 4);
        },
        subMw,
        pathMw,
      );
    });

    test('a server whose listener wraps the app: not installed, still counted', async () => {
      const app = express();
      const mw = autom8Express({ preshape: true });
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        (req, res) => app(req, res),
        async (base, server) => {
          await get(base, '/users/1', 6);
          assert.equal(server.listeners('request').length, 1);
          assert.equal(await routeCount(base, 'GET /users/:id'), 6);
        },
        mw,
      );
    });

    test('two autom8 instances on one app each count every request once', async () => {
      const app = express();
      const first = autom8Express({ preshape: true });
      const second = autom8Express({ preshape: true, monitoring: { prefix: '/second' } });
      app.use(first);
      app.use(second);
      app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
      await serve(
        app,
        async (base, server) => {
          await get(base, '/users/1', 10);
          assert.equal(server.listeners('request').length, 2, 'only the first instance installs');
          assert.equal(first.metrics().routes['GET /users/:id']?.total.count, 10);
          assert.equal(second.metrics().routes['GET /users/:id']?.total.count, 10);
        },
        first,
        second,
      );
    });
  });
}
