import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { runCli } from './fixtures/cli.js';
import { startQueueServer, type QueueServer } from './fixtures/queue-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const dir = mkdtempSync(join(tmpdir(), 'autom8-html-'));
let server: QueueServer;
before(async () => {
  server = await startQueueServer(5, 20);
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Missing Chromium fails (it never skips): `npm test` installs it when it can (scripts/ensure-system-deps.sh).
test('the --html report renders its latency chart offline in headless Chromium', async () => {
  assert.ok(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const file = join(dir, 'report.html');
  const r = await runCli([
    'load',
    `${server.url}/users/:id`,
    '--ids-from',
    '/users',
    '--rate',
    '20..60',
    '--steps',
    '3',
    '--duration',
    '400ms',
    '--slo',
    'p99<2s',
    '--html',
    file,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /HTML report: /);
  const html = readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'nothing to fetch');

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(file).href);
    assert.deepEqual(
      requested.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      [],
      'no network request',
    );
    assert.deepEqual(errors, []);

    const chart = page.locator('svg#latency-chart');
    const box = await chart.boundingBox();
    assert.ok(box !== null && box.width >= 600 && box.height >= 300, `chart box ${JSON.stringify(box)}`);
    const geometry = await page.evaluate(() => {
      const svg = document.querySelector('svg#latency-chart') as SVGSVGElement;
      const vb = svg.viewBox.baseVal;
      return [...svg.querySelectorAll('g.series')].map((g) => {
        const line = g.querySelector('polyline') as SVGPolylineElement;
        const b = line.getBBox();
        return {
          series: g.getAttribute('data-series'),
          points: line.points.numberOfItems,
          length: line.getTotalLength(),
          inside: b.x >= vb.x && b.y >= vb.y && b.x + b.width <= vb.x + vb.width && b.y + b.height <= vb.y + vb.height,
          dots: g.querySelectorAll('circle').length,
          stroke: getComputedStyle(line).stroke,
        };
      });
    });
    assert.deepEqual(
      geometry.map((g) => g.series),
      ['p50', 'p95', 'p99', 'max'],
    );
    for (const g of geometry) {
      assert.equal(g.points, 3, `${g.series}: one point per step`);
      assert.equal(g.dots, 3);
      assert.ok(g.length > 100, `${g.series} line drawn (${g.length}px)`);
      assert.ok(g.inside, `${g.series} inside the chart`);
      assert.notEqual(g.stroke, 'none');
    }
    assert.equal(await page.locator('svg#latency-chart g.slo line').count(), 1, 'the SLO line');
    assert.match((await page.locator('svg#latency-chart g.knee text').textContent()) ?? '', /knee 60/);
    assert.equal(await page.locator('table#steps tbody tr').count(), 3);
    assert.match((await page.locator('.verdict').textContent()) ?? '', /Knee: 60 req\/s offered/);
    // The embedded data is the JSON report.
    const data = JSON.parse((await page.locator('#autom8-data').textContent())!) as { steps: unknown[] };
    assert.equal(data.steps.length, 3);
  } finally {
    await browser.close();
  }
});
