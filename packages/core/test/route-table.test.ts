import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../src/routing/route-table';
import { InvalidOptionError } from '../src/util/errors';
import { Exchange } from '../src/pipeline/exchange';
import { normalizeMethod } from '../src/routing/http-method';
import type { RouteMatching } from '../src/routing/request-target';

describe('RouteTable', () => {
  const t = new RouteTable<string>();
  for (const p of ['GET /users/:id', 'GET /users/me', 'POST /login', '/health', 'GET /static/*', 'GET /', 'GET /a/:x/c', 'GET /a/b/:y']) t.add(p, p);

  const cases: [string, string, string | undefined][] = [
    ['GET', '/users/42', 'GET /users/:id'],
    ['GET', '/users/me', 'GET /users/me'],
    ['GET', '/users/42/', 'GET /users/:id'],
    ['GET', '/users', undefined],
    ['GET', '/users/42/more', undefined],
    ['POST', '/login', 'POST /login'],
    ['GET', '/login', undefined],
    ['DELETE', '/health', '/health'],
    ['GET', '/static/css/site.css', 'GET /static/*'],
    ['GET', '/', 'GET /'],
    ['GET', '/a/b/c', 'GET /a/b/:y'],
    ['GET', '/a/z/c', 'GET /a/:x/c'],
  ];
  for (const [method, path, want] of cases) {
    test(`${method} ${path} → ${want ?? 'no match'}`, () => assert.equal(t.match(method, path), want));
  }

  test('malformed patterns throw naming the option', () => {
    assert.throws(
      () => t.add('users/:id', 'x', 'rateLimit.routes[0]'),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'rateLimit.routes[0]',
    );
    assert.throws(() => t.add('GET /a/*/b', 'x'), /wildcard/);
    assert.throws(() => t.add('GET /a/:', 'x'), /named/);
  });
});

describe('RouteTable.lookup: a request matched as the router dispatches it', () => {
  const t = new RouteTable<string>();
  for (const p of ['POST /login', 'GET /users/:id', 'HEAD /only-head', 'GET /only-head', 'GET /Docs/Guide', 'GET /slash/', 'GET /files/*']) t.add(p, p);
  const res = { statusCode: 200, headersSent: false, finished: false, getHeader: () => undefined, setHeader: () => undefined, on: () => undefined };
  const exchange = (method: string, url: string, routing: RouteMatching) =>
    new Exchange({ method, headers: {} }, res, url, normalizeMethod(method), 0, routing);
  const defaults: RouteMatching = { caseSensitive: false, strict: false };
  const sensitive: RouteMatching = { caseSensitive: true, strict: false };
  const strict: RouteMatching = { caseSensitive: false, strict: true };
  const cases: [string, string, RouteMatching, string | undefined][] = [
    ['POST', '/LOGIN', defaults, 'POST /login'],
    ['POST', '/LOGIN', sensitive, undefined],
    ['GET', '/docs/guide', defaults, 'GET /Docs/Guide'],
    ['GET', '/docs/guide', sensitive, undefined],
    ['GET', '/Docs/Guide', sensitive, 'GET /Docs/Guide'],
    ['HEAD', '/users/1', defaults, 'GET /users/:id'],
    ['HEAD', '/only-head', defaults, 'HEAD /only-head'],
    ['POST', 'http://evil.example/login', defaults, 'POST /login'],
    ['POST', 'HTTP://EVIL:80/LOGIN?x=1', defaults, 'POST /login'],
    ['POST', '/login#x', defaults, 'POST /login'],
    ['POST', '/login/', defaults, 'POST /login'],
    ['POST', '/login/', strict, undefined],
    ['GET', '/slash', defaults, 'GET /slash/'],
    ['GET', '/slash', strict, undefined],
    ['GET', '/slash/', strict, 'GET /slash/'],
    ['GET', '/FILES/a/B', defaults, 'GET /files/*'],
    ['POST', '/l%6Fgin', defaults, undefined],
    ['POST', '//login', defaults, undefined],
    ['POST', '*', defaults, undefined],
  ];
  for (const [method, url, routing, want] of cases) {
    const how = routing === defaults ? 'defaults' : routing === sensitive ? 'case sensitive' : 'strict';
    test(`${method} ${url} (${how}) → ${want ?? 'no match'}`, () => assert.equal(t.lookup(exchange(method, url, routing)), want));
  }

  test('an absolute-form target keeps its query for the cache key, and a #fragment is dropped', () => {
    const a = exchange('GET', 'http://h/p?a=1&b=2', defaults);
    assert.deepEqual([a.path, a.query], ['/p', 'a=1&b=2']);
    const b = exchange('GET', '/p?a=1#frag', defaults);
    assert.deepEqual([b.path, b.query], ['/p', 'a=1']);
    const c = exchange('GET', '/P?a=1', defaults);
    assert.deepEqual([c.path, c.rulePath, c.query], ['/P', '/p', 'a=1']);
  });
});
