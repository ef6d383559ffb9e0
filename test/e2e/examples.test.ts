// The examples, as a user runs them: the built server in its own process, real traffic, then the
// monitoring endpoints (the README's "curl /api/v1/metrics after some traffic").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../support/redis-server';

const root = join(__dirname, '..', '..');

async function startExample(name: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'examples', name, 'dist', 'server.js')], {
    env: { ...process.env, PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_CONSOLE: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('example on') && resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

for (const name of ['express-app', 'koa-app']) {
  describe(`examples/${name}`, () => {
    test('serves its API and per-route figures on /api/v1/metrics', async () => {
      const app = await startExample(name);
      try {
        for (let i = 1; i <= 20; i++) assert.equal((await fetch(`${app.base}/users/${i}`)).status, 200);
        assert.equal((await fetch(`${app.base}/users/9999`)).status, 404);
        assert.equal((await fetch(`${app.base}/slow`)).status, 200);
        assert.equal((await fetch(`${app.base}/health`)).status, 200);
        const m: any = await (await fetch(`${app.base}/api/v1/metrics`)).json();
        const users = m.routes['GET /users/:id'];
        assert.equal(users.total.count, 21);
        assert.equal(users.total.status['2xx'], 20);
        assert.equal(users.total.status['4xx'], 1);
        assert.ok(users.windows['1m'].p99Ms > 0);
        assert.ok(m.routes['GET /slow'].windows['1m'].p50Ms >= 100);
        const sys: any = await (await fetch(`${app.base}/api/v1/metrics/system`)).json();
        assert.ok(sys.memory.rssBytes > 0);
      } finally {
        await app.stop();
      }
    });

    test('runs the whole suite: rate-limit headers, the login limit, cache hits, dashboard', async () => {
      const app = await startExample(name);
      try {
        const first = await fetch(`${app.base}/users`);
        assert.match(first.headers.get('ratelimit-policy') ?? '', /q=5000/);
        assert.equal(first.headers.get('x-cache'), 'MISS');
        await first.text();
        const second = await fetch(`${app.base}/users`);
        assert.equal(second.headers.get('x-cache'), 'HIT');
        await second.text();
        const logins = [];
        for (let i = 0; i < 6; i++) logins.push((await fetch(`${app.base}/login`, { method: 'POST' })).status);
        assert.deepEqual(logins, [204, 204, 204, 204, 204, 429]);
        const health = await fetch(`${app.base}/health`);
        assert.equal(health.headers.get('ratelimit-policy'), null, 'exempt routes carry no limit headers');
        const dash = await fetch(`${app.base}/api/v1/metrics/dashboard`);
        assert.equal(dash.status, 200);
        assert.match(dash.headers.get('content-type') ?? '', /text\/html/);
        const m: any = await (await fetch(`${app.base}/api/v1/metrics`)).json();
        for (const f of ['rateLimit', 'shed', 'cache', 'slo']) assert.ok(f in m.features, `features.${f}`);
      } finally {
        await app.stop();
      }
    });
  });
}
