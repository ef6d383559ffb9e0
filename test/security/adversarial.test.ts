// An attacker who keeps trying (issue #19): rotating spellings of one request to get past a per-route
// limit, smuggling a request inside another one's body, pipelining, tricks that put an exempt path
// in front of a limited one. On every adapter the invariant is the same: the handler behind a limit
// of 2 runs at most twice for one client, whatever was sent, and the server keeps answering.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAMEWORKS, MODES, raw, rawExchange, start, type Running } from '../support/rule-app';
import { seededRandom } from '../support/seeded-random';

const LIMIT = 2;
const defaults = MODES[0]!;

/** A random spelling of `path` built from every trick the router might accept. */
function spelling(path: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let p = [...path].map((c) => (rnd() < 0.3 ? c.toUpperCase() : c)).join('');
  if (rnd() < 0.2) p = p.replace(/[a-z]/i, (c) => `%${c.charCodeAt(0).toString(16)}`);
  if (rnd() < 0.2) p = pick(['/health/..', '/./', '/health;', '/api/v1/metrics/..', '/health%2f..%2f', '//']) + p.slice(1);
  if (rnd() < 0.3) p += pick(['/', '//', '/.', '/..', ';', '%20', '%00', '%2f', '/%2e']);
  if (rnd() < 0.3) p = pick(['http://evil.example', 'HTTP://EVIL', 'https://u:p@evil.example:8443', 'http://127.0.0.1', 'ftp://x']) + p;
  if (rnd() < 0.3) p += pick(['?x=1', '#frag', '?a=1#b', '?', '#', '?/../health']);
  return p;
}

for (const fw of FRAMEWORKS) {
  describe(`an attacker who keeps trying, on ${fw}`, () => {
    let app: Running;
    before(async () => {
      app = await start(fw, defaults, {
        exempt: ['GET /health'],
        rateLimit: {
          rate: 1000,
          per: 'minute',
          key: { header: 'x-client' },
          routes: { 'POST /login': { rate: LIMIT, per: 'minute' }, 'GET /users/:id': { rate: LIMIT, per: 'minute' } },
        },
      });
    });
    after(() => app.close());

    test('300 random spellings of POST /login from one client reach the handler at most twice', async () => {
      const rnd = seededRandom(0x19a + fw.length);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 300; i++) {
        const target = spelling('/login', rnd);
        let status: number;
        try {
          status = (await raw(app.port, 'POST', target, 'rotating')).status;
        } catch (err) {
          throw new Error(`POST ${target}: ${String(err)}`);
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      const hits = app.hits.get('login|rotating') ?? 0;
      assert.ok(hits <= LIMIT, `the login handler ran ${hits} times (statuses ${JSON.stringify([...statuses])})`);
      assert.equal(hits, LIMIT, 'the plain spellings among them should have used the limit up');
      assert.ok((statuses.get(429) ?? 0) > 20, `few 429s: ${JSON.stringify([...statuses])}`);
    });

    test('200 random spellings of GET and HEAD /users/:id from one client reach the handler at most twice', async () => {
      const rnd = seededRandom(0x7e5 + fw.length);
      for (let i = 0; i < 200; i++) {
        await raw(app.port, rnd() < 0.5 ? 'GET' : 'HEAD', spelling(`/users/${Math.floor(rnd() * 1000)}`, rnd), 'rotating-users');
      }
      const hits = app.hits.get('users|rotating-users') ?? 0;
      assert.ok(hits <= LIMIT, `the users handler ran ${hits} times`);
    });

    test('requests pipelined on one connection are each counted', async () => {
      const one = 'POST /login HTTP/1.1\r\nHost: a\r\nX-Client: pipelined\r\nContent-Length: 0\r\n\r\n';
      const statuses = await rawExchange(app.port, one.repeat(9) + one.replace('Content-Length: 0', 'Content-Length: 0\r\nConnection: close'));
      assert.equal(statuses.length, 10, `answers: ${statuses.join(', ')}`);
      assert.equal(app.hits.get('login|pipelined'), LIMIT);
      assert.equal(statuses.filter((s) => s === 429).length, 10 - LIMIT);
    });

    test('a request smuggled in a body, by every framing trick, is refused or counted', async () => {
      const inner = 'POST /login HTTP/1.1\r\nHost: a\r\nX-Client: smuggled\r\nContent-Length: 0\r\n\r\n';
      const chunked = (te: string) =>
        `POST /open HTTP/1.1\r\nHost: a\r\nX-Client: carrier\r\n${te}\r\nContent-Length: ${4 + inner.length}\r\n\r\n0\r\n\r\n${inner}`;
      const attempts = [
        chunked('Transfer-Encoding: chunked'),
        chunked('Transfer-Encoding: xchunked'),
        chunked('Transfer-Encoding: chunked, identity'),
        chunked('Transfer-Encoding : chunked'),
        chunked('Transfer-Encoding:\tchunked'),
        chunked('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity'),
        chunked('Transfer-encoding: CHUNKED'),
        `POST /open HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`,
        `POST /open HTTP/1.1\r\nHost: a\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`,
        `GET /open HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n ${inner.length}\r\n\r\n${inner}`,
        `POST /open HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
      ];
      for (let round = 0; round < 3; round++) {
        for (const payload of attempts) {
          const statuses = await rawExchange(app.port, payload + 'GET /open HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
          assert.ok(statuses.length >= 1, `no answer to ${JSON.stringify(payload.slice(0, 70))}`);
          for (const s of statuses) assert.ok(s < 500, `${s} for ${JSON.stringify(payload.slice(0, 70))}`);
        }
      }
      const hits = app.hits.get('login|smuggled') ?? 0;
      assert.ok(hits <= LIMIT, `a smuggled POST /login reached the handler ${hits} times`);
      // And the server still serves a plain request.
      assert.equal((await raw(app.port, 'GET', '/users/1', 'after-smuggling')).status, 200);
    });

    test('an exempt path in front of a limited one exempts nothing', async () => {
      const tricks = [
        '/health/../login',
        '/health/%2e%2e/login',
        '/health%2f..%2flogin',
        '/health;/../login',
        '/health/..;/login',
        'http://x/health/../login',
        '/health?/../login',
        '/health#/../login',
        '/api/v1/metrics/../../../login',
      ];
      for (const target of tricks) {
        for (let i = 0; i < LIMIT + 1; i++) await raw(app.port, 'POST', target, 'exempt-trick');
      }
      const hits = app.hits.get('login|exempt-trick') ?? 0;
      assert.ok(hits <= LIMIT, `the login handler ran ${hits} times`);
    });
  });
}
