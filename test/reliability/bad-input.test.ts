// Bad input over raw sockets against apps running the whole suite (metrics, OTel API, rate limit,
// shed, cache): malformed and oversized headers, invalid traceparent, absurd X-Forwarded-For
// chains, non-UTF-8 and odd paths, partial (slowloris-style) requests. The process must keep
// serving, answer a clear 4xx where the framework lets us, and keep its series bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { buildApp, type AdapterName, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

/**
 * Sends raw bytes; resolves with the status line, or '' when the server closed the connection
 * without one. A server that neither answers nor closes within `waitMs` fails the call: a hung
 * connection is a defect, never an answer.
 */
function raw(port: number, payload: string | Buffer, waitMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      if (err !== undefined) reject(err);
      else resolve(data.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(() => settle(new Error(`no answer and no close within ${waitMs} ms`)), waitMs);
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n\r\n')) settle();
    });
    s.on('error', () => settle());
    s.on('close', () => settle());
    s.write(payload);
  });
}

const quiet = { info() {}, warn() {}, error() {} };

for (const adapter of ['express5', 'express4', 'koa3', 'express5-front'] as AdapterName[]) {
  describe(`bad input on ${adapter}`, () => {
    let app: TestApp;
    let port: number;
    before(async () => {
      app = buildApp(adapter, {
        logger: quiet,
        trustProxy: true,
        rateLimit: { rate: 1_000_000, per: 'minute' },
        // On, so every request passes through it, with limits a busy CI host cannot reach: this
        // test asserts answers to bad input, not shedding (a CPU-heavy neighbour test must not turn
        // them into 503s).
        shed: { limits: { maxEventLoopDelayMs: 10_000 }, maxQueueDelayMs: 10_000 },
        cache: { global: true, ttl: 60_000 },
      });
      port = Number(new URL(await listen(app.server)).port);
    });
    after(async () => {
      await close(app.server);
      await app.engine.close();
    });

    const ok = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/users/1`);
      assert.equal(r.status, 200);
      await r.text();
    };

    test('malformed request lines and headers get a 400 (or a closed socket), and the process serves on', async () => {
      const cases = [
        'GARBAGE\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        'GET /users/1 HTTP/9.9\r\nHost: x\r\n\r\n',
      ];
      for (const c of cases) {
        const line = await raw(port, c);
        assert.ok(line === '' || /^HTTP\/1\.1 (400|413|431|505)/.test(line), `${JSON.stringify(c.slice(0, 40))} → ${line}`);
      }
      await ok();
    });

    test('invalid traceparent, absurd X-Forwarded-For and odd methods are answered normally', async () => {
      // ~12 KB: under node's 16 KB header limit (past it node answers 431 itself, tested above).
      const xff = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).join(', ');
      const headers = [
        'traceparent: 00-zzzz-yyyy-01',
        'traceparent: ff-00000000000000000000000000000000-0000000000000000-00',
        `x-forwarded-for: ${xff}`,
        'x-forwarded-for: not an ip, <script>, ::::::',
        'authorization: Bearer x',
      ];
      for (const h of headers) {
        const line = await raw(port, `GET /users/1 HTTP/1.1\r\nHost: x\r\n${h}\r\nConnection: close\r\n\r\n`);
        assert.match(line, /^HTTP\/1\.1 200/, h.slice(0, 40));
      }
      // No route answers PURGE: the framework's 404, not a crash or a cached GET.
      const purge = await raw(port, 'PURGE /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(purge, /^HTTP\/1\.1 404/);
      await ok();
    });

    test('non-UTF-8, encoded and very long paths never crash and never become series', async () => {
      const before = ((await (await fetch(`http://127.0.0.1:${port}/api/v1/metrics`)).json()) as any).series.count;
      const paths = [
        Buffer.from([0x47, 0x45, 0x54, 0x20, 0x2f, 0xff, 0xfe, 0x80, 0x20]), // "GET /\xff\xfe\x80 "
        '/%E0%A4%A',
        '/users/%00',
        '/..%2f..%2fetc%2fpasswd',
        `/${'x'.repeat(8000)}`,
        '/users/1?%zz=%%%',
      ];
      for (const p of paths) {
        const head = Buffer.isBuffer(p) ? p : Buffer.from(`GET ${p} `, 'latin1');
        const line = await raw(port, Buffer.concat([head, Buffer.from('HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1')]));
        assert.ok(line === '' || /^HTTP\/1\.1 \d{3}/.test(line), `${head.toString('latin1').slice(0, 30)} → ${line}`);
      }
      await ok();
      const m: any = await (await fetch(`http://127.0.0.1:${port}/api/v1/metrics`)).json();
      assert.ok(m.series.count <= before + 1, `series ${before} → ${m.series.count}`);
      assert.ok(!Object.keys(m.routes).some((k) => k.includes('xxxx') || k.includes('passwd')));
    });

    test('partial requests (slowloris) do not block others and leave nothing in flight', async () => {
      const sockets = Array.from({ length: 50 }, () => {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.write('GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        return s;
      });
      try {
        await ok();
        await ok();
      } finally {
        for (const s of sockets) s.destroy();
      }
      await ok();
      // Headers never completed, so they never became requests: once the last answered request's
      // response has closed, nothing is in flight (waited for by polling, not a fixed sleep).
      const deadline = Date.now() + 2000;
      while (app.engine.inFlight !== 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      assert.equal(app.engine.inFlight, 0);
    });
  });
}
