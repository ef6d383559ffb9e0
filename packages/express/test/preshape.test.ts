// Pre-shaping (packages/express/src/preshape.ts): once early begin is installed, node's request and
// response get the properties Express assigns on every request before Express sees them. Express
// must not see any difference: the same answers before installation (first request) and after, on
// real Express 4 and 5 apps on loopback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { autom8Express } from '@autom8/express';
import { serve } from '../../../test/support/http';

const require = createRequire(__filename);
const EXPRESS = { 'Express 5': require('express'), 'Express 4': require('express4') } as const;

for (const [name, express] of Object.entries(EXPRESS)) {
  describe(`pre-shaping on ${name}`, () => {
    test('query, params, baseUrl, originalUrl, route, locals, bodies and 404s are what Express gives without it', async () => {
      const mw = autom8Express();
      const app = express();
      app.use(mw);
      app.use((_req: any, res: any, next: any) => {
        res.locals.user = 'ann';
        next();
      });
      app.use(express.json());
      const router = express.Router({ mergeParams: true });
      router.get('/items/:id', (req: any, res: any) =>
        res.json({ query: req.query, params: req.params, baseUrl: req.baseUrl, originalUrl: req.originalUrl, path: req.path, route: req.route.path, user: res.locals.user }),
      );
      router.post('/items', (req: any, res: any) => res.status(201).json({ body: req.body, route: req.route.path }));
      app.use('/orgs/:org', router);
      await serve(
        app,
        async (base, server) => {
          const answers: string[] = [];
          for (let i = 0; i < 4; i++) {
            const get = await fetch(`${base}/orgs/acme/items/7?a=1&b=two`);
            const post = await fetch(`${base}/orgs/acme/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
            const missing = await fetch(`${base}/nope?x=1`);
            await missing.arrayBuffer();
            answers.push(`${get.status} ${await get.text()} | ${post.status} ${await post.text()} | ${missing.status}`);
          }
          assert.equal(server.listeners('request').length, 2, 'early begin installed after the first request');
          assert.equal(new Set(answers).size, 1, `same answers before and after:\n${answers.join('\n')}`);
          assert.equal(
            answers[0],
            '200 {"query":{"a":"1","b":"two"},"params":{"org":"acme","id":"7"},"baseUrl":"/orgs/acme","originalUrl":"/orgs/acme/items/7?a=1&b=two","path":"/items/7","route":"/items/:id","user":"ann"} | 201 {"body":{"n":1},"route":"/items"} | 404',
          );
          assert.equal(mw.engine.snapshot().routes['GET /orgs/:org/items/:id']?.total.count, 4);
        },
        mw,
      );
    });

    test('a default the app puts on its response prototype is kept', async () => {
      const mw = autom8Express();
      const app = express();
      // Express creates res.locals only when it is missing, so a prototype default is what handlers see.
      app.response.locals = { site: 'shop' };
      app.use(mw);
      app.get('/users/:id', (_req: any, res: any) => res.json({ site: res.locals.site }));
      await serve(
        app,
        async (base, server) => {
          const bodies: string[] = [];
          for (let i = 0; i < 3; i++) bodies.push(await (await fetch(`${base}/users/${i}`)).text());
          assert.deepEqual(bodies, Array(3).fill('{"site":"shop"}'));
          assert.equal(server.listeners('request').length, 2);
        },
        mw,
      );
    });

    test('a property the app defines as an accessor is left to it, not shadowed', async () => {
      const mw = autom8Express();
      const app = express();
      let sets = 0;
      Object.defineProperty(app.request, 'route', {
        configurable: true,
        get(this: { _autom8TestRoute?: unknown }) {
          return this._autom8TestRoute;
        },
        set(this: { _autom8TestRoute?: unknown }, v: unknown) {
          sets++;
          this._autom8TestRoute = v;
        },
      });
      app.use(mw);
      app.get('/users/:id', (req: any, res: any) => res.json({ route: req.route?.path, own: Object.prototype.hasOwnProperty.call(req, 'route') }));
      await serve(
        app,
        async (base, server) => {
          const bodies: string[] = [];
          for (let i = 0; i < 3; i++) bodies.push(await (await fetch(`${base}/users/${i}`)).text());
          assert.deepEqual(bodies, Array(3).fill('{"route":"/users/:id","own":false}'));
          assert.ok(sets >= 3, 'Express assigned req.route through the accessor on every request');
          assert.equal(server.listeners('request').length, 2);
        },
        mw,
      );
    });
  });
}
