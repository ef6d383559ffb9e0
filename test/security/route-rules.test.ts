// Every rule applies to every request the app's router sends to its handler (issue #19, item 1).
// An attacker only needs one spelling of a request that reaches the handler and misses the rule:
// case (`POST /LOGIN`), HEAD for a GET route, absolute-form targets (`POST http://x/login`), a
// `#fragment`, trailing slashes. For each adapter and each routing setting (defaults, case
// sensitive, strict), every variant is sent over a raw socket; the handlers count what reaches
// them, and the test asserts the rule held for every variant that did (rate limit: never more than
// the limit; exempt: never limited; cache `false`: never cached; monitoring: answered by autom8).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAMEWORKS, MODES, raw, start, type Running } from '../support/rule-app';

const LIMIT = 2;

/** Spellings of `path` a client can send; which of them reach the handler depends on the router. */
function variants(path: string): string[] {
  const upper = path.toUpperCase();
  const capital = `/${path.charAt(1).toUpperCase()}${path.slice(2)}`;
  return [
    path,
    upper,
    capital,
    `${path}/`,
    `${upper}/`,
    `${path}//`,
    `http://evil.example${path}`,
    `HTTP://EVIL.EXAMPLE:8080${upper}`,
    `https://user@evil.example${path}?q=1`,
    `${path}#fragment`,
    `${path}?x=1`,
    `${path}/?x=1`,
    `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}`,
    `/${path.slice(1).replace(/\//g, '%2F')}`,
    `//${path.slice(1)}`,
    `/.${path}`,
    `${path}/.`,
    `${path};x`,
  ];
}

let clientSeq = 0;
const nextClient = () => `c${++clientSeq}`;

for (const fw of FRAMEWORKS) {
  for (const mode of MODES) {
    describe(`route rules on ${fw}, ${mode.name}`, () => {
      const running: Running[] = [];
      after(async () => {
        for (const r of running) await r.close();
      });

      test('a per-route limit counts every request the router sends to the handler', async () => {
        const app = await start(fw, mode, {
          rateLimit: {
            rate: 1000,
            per: 'minute',
            key: { header: 'x-client' },
            routes: { 'POST /login': { rate: LIMIT, per: 'minute' }, 'GET /users/:id': { rate: LIMIT, per: 'minute' } },
          },
        });
        running.push(app);
        const reached: string[] = [];
        const cases: [string, string, string][] = [];
        for (const v of variants('/login')) cases.push(['POST', v, 'login']);
        for (const v of variants('/users/42')) cases.push(['GET', v, 'users'], ['HEAD', v, 'users']);
        for (const [method, target, route] of cases) {
          const client = nextClient();
          for (let i = 0; i < LIMIT + 2; i++) await raw(app.port, method, target, client);
          const n = app.hits.get(`${route}|${client}`) ?? 0;
          if (n > 0) reached.push(`${method} ${target}`);
          assert.ok(n <= LIMIT, `${method} ${target} reached the handler ${n} times; the limit is ${LIMIT}`);
        }
        // Not vacuous: the plain request and the spellings every router accepts did reach the handler.
        const must = ['POST /login', 'GET /users/42', 'HEAD /users/42', 'POST http://evil.example/login', 'POST /login#fragment', 'POST /login?x=1'];
        if (!mode.caseSensitive) must.push('POST /LOGIN', 'POST /Login', 'GET /USERS/42');
        if (!mode.strict) must.push('POST /login/', 'HEAD /users/42/');
        for (const m of must) assert.ok(reached.includes(m), `${m} was expected to reach the handler (reached: ${reached.join(', ')})`);
      });

      test('an exempt route is never limited, however it is spelt', async () => {
        const app = await start(fw, mode, { exempt: ['GET /health'], rateLimit: { rate: 1, per: 'minute', key: { header: 'x-client' } } });
        running.push(app);
        let reachedVariants = 0;
        for (const method of ['GET', 'HEAD']) {
          for (const target of variants('/health')) {
            const client = nextClient();
            const statuses: number[] = [];
            for (let i = 0; i < 3; i++) statuses.push((await raw(app.port, method, target, client)).status);
            const n = app.hits.get(`health|${client}`) ?? 0;
            if (n === 0) continue;
            reachedVariants++;
            assert.equal(n, 3, `${method} ${target}: the health handler ran ${n} of 3 times (statuses ${statuses.join(', ')})`);
            assert.ok(!statuses.includes(429), `${method} ${target} was rate limited: ${statuses.join(', ')}`);
          }
        }
        assert.ok(reachedVariants >= 6, `only ${reachedVariants} spellings reached /health`);
        // The control: a route that is not exempt is limited after one request.
        const client = nextClient();
        await raw(app.port, 'GET', '/open', client);
        assert.equal((await raw(app.port, 'GET', '/open', client)).status, 429);
      });

      test('a route the cache must not store is never stored, however it is spelt', async () => {
        const app = await start(fw, mode, { cache: { global: true, ttl: 60_000, routes: { 'GET /private/:id': false } } });
        running.push(app);
        let reachedVariants = 0;
        for (const method of ['GET', 'HEAD']) {
          for (const target of variants('/private/7')) {
            const client = nextClient();
            for (let i = 0; i < 2; i++) await raw(app.port, method, target, client);
            const n = app.hits.get(`private|${client}`) ?? 0;
            if (n === 0) continue;
            reachedVariants++;
            assert.equal(n, 2, `${method} ${target} was answered from the cache`);
          }
        }
        assert.ok(reachedVariants >= 6, `only ${reachedVariants} spellings reached /private/:id`);
        // The control: a route the cache may store is stored.
        const client = nextClient();
        await raw(app.port, 'GET', '/open', client);
        await raw(app.port, 'GET', '/open', client);
        assert.equal(app.hits.get(`open|${client}`), 1, 'the control route was not cached');
      });

      test('the monitoring endpoints answer every spelling the router would route, and are never limited', async () => {
        const app = await start(fw, mode, { rateLimit: { rate: 1, per: 'minute', key: { header: 'x-client' } } });
        running.push(app);
        const routed = (target: string) => {
          const path = target.replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
          if (path.endsWith('/') && mode.strict) return false;
          if (path !== path.toLowerCase() && mode.caseSensitive) return false;
          return path.replace(/\/$/, '').toLowerCase() === '/api/v1/metrics';
        };
        const targets = [
          '/api/v1/metrics',
          '/API/V1/METRICS',
          '/api/v1/Metrics',
          '/api/v1/metrics/',
          'http://x/api/v1/metrics',
          'HTTP://X/API/V1/METRICS/',
          '/api/v1/metrics#x',
          '/api/v1/metrics?limit=5',
        ];
        for (const method of ['GET', 'HEAD']) {
          for (const target of targets) {
            const client = nextClient();
            for (let i = 0; i < 3; i++) {
              const r = await raw(app.port, method, target, client);
              if (routed(target)) {
                assert.equal(r.status, 200, `${method} ${target}: ${r.status}`);
                assert.match(r.headers, /content-type: application\/json/i, `${method} ${target} was not answered by autom8`);
                if (method === 'GET') assert.match(r.body, /"routes"/, `${method} ${target}: not the metrics JSON`);
              } else {
                assert.notEqual(r.status, 200, `${method} ${target} was answered though the router would not route it`);
              }
            }
          }
        }
      });
    });
  }
}
