// The live dashboard in a real browser: Debian's headless Chromium (driven by playwright-core)
// loads /api/v1/metrics/dashboard from a running Express 5 and Koa 3 app with traffic, and the
// charts must render data points for every route of the app. The screenshot is kept under
// test-artifacts/ for a human look.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Autom8Options } from '@autom8/core';
import { engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { close, listen } from '../support/http';

const require = createRequire(__filename);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
// Missing Chromium fails (it never skips): `npm test` installs it when it can (scripts/ensure-system-deps.sh).
const missingChromium = existsSync(CHROMIUM) ? undefined : `chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUTES = ['GET /users/:id', 'GET /slow', 'GET /api/items/:itemId', 'POST /orders'];

const OPTIONS: Autom8Options = {
  name: 'dashboard-e2e',
  metrics: { systemIntervalMs: 500 },
  dashboard: { title: 'autom8 e2e' },
  rateLimit: true,
  slowLog: { thresholdMs: 25, logger: { info() {}, warn() {}, error() {} } },
  slo: {
    objectives: [
      { name: 'api-latency', latency: { percentile: 95, thresholdMs: 150 }, window: '1m' },
      { name: 'orders-errors', route: 'POST /orders', errorRate: 0.01, window: '1m', minEvents: 5 },
    ],
  },
};

function expressApp(): { server: Server; engine: Autom8 } {
  const express = require('express');
  const app = express();
  const mw = autom8Express(OPTIONS);
  app.use(mw);
  app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
  app.get('/slow', async (_req: any, res: any) => {
    await sleep(30);
    res.json({ slow: true });
  });
  app.post('/orders', (_req: any, res: any) => res.status(Math.random() < 0.2 ? 500 : 201).json({}));
  const api = express.Router();
  api.get('/items/:itemId', (req: any, res: any) => res.json({ item: req.params.itemId }));
  app.use('/api', api);
  return { server: http.createServer(app), engine: engineOf(mw)! };
}

function koaApp(): { server: Server; engine: Autom8 } {
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  const mw = autom8Koa(OPTIONS);
  app.use(mw);
  const router = new Router();
  router.get('/users/:id', (ctx: any) => (ctx.body = { id: ctx.params.id }));
  router.get('/slow', async (ctx: any) => {
    await sleep(30);
    ctx.body = { slow: true };
  });
  router.post('/orders', (ctx: any) => {
    ctx.status = Math.random() < 0.2 ? 500 : 201;
    ctx.body = {};
  });
  const api = new Router({ prefix: '/api' });
  api.get('/items/:itemId', (ctx: any) => (ctx.body = { item: ctx.params.itemId }));
  app.use(router.routes());
  app.use(api.routes());
  return { server: http.createServer(app.callback()), engine: engineOf(mw)! };
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
      ({ server, engine } = build());
      base = await listen(server);
      // A modest, steady load (a few requests every 40 ms) while the page polls.
      trafficDone = (async () => {
        let i = 0;
        while (traffic) {
          await Promise.all([
            fetch(`${base}/users/${i}`).then((r) => r.text()),
            fetch(`${base}/api/items/${i % 7}`).then((r) => r.text()),
            fetch(`${base}/slow`).then((r) => r.text()),
            fetch(`${base}/orders`, { method: 'POST' }).then((r) => r.text()),
          ]);
          i++;
          await sleep(40);
        }
      })();
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

    test('charts render data points for every route, plus SLO, system and feature tables', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const res = await page.goto(`${base}/api/v1/metrics/dashboard?poll=300`);
      assert.equal(res?.status(), 200);
      // at least 4 polls, so every chart has several points
      await page.waitForFunction(() => Number(document.body.getAttribute('data-polls')) >= 4, undefined, { timeout: 30_000 });
      for (const route of ROUTES) {
        const card = page.locator(`section.route[data-route="${route}"]`);
        assert.equal(await card.count(), 1, `a card for ${route}`);
        for (const series of ['p50', 'p95', 'p99']) {
          const points = await card.locator(`svg.latency circle.pt[data-series="${series}"]`).count();
          assert.ok(points >= 3, `${route} ${series}: ${points} points`);
        }
        assert.ok((await card.locator('svg.rate circle.pt[data-series="rate"]').count()) >= 3);
        const line = await card.locator('svg.latency polyline[data-series="p99"]').getAttribute('points');
        assert.ok(line && line.split(' ').length >= 3);
        assert.match((await card.locator('p.now').textContent()) ?? '', /p95 [\d.]+ ms .* req\/s/);
      }
      // the slow route's p99 sits around its 30 ms sleep, above the fast routes
      const slowP99 = await page.locator('section.route[data-route="GET /slow"] svg.latency circle.pt[data-series="p99"] title').last().textContent();
      assert.ok(Number(/p99 ([\d.]+)/.exec(slowP99 ?? '')?.[1]) >= 25, `slow p99: ${slowP99}`);
      assert.ok((await page.locator('#totals-chart circle.pt').count()) >= 6);
      const sloRows = await page.locator('#slo tr.slo').allTextContents();
      assert.equal(sloRows.length, 2);
      assert.ok(sloRows[0]!.includes('api-latency') && sloRows[0]!.includes('p95 < 150 ms'));
      assert.ok(await page.locator('#slo-box').isVisible());
      const system = await page.locator('#system').textContent();
      assert.match(system ?? '', /CPU \(one core\)[\d.]+ %/);
      assert.match(system ?? '', /RSS[\d.]+ MiB/);
      const features = await page.locator('#features').textContent();
      assert.match(features ?? '', /slowLog\.slow\d+/);
      assert.match(features ?? '', /rateLimit\./);
      assert.equal(await page.locator('#instance').textContent(), 'dashboard-e2e');
      assert.deepEqual(errors, [], 'no script error, no CSP violation');
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
      assert.ok(existsSync(join(ARTIFACTS, `dashboard-${name}.png`)));
      await page.close();
    });
  });
}
