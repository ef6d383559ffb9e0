// The live dashboard in a real browser: Debian's headless Chromium (driven by playwright-core)
// loads /api/v1/metrics/dashboard from a running Express 5 and Koa 3 app with traffic and every
// feature on, behind monitoring.authorize. The collection interval is 100 ms so that the server
// holds ≥ 30 points of history before the page opens: a fresh page must show them at once.
// Screenshots at 390 and 1400 px are kept under test-artifacts/ (and a temp dir) for a human look.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createCircuitBreaker, type Autom8Controls, type Autom8Options } from '@autom8/core';
import { engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const SHOTS = mkdtempSync(join(tmpdir(), 'autom8-dashboard-'));
// Missing Chromium fails (it never skips): `npm test` installs it when it can (scripts/ensure-system-deps.sh).
const missingChromium = existsSync(CHROMIUM) ? undefined : `chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUTES = ['GET /users/:id', 'GET /slow', 'GET /api/items/:itemId', 'POST /orders', 'GET /catalog', 'POST /login'];
const USER = 'ops';
const PASSWORD = 's3cret';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const TRACE_URL = 'https://traces.example/trace/{traceId}';

function options(): Autom8Options {
  const exporter = new InMemorySpanExporter();
  return {
    name: 'dashboard-e2e',
    metrics: {
      systemIntervalMs: 200,
      // 100 ms collection interval: 30 points of history in 3 s.
      windows: [
        { name: '10s', intervalMs: 100, slots: 100 },
        { name: '1m', intervalMs: 1000, slots: 60 },
      ],
    },
    telemetry: { tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) },
    monitoring: {
      authorize: (r) => r.headers.authorization === BASIC,
      challenge: 'Basic realm="autom8"',
      rateLimit: { perSecond: 200, burst: 200 },
    },
    dashboard: { title: 'autom8 e2e', traceUrl: TRACE_URL, historyPoints: 600 },
    rateLimit: { routes: { 'POST /login': { name: 'login', rate: 5, per: 'minute' } } },
    // On defaults: this test's browser driver runs in the server's process and lags its loop, which
    // once armed stale shedding and shed the logins (issue #24, shed-stale.test.ts).
    shed: true,
    cache: { routes: { 'GET /catalog': { ttl: 60_000 } } },
    slowLog: { thresholdMs: 25, logger: { info() {}, warn() {}, error() {} } },
    slo: {
      objectives: [
        { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 }, window: '1m' },
        { name: 'orders-errors', route: 'POST /orders', errorRate: 0.01, window: '1m', minEvents: 5 },
      ],
    },
  };
}

type Built = { server: Server; engine: Autom8; mw: Autom8Controls };

function expressApp(): Built {
  const express = require('express');
  const app = express();
  const mw = autom8Express(options());
  app.use(mw);
  app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
  app.get('/catalog', (_req: any, res: any) => res.set('cache-control', 'public, max-age=60').json({ items: [1, 2, 3] }));
  app.get('/slow', async (_req: any, res: any) => {
    await sleep(30);
    res.json({ slow: true });
  });
  app.post('/orders', (_req: any, res: any) => res.status(Math.random() < 0.2 ? 500 : 201).json({}));
  app.post('/login', (_req: any, res: any) => res.status(204).end());
  const api = express.Router();
  api.get('/items/:itemId', (req: any, res: any) => res.json({ item: req.params.itemId }));
  app.use('/api', api);
  return { server: http.createServer(app), engine: engineOf(mw)!, mw };
}

function koaApp(): Built {
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  const mw = autom8Koa(options());
  app.use(mw);
  const router = new Router();
  router.get('/users/:id', (ctx: any) => (ctx.body = { id: ctx.params.id }));
  router.get('/catalog', (ctx: any) => {
    ctx.set('cache-control', 'public, max-age=60');
    ctx.body = { items: [1, 2, 3] };
  });
  router.get('/slow', async (ctx: any) => {
    await sleep(30);
    ctx.body = { slow: true };
  });
  router.post('/orders', (ctx: any) => {
    ctx.status = Math.random() < 0.2 ? 500 : 201;
    ctx.body = {};
  });
  router.post('/login', (ctx: any) => (ctx.status = 204));
  const api = new Router({ prefix: '/api' });
  api.get('/items/:itemId', (ctx: any) => (ctx.body = { item: ctx.params.itemId }));
  app.use(router.routes());
  app.use(api.routes());
  return { server: http.createServer(app.callback()), engine: engineOf(mw)!, mw };
}

for (const [name, build] of [
  ['express5', expressApp],
  ['koa3', koaApp],
] as const) {
  describe(`dashboard in headless Chromium (${name})`, () => {
    let server: Server;
    let engine: Autom8;
    let base: string;
    let browser: import('playwright-core').Browser;
    let traffic = true;
    let trafficDone: Promise<void>;

    before(async () => {
      if (missingChromium !== undefined) throw new Error(missingChromium);
      let mw: Autom8Controls;
      ({ server, engine, mw } = build());
      base = await listen(server);
      const breaker = createCircuitBreaker('payments', { engine: mw, minCalls: 5, errorRate: 0.5, halfOpenAfter: 500, window: 2000 });
      // A modest, steady load (a few requests every 40 ms), a login storm that gets limited, and a
      // downstream that fails for a while so the breaker opens.
      trafficDone = (async () => {
        let i = 0;
        while (traffic) {
          await Promise.all([
            fetch(`${base}/users/${i}`).then((r) => r.text()),
            fetch(`${base}/api/items/${i % 7}`).then((r) => r.text()),
            fetch(`${base}/slow`).then((r) => r.text()),
            fetch(`${base}/catalog`).then((r) => r.text()),
            fetch(`${base}/orders`, { method: 'POST' }).then((r) => r.text()),
            i % 3 === 0 ? fetch(`${base}/login`, { method: 'POST' }).then((r) => r.text()) : undefined,
            breaker
              .fire(() => {
                if (i % 60 < 20) throw new Error('downstream down');
              })
              .catch(() => undefined),
          ]);
          i++;
          await sleep(40);
        }
      })();
      // Enough server history before any page exists.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await fetch(`${base}/api/v1/metrics/history`, { headers: { authorization: BASIC } });
        assert.equal(r.status, 200);
        const h = (await r.json()) as { t: number[] };
        if (h.t.length >= 40) break;
        if (Date.now() > deadline) throw new Error(`only ${h.t.length} history points after 20 s`);
        await sleep(200);
      }
      const { chromium } = require('playwright-core') as typeof import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    });
    after(async () => {
      traffic = false;
      await trafficDone;
      await browser?.close();
      await close(server);
      await engine.close();
    });

    test('without credentials the page and its data are refused', async () => {
      for (const path of ['/api/v1/metrics/dashboard', '/api/v1/metrics/history', '/api/v1/metrics/dashboard/uplot.js']) {
        const r = await fetch(base + path);
        assert.equal(r.status, 401, path);
        await r.text();
      }
    });

    for (const [width, colorScheme] of [
      [390, 'light'],
      [1400, 'light'],
      [1920, 'dark'],
    ] as const) {
      test(`at ${width} px (${colorScheme}): routes table, charts from server history, no overflow, nothing leaves the origin`, async () => {
        const context = await browser.newContext({ viewport: { width, height: 1000 }, colorScheme, httpCredentials: { username: USER, password: PASSWORD } });
        const page = await context.newPage();
        const errors: string[] = [];
        const foreign: string[] = [];
        const origin = new URL(base).origin;
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('request', (r) => {
          const u = r.url();
          if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
        });
        const res = await page.goto(`${base}/api/v1/metrics/dashboard?poll=300`);
        assert.equal(res?.status(), 200);
        // The first poll already brings the server's history: ≥ 30 points on a page just opened.
        await page.waitForFunction(() => Number(document.body.getAttribute('data-polls')) >= 1, undefined, { timeout: 15_000 });
        assert.ok(Number(await page.locator('body').getAttribute('data-history-points')) >= 30, 'history on first load');
        await page.waitForFunction(() => Number(document.body.getAttribute('data-polls')) >= 3, undefined, { timeout: 15_000 });

        // The theme follows prefers-color-scheme.
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const lightness = (bg.match(/\d+/g) ?? []).slice(0, 3).reduce((a, b) => a + Number(b), 0) / 3;
        assert.ok(colorScheme === 'dark' ? lightness < 60 : lightness > 200, `${colorScheme} background ${bg}`);

        // Routes first: one row per route, each with a sparkline of the server history.
        const rows = page.locator('#routes tbody tr.route');
        const keys = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-route')));
        for (const route of ROUTES) assert.ok(keys.includes(route), `row for ${route} in ${keys.join(', ')}`);
        for (const route of ROUTES) {
          const spark = page.locator(`#routes tr[data-route="${route}"] svg.spark`);
          assert.ok(Number(await spark.getAttribute('data-points')) >= 30, `${route} sparkline`);
        }
        const sloCell = await page.locator('#routes tr[data-route="POST /orders"] td.slo').textContent();
        assert.match(sloCell ?? '', /ok|breached|no data/);

        // Sorting by p99: descending, then ascending on a second click (read off the cells; the
        // figures move between polls, so both are read in one go).
        const p99s = () => page.locator('#routes tbody td.c-p99').evaluateAll((tds) => tds.map((td) => Number((td.textContent ?? '').replace(/[^\d.]/g, ''))));
        const sorted = (a: number[], dir: number) => a.every((v, i) => i === 0 || dir * (v - a[i - 1]!) >= 0);
        await page.locator('#routes th[data-sort="p99"] button').click();
        assert.equal(await page.locator('#routes th[data-sort="p99"]').getAttribute('aria-sort'), 'descending');
        const down = await p99s();
        assert.ok(sorted(down, -1), `descending: ${down.join(', ')}`);
        await page.locator('#routes th[data-sort="p99"] button').click();
        assert.equal(await page.locator('#routes th[data-sort="p99"]').getAttribute('aria-sort'), 'ascending');
        const up = await p99s();
        assert.ok(sorted(up, 1), `ascending: ${up.join(', ')}`);

        // Every chart drawn by uPlot, with ≥ 30 points of history.
        await page.waitForSelector('#f-ratelimit .chart canvas');
        const charts = await page.locator('.chart[data-points]').evaluateAll((els) =>
          els.map((e) => ({
            id: e.id || e.getAttribute('data-name'),
            points: Number(e.getAttribute('data-points')),
            canvas: e.querySelector('canvas')?.width ?? 0,
          })),
        );
        const names = charts.map((c) => c.id);
        for (const want of ['traffic-chart', 'ratelimit', 'load', 'ratio', 'size', 'state', 'burn', 'cpu'])
          assert.ok(names.includes(want), `chart ${want} in ${names.join(', ')}`);
        for (const c of charts) {
          assert.ok(c.points >= 30, `${c.id}: ${c.points} points`);
          assert.ok(c.canvas > 0, `${c.id} drawn`);
        }
        // Feature summaries in words.
        assert.match((await page.locator('#f-ratelimit .summary').textContent()) ?? '', /login \(5 per 60 s, (POST )?\/login\): [1-9][\d,]* of [\d,]+ limited/);
        assert.match((await page.locator('#f-cache .summary').textContent()) ?? '', /hit ratio [\d.]+ %/);
        assert.match((await page.locator('#f-shed .summary').textContent()) ?? '', /load [\d.]+ \(soft [\d.]+, hard [\d.]+/);
        assert.match((await page.locator('#f-breakers .summary').textContent()) ?? '', /payments: (closed|open|half-open)/);
        assert.equal(await page.locator('#f-slo tr.slo').count(), 2);
        // The raw counters only behind the details toggle.
        assert.equal(await page.locator('#raw-table').isVisible(), false);
        await page.locator('#raw summary').click();
        await page.waitForSelector('#raw-table tr'); // filled on the toggle event, a task later
        assert.match((await page.locator('#raw-table').textContent()) ?? '', /rateLimit\.limiters\.login\.limited/);
        await page.locator('#raw summary').click();

        // Route detail: percentiles, rate and status classes over time; slowest requests link to traces.
        await page.locator('#routes tr[data-route="GET /slow"]').click();
        await page.waitForSelector('#d-latency canvas');
        await page.waitForSelector('#d-slowest tr.exemplar');
        assert.ok(Number(await page.locator('#d-latency').getAttribute('data-points')) >= 30);
        assert.ok(Number(await page.locator('#d-status').getAttribute('data-points')) >= 30);
        const link = await page.locator('#d-slowest tr.exemplar a').first().getAttribute('href');
        assert.match(link ?? '', /^https:\/\/traces\.example\/trace\/[0-9a-f]{32}$/);
        assert.ok(Number(/([\d.]+) ms/.exec((await page.locator('#d-slowest tr.exemplar td').first().textContent()) ?? '')?.[1]) >= 25);

        // No horizontal overflow at this width.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        const wide = await page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
            .slice(0, 5)
            .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
        );
        assert.ok(overflow <= 0, `horizontal overflow of ${overflow} px at ${width} px: ${wide.join(', ')}`);
        assert.deepEqual(errors, [], 'no script error, no CSP violation');
        assert.deepEqual(foreign, [], 'no request leaves the origin');

        mkdirSync(ARTIFACTS, { recursive: true });
        await page.locator('#detail-close').click();
        for (const dir of [SHOTS, ARTIFACTS]) await page.screenshot({ path: join(dir, `dashboard-${name}-${width}.png`), fullPage: true });
        await page.locator('#routes tr[data-route="GET /slow"]').click();
        await page.waitForSelector('#d-slowest tr.exemplar');
        await page.locator('#detail').screenshot({ path: join(SHOTS, `dashboard-${name}-${width}-detail.png`) });
        const size = statSync(join(SHOTS, `dashboard-${name}-${width}.png`)).size;
        assert.ok(size > 10_000, `screenshot size ${size}`);
        console.log(`# screenshot ${join(SHOTS, `dashboard-${name}-${width}.png`)} ${size} bytes (${colorScheme})`);
        await context.close();
      });
    }
  });
}

describe('dashboard in headless Chromium: a fresh app with nothing else on', () => {
  test('no traffic, no features: an empty routes table and no error', async () => {
    if (missingChromium !== undefined) throw new Error(missingChromium);
    const express = require('express');
    const app = express();
    const mw = autom8Express({ dashboard: true });
    app.use(mw);
    const server = http.createServer(app);
    const base = await listen(server);
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${base}/api/v1/metrics/dashboard?poll=250`);
      await page.waitForFunction(() => Number(document.body.getAttribute('data-polls')) >= 3, undefined, { timeout: 15_000 });
      assert.equal(await page.locator('#routes tbody tr').count(), 0);
      assert.equal(await page.locator('#routes-note').textContent(), '0 routes');
      assert.ok(await page.locator('#traffic-chart canvas').isVisible());
      for (const id of ['f-ratelimit', 'f-shed', 'f-cache', 'f-breakers', 'f-slo']) assert.equal(await page.locator(`#${id}`).count(), 0, id);
      assert.match((await page.locator('#f-system .summary').textContent()) ?? '', /CPU [\d.]+ %/);
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 0);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await close(server);
      await mw.close();
    }
  });
});
