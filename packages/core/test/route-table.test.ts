import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../src/routing/route-table';
import { InvalidOptionError } from '../src/util/errors';

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
    assert.throws(() => t.add('users/:id', 'x', 'rateLimit.routes[0]'), (e: unknown) => e instanceof InvalidOptionError && e.option === 'rateLimit.routes[0]');
    assert.throws(() => t.add('GET /a/*/b', 'x'), /wildcard/);
    assert.throws(() => t.add('GET /a/:', 'x'), /named/);
  });
});
