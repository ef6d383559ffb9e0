// Pre-shaping (packages/express/src/preshape.ts): once early begin is installed, node's request and
// response get the properties Express assigns on every request before Express sees them. Express
// must not see any difference: the same answers before installation (first request) and after, on
// real Express 4 and 5 apps on loopback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { autom8Express } from '@autom8/express';
import { InvalidOptionError } from '@autom8/core';
import { serve } from '../../../test/support/http';
import { resolvePreshape } from '../src/preshape';
import { expressVersionOf, inSupportedExpressRange } from '../src/express-version';

const require = createRequire(__filename);
const EXPRESS = { 'Express 5': require('express'), 'Express 4': require('express4') } as const;
const express5 = EXPRESS['Express 5'];

for (const [name, express] of Object.entries(EXPRESS)) {
  describe(`pre-shaping on ${name}`, () => {
    test('query, params, baseUrl, originalUrl, route, locals, bodies and 404s are what Express gives without it', async () => {
      const mw = autom8Express({ preshape: true });
      const app = express();
      app.use(mw);
      app.use((_req: any, res: any, next: any) => {
        res.locals.user = 'ann';
        next();
      });
      app.use(express.json());
      const router = express.Router({ mergeParams: true });
      router.get('/items/:id', (req: any, res: any) =>
        res.json({
          query: req.query,
          params: req.params,
          baseUrl: req.baseUrl,
          originalUrl: req.originalUrl,
          path: req.path,
          route: req.route.path,
          user: res.locals.user,
        }),
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
          assert.equal(mw.metrics().routes['GET /orgs/:org/items/:id']?.total.count, 4);
        },
        mw,
      );
    });

    test('a default the app puts on its response prototype is kept', async () => {
      const mw = autom8Express({ preshape: true });
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
      const mw = autom8Express({ preshape: true });
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

// Whether the mechanism works is V8's to say: a child process with --allow-natives-syntax compares
// the hidden classes (%HaveSameMap) of two requests' objects as their route handler sees them
// (fixtures/hidden-class.cjs). Bare Express gives each request a class of its own; that is the case
// the check must be able to tell apart.
const HIDDEN_CLASS = join(__dirname, 'fixtures', 'hidden-class.cjs');
function hiddenClasses(framework: string, variant: string): { sameRequestMap: boolean; sameResponseMap: boolean; ownBefore: boolean[] } {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', HIDDEN_CLASS, framework, variant], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

for (const framework of ['express', 'express4']) {
  const name = framework === 'express' ? 'Express 5' : 'Express 4';
  describe(`hidden classes on ${name} (V8 natives)`, () => {
    test('with preshape (app.use, front mode, a listed middleware property): one hidden class for every request and every response', () => {
      // On Express 5 this includes the router's Symbol('router.tracing.matchedRoute') (router 2.3),
      // learnt from the first routed request.
      for (const variant of ['default-on', 'front-on', 'user-listed']) {
        const r = hiddenClasses(framework, variant);
        assert.equal(r.sameRequestMap, true, `${variant}: requests`);
        assert.equal(r.sameResponseMap, true, `${variant}: responses`);
      }
      // What the app can observe of a listed property: from the second request on (early begin
      // installed), req.user is an own property (undefined) before the middleware assigns it.
      // (The fixture sends 20 requests, then the measured pair.)
      assert.deepEqual(hiddenClasses(framework, 'user-listed').ownBefore, [false, ...Array<boolean>(21).fill(true)]);
      assert.deepEqual(hiddenClasses(framework, 'user').ownBefore, Array<boolean>(22).fill(false));
    });

    // Node 24's V8 (13.6) keeps one hidden class across Express's prototype swap by itself; Node 20
    // and 22 (V8 11.3, 12.4) give each request one of its own, which is what pre-shaping fixes.
    test('where bare Express gives each request a hidden class of its own, autom8 without preshape and an unlisted middleware property do too', (t) => {
      const bare = hiddenClasses(framework, 'bare');
      if (bare.sameRequestMap && bare.sameResponseMap) {
        t.skip(`this V8 (${process.versions.v8}) keeps one hidden class across the prototype swap without pre-shaping`);
        return;
      }
      assert.equal(bare.sameRequestMap, false);
      assert.equal(bare.sameResponseMap, false);
      for (const variant of ['default', 'front', 'off']) {
        const off = hiddenClasses(framework, variant);
        assert.equal(off.sameRequestMap, false, `${variant}: requests`);
        assert.equal(off.sameResponseMap, false, `${variant}: responses`);
      }
      assert.equal(hiddenClasses(framework, 'user').sameRequestMap, false, 'req.user added after the prototype swap, not listed');
    });
  });
}

describe('the preshape option', () => {
  test('is off unless asked for, on every V8', () => {
    assert.deepEqual(resolvePreshape(undefined).request, []);
    assert.deepEqual(resolvePreshape(false).request, []);
    assert.ok(resolvePreshape(true).request.includes('baseUrl'));
    assert.ok(resolvePreshape({ request: ['user'] }).request.includes('user'));
  });

  test("reads the app's Express version from its package.json; only 4.17+ and 5 are in range", () => {
    assert.equal(expressVersionOf(require('express')()), require('express/package.json').version);
    assert.equal(expressVersionOf(require('express4')()), require('express4/package.json').version);
    assert.equal(
      expressVersionOf(() => undefined),
      undefined,
    );
    assert.equal(expressVersionOf({ request: Object.create({}) }), undefined);
    for (const v of ['4.17.0', '4.22.3', '5.0.0', '5.3.0']) assert.equal(inSupportedExpressRange(v), true, v);
    for (const v of ['3.21.2', '4.16.4', '6.0.0', 'next']) assert.equal(inSupportedExpressRange(v), false, v);
  });

  test('on something that is not a known Express, turned on, it says so once and leaves the objects alone', async () => {
    const warnings: unknown[][] = [];
    const logger = { info() {}, warn: (...a: unknown[]) => warnings.push(a), error() {} };
    const mw = autom8Express({ preshape: true, logger });
    // Front mode in front of a plain handler: no Express version to check the slot lists against.
    const seen: boolean[] = [];
    const handler = mw.front((req: any, res: any) => {
      seen.push(Object.prototype.hasOwnProperty.call(req, 'baseUrl'));
      res.end('ok');
    });
    await serve(
      handler,
      async (base) => {
        for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`${base}/x`)).text(), 'ok');
      },
      mw,
    );
    assert.deepEqual(seen, [false, false, false]);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]![1]), /preshape is off: it needs Express >=4\.17\.0 <6/);
  });

  test('bad values fail at construction, naming the option', () => {
    const bad: [unknown, string][] = [
      ['yes', 'preshape'],
      [['user'], 'preshape'],
      [{ request: 'user' }, 'preshape.request'],
      [{ request: ['user', 7] }, 'preshape.request[1]'],
      [{ response: [''] }, 'preshape.response[0]'],
      [{ request: ['__proto__'] }, 'preshape.request[0]'],
      [{ req: ['user'] }, 'preshape.req'],
    ];
    for (const [value, option] of bad) {
      assert.throws(
        () => autom8Express({ preshape: value as never }),
        (err: unknown) => err instanceof InvalidOptionError && err.option === option,
        `${JSON.stringify(value)} → ${option}`,
      );
    }
  });

  test("the engine's options are still checked beside it", () => {
    assert.throws(
      () => autom8Express({ preshape: false, metrics: { maxSeries: -1 } }),
      (err: unknown) => err instanceof InvalidOptionError && err.option === 'metrics.maxSeries',
    );
    assert.throws(
      () => autom8Express({ preshape: true, bogus: 1 } as never),
      (err: unknown) => err instanceof InvalidOptionError && /bogus/.test(err.message),
    );
    assert.throws(
      () => autom8Express(5 as never),
      (err: unknown) => err instanceof InvalidOptionError && err.option === 'options',
    );
  });

  test('listed properties do not change what the app sees once its middleware set them', async () => {
    const mw = autom8Express({ preshape: { request: ['user', 'session'], response: ['renderCount'] } });
    const app = express5();
    app.use(mw);
    app.use((req: any, res: any, next: any) => {
      req.user = { name: 'ann' };
      res.renderCount = 1;
      next();
    });
    app.get('/me', (req: any, res: any) =>
      res.json({ user: req.user, session: req.session ?? null, renderCount: res.renderCount, hasSession: 'session' in req }),
    );
    await serve(
      app,
      async (base, server) => {
        const bodies: string[] = [];
        for (let i = 0; i < 3; i++) bodies.push(await (await fetch(`${base}/me`)).text());
        assert.equal(server.listeners('request').length, 2);
        // `session` is never assigned here: before early begin it is absent, after it an own
        // undefined ('session' in req) — the documented difference, why the list is opt-in.
        assert.deepEqual(
          bodies.map((b) => JSON.parse(b)),
          [
            { user: { name: 'ann' }, session: null, renderCount: 1, hasSession: false },
            { user: { name: 'ann' }, session: null, renderCount: 1, hasSession: true },
            { user: { name: 'ann' }, session: null, renderCount: 1, hasSession: true },
          ],
        );
      },
      mw,
    );
  });
});
