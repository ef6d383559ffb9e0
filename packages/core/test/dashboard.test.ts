// The dashboard endpoint on every adapter: a self-contained HTML page (no external resource) whose
// CSP allows exactly its inline script and style; off unless enabled. Rendering in a real browser
// is covered by test/e2e/dashboard.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidOptionError, ManualClock } from '@autom8/core';
import { createEngine } from '@autom8/core/adapter';
import { PERF_ADAPTERS, startPerfApp, type PerfApp } from './perf-support';

const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

for (const adapter of PERF_ADAPTERS) {
  describe(`dashboard endpoint on ${adapter}`, () => {
    let app: PerfApp;
    let off: PerfApp;
    before(async () => {
      app = await startPerfApp(adapter, new ManualClock(), {
        dashboard: { pollMs: 1500, title: 'Shop <prod>', traceUrl: 'https://jaeger.example/trace/{traceId}' },
        slo: { objectives: [{ errorRate: 0.01 }] },
      });
      off = await startPerfApp(adapter, new ManualClock(), {});
    });
    after(async () => {
      await app.stop();
      await off.stop();
    });

    test('serves one self-contained page with a hash-based CSP', async () => {
      const res = await app.get('/api/v1/metrics/dashboard');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const html = res.body;
      assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(html));
      // nothing loaded from elsewhere: uPlot from the monitoring routes (versioned URLs), and the empty
      // data: icon keeps browsers from asking the app for /favicon.ico
      const resources = [...html.matchAll(/\b(?:src|href)="([^"]*)"/gi)].map((m) => m[1]!);
      assert.equal(resources.length, 3);
      assert.equal(resources[0], 'data:,');
      assert.match(resources[1]!, /^\/api\/v1\/metrics\/dashboard\/uplot\.css\?v=[0-9a-f]{12}$/);
      assert.match(resources[2]!, /^\/api\/v1\/metrics\/dashboard\/uplot\.js\?v=[0-9a-f]{12}$/);
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
      assert.equal(scripts.length, 1);
      assert.equal(styles.length, 1);
      const csp = res.headers.get('content-security-policy')!;
      assert.ok(csp.includes(`script-src 'self' ${sha(scripts[0]!)}`), csp);
      assert.ok(csp.includes(`style-src 'self' ${sha(styles[0]!)}`), csp);
      assert.ok(csp.includes("default-src 'none'") && csp.includes("connect-src 'self'"));
      const config = JSON.parse(/<script id="autom8-config" type="application\/json">(.*?)<\/script>/.exec(html)![1]!);
      const { uplotJs, uplotCss, ...rest } = config;
      assert.deepEqual(rest, {
        prefix: '/api/v1',
        pollMs: 1500,
        title: 'Shop <prod>',
        slo: true,
        traceUrl: 'https://jaeger.example/trace/{traceId}',
        intervalMs: 10_000,
      });
      assert.deepEqual([uplotCss, uplotJs], resources.slice(1));
      assert.ok(html.includes('<title>Shop &#60;prod&#62;</title>'), 'title escaped');
    });

    test('serves uPlot from the package, cacheable for good under its versioned URL', async () => {
      for (const [path, type, file] of [
        ['/api/v1/metrics/dashboard/uplot.js', 'text/javascript; charset=utf-8', 'uplot/dist/uPlot.iife.min.js'],
        ['/api/v1/metrics/dashboard/uplot.css', 'text/css; charset=utf-8', 'uplot/dist/uPlot.min.css'],
      ] as const) {
        const res = await app.get(`${path}?v=x`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), type);
        assert.equal(res.headers.get('cache-control'), 'private, max-age=31536000, immutable');
        assert.equal(res.body, readFileSync(require.resolve(file), 'utf8'));
      }
    });

    test('HEAD answers without a body; other methods get 405; the page is not counted as traffic', async () => {
      const head = await fetch(`${app.base}/api/v1/metrics/dashboard`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal((await head.text()).length, 0);
      const post = await fetch(`${app.base}/api/v1/metrics/dashboard`, { method: 'POST' });
      assert.equal(post.status, 405);
      await post.text();
      const m = JSON.parse((await app.get('/api/v1/metrics')).body);
      assert.equal(m.totals.total.count, 0);
    });

    test('off unless enabled: the path falls through to the app', async () => {
      const res = await off.get('/api/v1/metrics/dashboard');
      assert.equal(res.status, 404);
    });
  });
}

describe('dashboard options', () => {
  test('invalid options throw naming the option', () => {
    const bad = (opts: unknown, option: string) =>
      assert.throws(
        () => createEngine(opts as never),
        (e: unknown) => e instanceof InvalidOptionError && e.option === option,
      );
    bad({ dashboard: { pollMs: 0 } }, 'dashboard.pollMs');
    bad({ dashboard: { colour: 'red' } }, 'dashboard.colour');
    bad({ dashboard: 'yes' }, 'dashboard');
    bad({ dashboard: true, monitoring: { enabled: false } }, 'dashboard');
    for (const traceUrl of [
      42,
      'https://jaeger.example/trace/',
      'ftp://x.example/{traceId}',
      'javascript:alert({traceId})',
      '/trace/{traceId}',
      'not a url {traceId}',
    ])
      bad({ dashboard: { traceUrl } }, 'dashboard.traceUrl');
    for (const historyPoints of [0, 1.5, 8641, '360']) bad({ dashboard: { historyPoints } }, 'dashboard.historyPoints');
  });
  test('dashboard: { enabled: false } serves nothing', async () => {
    const engine = createEngine({ dashboard: { enabled: false } });
    try {
      assert.equal(engine.monitoring.has('/api/v1/metrics/dashboard'), false);
    } finally {
      await engine.close();
    }
  });
});
