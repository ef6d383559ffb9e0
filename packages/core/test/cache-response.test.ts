// The response cache in core: keys, request directives, ETag matching, the entry codec, the byte
// bound over 100,000 distinct keys, options validation, and RFC 9111 behaviour over real HTTP with a
// bare node server driving the engine the way an adapter does.
import net from 'node:net';
import http, { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type Autom8Options } from '@autom8/core';
import { decodeEntry, encodeEntry } from '../src/cache/response-entry';
import { createEngine, isPromise, type Autom8, type Reply } from '@autom8/core/adapter';
import { etagMatches, normalizeQuery, primaryKey, requestDirectives } from '../src/cache/response-key';
import { ResponseMemory } from '../src/cache/response-memory';
import { close, listen } from '../../../test/support/http';

const quiet = { info() {}, warn() {}, error() {} };

describe('keys and directives', () => {
  test('the query is normalised: sorted, empty parameters dropped', () => {
    assert.equal(primaryKey('/a', ''), '/a');
    assert.equal(primaryKey('/a', 'b=2&a=1'), '/a?a=1&b=2');
    assert.equal(normalizeQuery('a=1&b=2'), 'a=1&b=2');
    assert.equal(normalizeQuery('b=1&&a=2&'), 'a=2&b=1');
  });

  test('the query sort is stable on names: values of one name keep their order', () => {
    assert.equal(normalizeQuery('a=2&a=1'), 'a=2&a=1');
    assert.equal(normalizeQuery('a=1&a=2'), 'a=1&a=2');
    assert.equal(normalizeQuery('b=1&a=2&a=1'), 'a=2&a=1&b=1');
    assert.equal(normalizeQuery('a=2&b=1&a=1'), 'a=2&a=1&b=1');
    assert.equal(normalizeQuery('ab=1&a=2'), 'a=2&ab=1', 'a name before a longer one it prefixes');
    assert.equal(normalizeQuery('a&b=1&a=0'), 'a&a=0&b=1');
  });

  test('names a parser may decode or merge, and very long queries, are keyed as sent', () => {
    for (const q of ['a=2&%61=1', 'a[]=2&a=1', 'b+c=1&a=1', 'b.c=1&a=1', 'b%20=1&a=1']) assert.equal(normalizeQuery(q), q);
    const many = Array.from({ length: 65 }, (_, i) => `p${65 - i}=1`).join('&');
    assert.equal(normalizeQuery(many), many);
    const some = Array.from({ length: 64 }, (_, i) => `p${64 - i}=1`).join('&');
    assert.notEqual(normalizeQuery(some), some);
  });

  test('request Cache-Control directives', () => {
    assert.equal(requestDirectives({}), undefined);
    assert.equal(requestDirectives({ 'cache-control': 'no-store' })!.noStore, true);
    assert.equal(requestDirectives({ 'cache-control': 'max-age=0' })!.noCache, true);
    const d = requestDirectives({ 'cache-control': 'max-age=5, min-fresh="3", max-stale' })!;
    assert.equal(d.maxAge, 5);
    assert.equal(d.minFresh, 3);
    assert.equal(d.maxStale, Infinity);
    assert.equal(requestDirectives({ pragma: 'no-cache' })!.noCache, true);
  });

  test('If-None-Match uses weak comparison and lists', () => {
    assert.ok(etagMatches('"a"', '"a"'));
    assert.ok(etagMatches('W/"a"', '"a"'));
    assert.ok(etagMatches('"x", W/"a"', 'W/"a"'));
    assert.ok(etagMatches('*', '"a"'));
    assert.ok(!etagMatches('"b"', '"a"'));
  });

  test('entries survive the shared-tier codec; garbage decodes to undefined', () => {
    const e = {
      status: 200,
      headers: { 'content-type': 'text/plain', 'x-many': ['a', 'b'] },
      body: Buffer.from([0, 1, 2, 255]),
      etag: '"e"',
      storedAt: 1,
      freshUntil: 2,
      revalidateUntil: 3,
      errorUntil: 4,
      tags: ['t'],
      vary: ['accept-language'],
      shareable: true,
      host: 'a.example',
    };
    assert.deepEqual(decodeEntry(encodeEntry(e)), e);
    // the route template it was filled for travels with it (issue #21)
    assert.deepEqual(decodeEntry(encodeEntry({ ...e, route: '/users/:id' })), { ...e, route: '/users/:id' });
    assert.equal(decodeEntry(Buffer.from('nonsense')), undefined);
    // a record carrying a cookie (another writer, an older version) never replays it
    const withCookie = decodeEntry(encodeEntry({ ...e, headers: { ...e.headers, 'set-cookie': ['sid=x'] } }))!;
    assert.equal(withCookie.headers['set-cookie'], undefined);
    assert.equal(decodeEntry(Buffer.alloc(2)), undefined);
  });
});

describe('local tier byte bound', () => {
  test('100,000 distinct keys stay within maxBytes, with the tag index in step', () => {
    const maxBytes = 2 * 1024 * 1024;
    const mem = new ResponseMemory(1_000_000, maxBytes, 64 * 1024);
    const body = Buffer.alloc(300, 1);
    for (let i = 0; i < 100_000; i++) {
      mem.put(
        `/items/${i}`,
        {
          status: 200,
          headers: { 'content-type': 'text/plain' },
          body,
          etag: undefined,
          storedAt: 0,
          freshUntil: 1e15,
          revalidateUntil: 1e15,
          errorUntil: 1e15,
          tags: [`t${i % 10}`],
          vary: undefined,
          shareable: false,
          host: '',
        },
        {},
      );
      if (i % 10_000 === 0) assert.ok(mem.bytes <= maxBytes);
    }
    assert.ok(mem.bytes <= maxBytes, `bytes ${mem.bytes}`);
    assert.ok(mem.size < 100_000 && mem.size > 1000, `entries ${mem.size}`);
    assert.equal(mem.evictions, 100_000 - mem.size);
    // the index only holds live keys: deleting a tag removes exactly the live ones
    const live = mem.size;
    let removed = 0;
    for (let t = 0; t < 10; t++) removed += mem.deleteTag(`t${t}`);
    assert.equal(removed, live);
    assert.equal(mem.size, 0);
    assert.equal(mem.tagCount, 0);
  });
});

describe('options', () => {
  test('invalid cache options throw naming the option', () => {
    const bad: [unknown, RegExp][] = [
      [{ ttl: 0 }, /cache\.ttl/],
      [{ maxBytes: -1 }, /cache\.maxBytes/],
      [{ maxEntryBytes: 10, maxBytes: 5 }, /cache\.maxEntryBytes/],
      [{ routes: { 'GET /a': { ttl: 'x' } } }, /cache\.routes\['GET \/a'\]\.ttl/],
      [{ routes: { 'GET /a': { nope: 1 } } }, /cache\.routes\['GET \/a'\]\.nope/],
      [{ routes: { 'GET /a/*/b': {} } }, /cache\.routes/],
      [{ store: {} }, /cache\.store/],
      [{ storeOutage: { timeoutMs: 0 } }, /cache\.storeOutage\.timeoutMs/],
      [{ typo: 1 }, /cache\.typo/],
      [{ cookies: 'share' }, /cache\.cookies.*'public-only', 'ignore'/],
      [{ cookies: true }, /cache\.cookies/],
      [{ routes: { 'GET /a': { cookies: 'yes' } } }, /cache\.routes\['GET \/a'\]\.cookies/],
      ['yes', /cache/],
    ];
    for (const [cache, re] of bad) assert.throws(() => createEngine({ logger: quiet, cache } as Autom8Options), re, JSON.stringify(cache));
    assert.doesNotThrow(() => createEngine({ logger: quiet, cache: true }).close());
    assert.doesNotThrow(() => createEngine({ logger: quiet, cache: { enabled: false } }).close());
    assert.doesNotThrow(() => createEngine({ logger: quiet, cache: { cookies: 'ignore', routes: { 'GET /me': { cookies: 'public-only' } } } }).close());
  });
});

/** A bare node server driving the engine as an adapter does. */
function serve(engine: Autom8, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const send = (res: ServerResponse, r: Reply) => {
    res.statusCode = r.status;
    for (const n in r.headers) res.setHeader(n, r.headers[n]!);
    res.end(r.body);
  };
  return http.createServer((req, res) => {
    const ex = engine.begin(req, res, req.url ?? '/');
    const d = engine.admit(ex);
    if (d === undefined) handler(req, res);
    else if (isPromise(d)) void d.then((r) => (r === undefined ? handler(req, res) : send(res, r)));
    else send(res, d);
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('RFC 9111 behaviour over HTTP (core only)', () => {
  const clock = new ManualClock();
  let engine: Autom8;
  let server: Server;
  let base: string;
  const calls: Record<string, number> = {};
  let release: (() => void) | undefined;

  before(async () => {
    engine = createEngine({
      logger: quiet,
      clock,
      cache: {
        ttl: 1000,
        staleWhileRevalidate: 5000,
        routes: {
          'GET /cc/*': {},
          'GET /login-page': { allowSetCookie: true },
          'GET /me': { allowAuthorization: true },
          'GET /cc/never': false,
        },
      },
    });
    server = serve(engine, (req, res) => {
      const path = req.url!.split('?')[0]!;
      calls[path] = (calls[path] ?? 0) + 1;
      const n = String(calls[path]);
      const cc: Record<string, string> = {
        '/cc/private': 'private, max-age=60',
        '/cc/maxage': 'max-age=60',
        '/cc/smaxage': 'max-age=1, s-maxage=30',
        '/cc/nocache': 'no-cache',
        '/cc/mustrevalidate': 'must-revalidate',
      };
      if (cc[path] !== undefined) res.setHeader('cache-control', cc[path]);
      if (path === '/login-page') res.setHeader('set-cookie', 'csrf=abc');
      if (path === '/cc/short') {
        // says 10 bytes, sends 3: node sends it as is
        res.setHeader('content-length', '10');
        res.end('abc');
        return;
      }
      if (path === '/cc/slow') {
        release = () => res.end(n);
        return;
      }
      res.setHeader('content-type', 'text/plain');
      res.end(n);
    });
    base = await listen(server);
  });
  after(async () => {
    await engine.close();
    await close(server);
  });

  test('only listed routes are cached when routes are given; a false rule never caches', async () => {
    await get(`${base}/unlisted`);
    assert.equal((await get(`${base}/unlisted`)).headers['x-cache'], undefined);
    await get(`${base}/cc/never`);
    assert.equal((await get(`${base}/cc/never`)).headers['x-cache'], undefined);
    assert.equal(calls['/cc/never'], 2);
  });

  test('private and no-cache responses are not stored', async () => {
    for (const p of ['/cc/private', '/cc/nocache']) {
      await get(`${base}${p}`);
      const r = await get(`${base}${p}`);
      assert.equal(r.headers['x-cache'], 'MISS', p);
      assert.equal(r.body, '2', p);
    }
  });

  test('explicit freshness wins over the route TTL; s-maxage over max-age', async () => {
    await get(`${base}/cc/maxage`);
    await get(`${base}/cc/smaxage`);
    clock.advance(20_000);
    assert.equal((await get(`${base}/cc/maxage`)).headers['x-cache'], 'HIT');
    assert.equal((await get(`${base}/cc/smaxage`)).headers['x-cache'], 'HIT');
    clock.advance(15_000);
    assert.equal((await get(`${base}/cc/smaxage`)).headers['x-cache'], 'MISS');
    assert.equal((await get(`${base}/cc/maxage`)).body, '1');
  });

  test('request max-age and only-if-cached', async () => {
    await get(`${base}/cc/maxage`); // fresh copy stored at the current time (age 0 after re-store)
    clock.advance(10_000);
    const r = await get(`${base}/cc/maxage`, { 'cache-control': 'max-age=5' });
    assert.equal(r.headers['x-cache'], 'MISS', 'too old for the client');
    const oic = await get(`${base}/cc/absent`, { 'cache-control': 'only-if-cached' });
    assert.equal(oic.status, 504);
  });

  test('stale-while-revalidate: one request refreshes while the others get STALE at once', async () => {
    const first = get(`${base}/cc/slow`);
    await waitFor(() => release !== undefined);
    release!();
    release = undefined;
    assert.equal((await first).body, '1');
    clock.advance(1500); // stale, inside the 5 s window
    const refreshing = get(`${base}/cc/slow`);
    await waitFor(() => release !== undefined);
    const stale = await get(`${base}/cc/slow`);
    assert.equal(stale.headers['x-cache'], 'STALE');
    assert.equal(stale.body, '1');
    release!();
    release = undefined;
    assert.equal((await refreshing).body, '2');
    assert.equal((await get(`${base}/cc/slow`)).headers['x-cache'], 'HIT');
  });

  test('must-revalidate: no stale serving', async () => {
    await get(`${base}/cc/mustrevalidate`);
    clock.advance(1500);
    const r = await get(`${base}/cc/mustrevalidate`);
    assert.equal(r.headers['x-cache'], 'MISS');
  });

  test('opt-ins: Set-Cookie routes are stored without the cookie; Authorization routes are cached', async () => {
    const first = await get(`${base}/login-page`);
    assert.match(String(first.headers['set-cookie']), /csrf=abc/);
    const hit = await get(`${base}/login-page`);
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.headers['set-cookie'], undefined, 'the cookie is never replayed');
    await get(`${base}/me`, { authorization: 'Bearer x' });
    assert.equal((await get(`${base}/me`, { authorization: 'Bearer x' })).headers['x-cache'], 'HIT');
  });

  test('a body shorter than its Content-Length is not stored', async () => {
    const cache = engine.feature('cache') as unknown as { snapshot(): { stored: number } };
    const stored = cache.snapshot().stored;
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /cc/short HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => socket.once('data', r));
    await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    assert.equal(cache.snapshot().stored, stored);
    assert.equal(calls['/cc/short'], 1);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

describe('varyByHost', () => {
  test('an entry is served to the Host that stored it, whatever the port, never to a look-alike', async () => {
    const engine = createEngine({ logger: quiet, cache: true });
    const server = serve(engine, (req, res) => res.end(`link to https://${req.headers.host}/`));
    const base = await listen(server);
    try {
      for (const forged of ['a.example:@evil.example', 'a.example.evil.example', 'a.example:', 'evil.example:8080']) {
        await get(`${base}/page?${encodeURIComponent(forged)}`, { host: forged });
        const real = await get(`${base}/page?${encodeURIComponent(forged)}`, { host: 'a.example' });
        assert.equal(real.body, 'link to https://a.example/', forged);
      }
      await get(`${base}/port`, { host: 'a.example:8080' });
      const other = await get(`${base}/port`, { host: 'a.example:9090' });
      assert.equal(other.headers['x-cache'], 'HIT', 'instances on other ports share entries');
      const v6 = await get(`${base}/v6`, { host: '[::1]:80' });
      assert.equal((await get(`${base}/v6`, { host: '[::1]' })).body, v6.body);
      assert.equal((await get(`${base}/v6`, { host: '[::2]' })).headers['x-cache'], 'MISS');
    } finally {
      await engine.close();
      await close(server);
    }
  });

  test('keeps one entry per Host when asked to; never serves one Host the entry of another', async () => {
    for (const varyByHost of [false, true]) {
      const engine = createEngine({ logger: quiet, cache: { varyByHost } });
      const server = serve(engine, (req, res) => res.end(`tenant ${req.headers.host}`));
      const base = await listen(server);
      try {
        const a1 = await get(`${base}/page`, { host: 'a.example' });
        const b1 = await get(`${base}/page`, { host: 'b.example' });
        const a2 = await get(`${base}/page`, { host: 'a.example' });
        const b2 = await get(`${base}/page`, { host: 'b.example' });
        assert.equal(a1.body, 'tenant a.example');
        assert.equal(b1.headers['x-cache'], 'MISS');
        assert.equal(b1.body, 'tenant b.example');
        assert.equal(a2.body, 'tenant a.example');
        assert.equal(b2.body, 'tenant b.example');
        if (varyByHost) {
          assert.equal(a2.headers['x-cache'], 'HIT');
          assert.equal(b2.headers['x-cache'], 'HIT');
        } else {
          // one entry per key: another Host goes to the app and its answer replaces the entry
          assert.equal(a2.headers['x-cache'], 'MISS');
          const b3 = await get(`${base}/page`, { host: 'b.example' });
          assert.equal(b3.headers['x-cache'], 'HIT');
        }
      } finally {
        await engine.close();
        await close(server);
      }
    }
  });
});
