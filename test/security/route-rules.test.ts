// Every rule applies to every request the app's router sends to its handler (issue #19, item 1).
// An attacker only needs one spelling of a request that reaches the handler and misses the rule:
// case (`POST /LOGIN`), HEAD for a GET route, absolute-form targets (`POST http://x/login`), a
// `#fragment`, trailing slashes. For each adapter and each routing setting (defaults, case
// sensitive, strict), every variant is sent over a raw socket; the handlers count what reaches
// them, and the test asserts the rule held for every variant that did (rate limit: never more than
// the limit; exempt: never limited; cache `false`: never cached; monitoring: answered by autom8).
import http, { type Server } from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Autom8Options } from '@autom8/core';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
const FRAMEWORKS = ['express5', 'express4', 'express5-front', 'express4-front', 'koa3', 'koa2'] as const;
type Framework = (typeof FRAMEWORKS)[number];
interface Mode {
  name: string;
  caseSensitive: boolean;
  strict: boolean;
}
const MODES: Mode[] = [
  { name: 'router defaults', caseSensitive: false, strict: false },
  { name: 'case-sensitive routing', caseSensitive: true, strict: false },
  { name: 'strict routing', caseSensitive: false, strict: true },
];
const LIMIT = 2;

/** Handler hits per `route|client`. */
type Hits = Map<string, number>;

interface Running {
  port: number;
  hits: Hits;
  server: Server;
  close(): Promise<void>;
}

/**
 * POST /login and GET /users/:id (limited to LIMIT per client), GET /health (exempt), GET
 * /private/:id (never cached), GET /open (global limit only). The router gets the mode's settings
 * the framework's own way; Koa's autom8 is told through its `routing` option.
 */
async function start(fw: Framework, mode: Mode, options: Autom8Options): Promise<Running> {
  const hits: Hits = new Map();
  const hit = (route: string, client: string | string[] | undefined) => {
    const k = `${route}|${String(client)}`;
    const n = (hits.get(k) ?? 0) + 1;
    hits.set(k, n);
    return n;
  };
  const opts: Autom8Options = { logger: quiet, telemetry: { enabled: false }, ...options };
  let server: Server;
  let stop: () => Promise<void>;
  if (fw.startsWith('express')) {
    const express = require(fw.startsWith('express5') ? 'express' : 'express4');
    const app = express();
    // Before the first app.use: Express reads both settings when it creates the router.
    app.set('case sensitive routing', mode.caseSensitive);
    app.set('strict routing', mode.strict);
    const mw = autom8Express(opts);
    app.use(mw);
    app.post('/login', (req: any, res: any) => res.json({ n: hit('login', req.headers['x-client']) }));
    app.get('/users/:id', (req: any, res: any) => res.json({ n: hit('users', req.headers['x-client']) }));
    app.get('/health', (req: any, res: any) => res.json({ n: hit('health', req.headers['x-client']) }));
    app.get('/private/:id', (req: any, res: any) => res.json({ n: hit('private', req.headers['x-client']) }));
    app.get('/open', (req: any, res: any) => res.json({ n: hit('open', req.headers['x-client']) }));
    server = http.createServer(fw.endsWith('-front') ? mw.front(app) : app);
    stop = () => mw.close();
  } else {
    const Koa = require(fw === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa({ ...opts, routing: { caseSensitive: mode.caseSensitive, strict: mode.strict } });
    app.use(mw);
    const router = new Router({ sensitive: mode.caseSensitive, strict: mode.strict });
    router.post('/login', (ctx: any) => (ctx.body = { n: hit('login', ctx.get('x-client')) }));
    router.get('/users/:id', (ctx: any) => (ctx.body = { n: hit('users', ctx.get('x-client')) }));
    router.get('/health', (ctx: any) => (ctx.body = { n: hit('health', ctx.get('x-client')) }));
    router.get('/private/:id', (ctx: any) => (ctx.body = { n: hit('private', ctx.get('x-client')) }));
    router.get('/open', (ctx: any) => (ctx.body = { n: hit('open', ctx.get('x-client')) }));
    app.use(router.routes());
    server = http.createServer(app.callback());
    stop = () => mw.close();
  }
  const port = Number(new URL(await listen(server)).port);
  return {
    port,
    hits,
    server,
    async close() {
      await close(server);
      await stop();
    },
  };
}

/** Sends one request over a fresh socket, exactly as written; resolves with its status and body. */
function raw(port: number, method: string, target: string, client: string): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response to ${method} ${target} within 5 s`));
    }, 5000);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      const body = method === 'POST' ? '{}' : '';
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: app.test\r\nX-Client: ${client}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m === null) return reject(new Error(`no status line for ${method} ${target}: ${JSON.stringify(data.slice(0, 80))}`));
      const split = data.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), headers: data.slice(0, split), body: data.slice(split + 4) });
    });
  });
}

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
        const targets = ['/api/v1/metrics', '/API/V1/METRICS', '/api/v1/Metrics', '/api/v1/metrics/', 'http://x/api/v1/metrics', 'HTTP://X/API/V1/METRICS/', '/api/v1/metrics#x', '/api/v1/metrics?x=1'];
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
