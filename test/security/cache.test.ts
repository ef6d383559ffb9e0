// Attacks on the response cache (issue #19), on every adapter: an aborted exchange must never be
// stored (Koa ended it with an empty body that was then served to everyone), a request with Cookie or
// Authorization must never read or fill a personalised entry, duplicate query parameters must keep
// their order in the key, and the other ways of getting one client's answer served to another.
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Autom8Options } from '@autom8/core';
import type { Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { ADAPTERS, type AdapterName } from '../support/apps';
import { close, listen } from '../support/http';
import { engineOf } from '@autom8/core/adapter';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET over a raw socket with `target` as the request target (any form); the raw response. */
async function rawGet(base: string, target: string): Promise<string> {
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${new URL(base).host}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const c of socket) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

interface App {
  server: Server;
  engine: Autom8;
  base: string;
  calls: Record<string, number>;
}

/** Who the request is, as a personalised handler would see it. */
function userOf(headers: IncomingHttpHeaders): string {
  const sid = /sid=(\w+)/.exec(headers.cookie ?? '')?.[1];
  if (sid !== undefined) return sid;
  const auth = headers.authorization;
  return auth === undefined ? 'anonymous' : `auth:${auth}`;
}

/** The handlers, framework-neutral: path → (request headers, raw query) → [headers, body]. */
type Handler = (
  headers: IncomingHttpHeaders,
  query: string,
  n: number,
  url: string,
) => Promise<{ headers?: Record<string, string>; body: string }> | { headers?: Record<string, string>; body: string };

/** Holds /gated's handlers until the test opens it, so a test decides when the app answers. */
const gate = { opened: Promise.resolve(), open: () => {} };
function closeGate(): void {
  gate.opened = new Promise<void>((resolve) => (gate.open = resolve));
}

/** Polls `cond` (every 2 ms, up to 5 s) instead of guessing how long the server takes. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

/** Sends a request over a raw socket and leaves it open; the caller destroys it. */
async function openRequest(base: string, path: string): Promise<net.Socket> {
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return socket;
}

const HANDLERS: Record<string, Handler> = {
  // answers once the test opens the gate: a client can hang up before that, deterministically
  '/gated': async (_h, _q, n) => {
    await gate.opened;
    return { body: `real body ${n}` };
  },
  '/me': (h) => ({ body: `hello ${userOf(h)}` }),
  '/me-public': (h) => ({ headers: { 'cache-control': 'public, max-age=60' }, body: `public page seen first by ${userOf(h)}` }),
  '/me-smaxage': (h) => ({ headers: { 'cache-control': 's-maxage=60' }, body: `shared page seen first by ${userOf(h)}` }),
  '/static': (_h, _q, n) => ({ body: `static ${n}` }),
  '/q': (_h, q) => ({ body: JSON.stringify(new URLSearchParams(q).getAll('a')) }),
  '/qb': (_h, q) => ({ body: JSON.stringify([...new URLSearchParams(q)]) }),
  '/set-cookie': (_h, _q, n) => ({ headers: { 'set-cookie': `sid=issued${n}` }, body: `issued ${n}` }),
  '/host': (h) => ({ body: `link to https://${h.host}/` }),
  '/never': (h, _q, n) => ({ body: `never cached ${n} for ${userOf(h)}` }),
  // reflects the request target, as canonical links and redirects built from req.originalUrl do
  '/echo-url': (_h, _q, n, url) => ({ body: `canonical ${url} (${n})` }),
};

async function start(adapter: AdapterName, options: Autom8Options): Promise<App> {
  const calls: Record<string, number> = {};
  const opts: Autom8Options = { logger: quiet, ...options };
  let server: Server;
  let engine: Autom8;
  const run = async (path: string, headers: IncomingHttpHeaders, query: string, url: string) => {
    const n = (calls[path] = (calls[path] ?? 0) + 1);
    return HANDLERS[path]!(headers, query, n, url);
  };
  if (adapter.startsWith('express')) {
    const express = require(adapter.startsWith('express5') ? 'express' : 'express4');
    const app = express();
    const mw = autom8Express(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    for (const path of Object.keys(HANDLERS)) {
      app.get(path, async (req: any, res: any) => {
        const q = req.originalUrl.indexOf('?');
        const r = await run(path, req.headers, q === -1 ? '' : req.originalUrl.slice(q + 1), req.originalUrl);
        if (r.headers !== undefined) res.set(r.headers);
        res.type('text/plain').send(r.body);
      });
    }
    server = http.createServer(adapter.endsWith('-front') ? mw.front(app) : app);
  } else {
    const Koa = require(adapter === 'koa3' ? 'koa' : 'koa2');
    const Router = require('@koa/router');
    const app = new Koa();
    const mw = autom8Koa(opts);
    engine = engineOf(mw)!;
    app.use(mw);
    const router = new Router();
    for (const path of Object.keys(HANDLERS)) {
      router.get(path, async (ctx: any) => {
        const r = await run(path, ctx.headers, ctx.querystring, ctx.originalUrl);
        if (r.headers !== undefined) ctx.set(r.headers);
        ctx.type = 'text/plain';
        ctx.body = r.body;
      });
    }
    app.use(router.routes());
    server = http.createServer(app.callback());
  }
  const base = await listen(server);
  return { server, engine, base, calls };
}

for (const adapter of ADAPTERS) {
  describe(`response cache attacks on ${adapter}`, () => {
    let app: App;
    before(async () => {
      app = await start(adapter, {
        cache: {
          global: true,
          routes: {
            'GET /me-ignore': { cookies: 'ignore' },
            'GET /static': { cookies: 'ignore' },
            'GET /never': false,
          },
        },
      });
    });
    after(async () => {
      await app.engine.close();
      await close(app.server);
    });

    test('a client that hangs up does not get its aborted response stored', async () => {
      closeGate();
      const leader = await openRequest(app.base, '/gated?abort');
      await until(() => app.calls['/gated'] === 1, 'the handler runs');
      leader.destroy();
      await until(() => app.engine.inFlight === 0, 'the server saw the client leave');
      gate.open(); // the handler now answers into the closed socket
      const r = await get(`${app.base}/gated?abort`);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'real body 2', 'the real body, from the app');
      assert.equal(r.headers['x-cache'], 'MISS', 'nothing was stored from the aborted exchange');
      const again = await get(`${app.base}/gated?abort`);
      assert.equal(again.body, 'real body 2');
      assert.equal(again.headers['x-cache'], 'HIT');
    });

    test('a follower coalesced behind an aborted leader gets the full body', async () => {
      app.calls['/gated'] = 0;
      closeGate();
      const leader = await openRequest(app.base, '/gated?coalesce');
      await until(() => app.calls['/gated'] === 1, 'the leader reaches the app');
      const follower = get(`${app.base}/gated?coalesce`);
      // The follower's exchange has begun, so it waits on the leader's fill (decided in the same tick).
      await until(() => app.engine.inFlight === 2, 'the follower arrives');
      leader.destroy();
      await until(() => app.engine.inFlight === 1, 'the server saw the leader leave');
      gate.open();
      const r = await follower;
      assert.equal(r.status, 200);
      assert.equal(r.body, 'real body 2', 'its own fill, from the app');
      assert.equal(r.headers['x-cache'], 'MISS');
      const next = await get(`${app.base}/gated?coalesce`);
      assert.equal(next.body, r.body, 'the follower filled the entry');
      assert.equal(next.headers['x-cache'], 'HIT');
    });

    test('Cookie: Bob never gets Alice’s page, nor does an anonymous client', async () => {
      const alice = await get(`${app.base}/me`, { cookie: 'sid=alice' });
      assert.equal(alice.body, 'hello alice');
      const bob = await get(`${app.base}/me`, { cookie: 'sid=bob' });
      assert.equal(bob.body, 'hello bob');
      const anon = await get(`${app.base}/me`);
      assert.equal(anon.body, 'hello anonymous');
      const alice2 = await get(`${app.base}/me`, { cookie: 'sid=alice' });
      assert.equal(alice2.body, 'hello alice', 'not the anonymous entry either');
      const anon2 = await get(`${app.base}/me`);
      assert.equal(anon2.body, 'hello anonymous');
      assert.equal(anon2.headers['x-cache'], 'HIT', 'anonymous requests still share an entry');
    });

    test('Authorization: one user’s answer is never served to another or to anonymous', async () => {
      const a = await get(`${app.base}/me?auth`, { authorization: 'Bearer alice' });
      assert.equal(a.body, 'hello auth:Bearer alice');
      const b = await get(`${app.base}/me?auth`, { authorization: 'Bearer bob' });
      assert.equal(b.body, 'hello auth:Bearer bob');
      const anon = await get(`${app.base}/me?auth`);
      assert.equal(anon.body, 'hello anonymous');
      const a2 = await get(`${app.base}/me?auth`, { authorization: 'Bearer alice' });
      assert.equal(a2.body, 'hello auth:Bearer alice');
    });

    test('cookies: "ignore" opts a route in: cookie requests share its entry', async () => {
      const first = await get(`${app.base}/static`, { cookie: 'sid=alice' });
      const second = await get(`${app.base}/static`, { cookie: 'sid=bob' });
      const anon = await get(`${app.base}/static`);
      assert.equal(second.body, first.body);
      assert.equal(second.headers['x-cache'], 'HIT');
      assert.equal(anon.body, first.body);
      assert.equal(app.calls['/static'], 1);
    });

    test('a response marked public (or s-maxage) may be stored from and served to credentialed requests', async () => {
      for (const [path, creds] of [
        ['/me-public', { cookie: 'sid=alice' }],
        ['/me-smaxage', { authorization: 'Bearer alice' }],
      ] as const) {
        const first = await get(`${app.base}${path}`, creds);
        assert.equal(first.headers['x-cache'], 'MISS', path);
        const other = await get(`${app.base}${path}`, { cookie: 'sid=bob' });
        assert.equal(other.headers['x-cache'], 'HIT', path);
        assert.equal(other.body, first.body, path);
        const anon = await get(`${app.base}${path}`);
        assert.equal(anon.headers['x-cache'], 'HIT', path);
        assert.equal(app.calls[path], 1, path);
      }
    });

    test('duplicate query parameters keep their order in the key', async () => {
      const r21 = await get(`${app.base}/q?a=2&a=1`);
      const r12 = await get(`${app.base}/q?a=1&a=2`);
      assert.equal(r21.body, '["2","1"]');
      assert.equal(r12.body, '["1","2"]', 'not the entry of ?a=2&a=1');
      assert.equal((await get(`${app.base}/q?a=2&a=1`)).body, '["2","1"]');
      // distinct names may still share one entry, each name's values in order
      await get(`${app.base}/qb?b=1&a=1&a=2`);
      const shared = await get(`${app.base}/qb?a=1&b=1&a=2`);
      assert.equal(shared.headers['x-cache'], 'HIT');
      assert.equal(app.calls['/qb'], 1);
      // names the app decodes alike are not reordered: %61 is `a`
      const enc1 = await get(`${app.base}/q?%61=1&a=2`);
      const enc2 = await get(`${app.base}/q?a=2&%61=1`);
      assert.equal(enc1.body, '["1","2"]');
      assert.equal(enc2.body, '["2","1"]');
    });

    test('HEAD does not fill the GET entry with an empty body', async () => {
      const head = await get(`${app.base}/static?head`, {}, 'HEAD');
      assert.equal(head.body, '');
      const r = await get(`${app.base}/static?head`);
      assert.match(r.body, /^static \d+$/);
      assert.equal(r.headers['x-cache'], 'MISS');
    });

    test('Set-Cookie: such a response is not stored, and its cookie is never replayed', async () => {
      const a = await get(`${app.base}/set-cookie`);
      const b = await get(`${app.base}/set-cookie`);
      assert.notEqual(a.headers['set-cookie']?.[0], b.headers['set-cookie']?.[0]);
      assert.equal(b.headers['x-cache'], 'MISS');
    });

    test('Host: a request with a forged Host does not poison the entry for the real one', async () => {
      const evil = await get(`${app.base}/host`, { host: 'evil.example' });
      assert.equal(evil.body, 'link to https://evil.example/');
      const real = await get(`${app.base}/host`);
      assert.equal(real.body, `link to https://${new URL(app.base).host}/`);
      const again = await get(`${app.base}/host`);
      assert.equal(again.headers['x-cache'], 'HIT');
      const evil2 = await get(`${app.base}/host`, { host: 'evil.example' });
      assert.equal(evil2.body, 'link to https://evil.example/', 'nor the other way round');
    });

    test('an absolute-form or #fragment target neither reads nor fills the shared entry of its path', async () => {
      // The app reflects the target it was given; the router still routes these to /echo-url.
      const poison = [`http://evil.example/echo-url`, `/echo-url#"><script>x</script>`];
      for (const target of poison) {
        const raw = await rawGet(app.base, target);
        assert.match(raw, /^HTTP\/1\.1 200/, target);
        assert.match(raw, /evil|script/, `${target} reached the app`);
      }
      const plain = await get(`${app.base}/echo-url`);
      assert.equal(plain.status, 200);
      assert.doesNotMatch(plain.body, /evil|script/, `the shared entry was filled by a poisoned target: ${plain.body}`);
      const again = await get(`${app.base}/echo-url`);
      assert.equal(again.headers['x-cache'], 'HIT', 'the plain target is still cached');
      assert.equal(again.body, plain.body);
      // and a poisoned target is not answered from the plain entry either
      const after = await rawGet(app.base, `http://evil.example/echo-url`);
      assert.doesNotMatch(after, /x-cache: HIT/i);
    });

    test('a route whose rule is false is not cached through a path the router also sends to it', async () => {
      const port = new URL(app.base).port;
      for (const path of ['/NEVER', '/Never?x=1', `http://127.0.0.1:${port}/never`]) {
        const before = app.calls['/never'] ?? 0;
        await rawGet(app.base, path);
        const second = await rawGet(app.base, path);
        assert.equal(app.calls['/never'], before + 2, path);
        assert.doesNotMatch(second, /x-cache: HIT/i, path);
      }
    });

    test('a huge query string is answered, and keyed without reordering', async () => {
      const params = Array.from({ length: 1000 }, (_, i) => `p${1000 - i}=${i}`).join('&');
      const r = await get(`${app.base}/qb?${params}`);
      assert.equal(r.status, 200);
      const again = await get(`${app.base}/qb?${params}`);
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.equal(again.body, r.body);
    });
  });
}
