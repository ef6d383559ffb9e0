/**
 * The packages as a user gets them from the registry: every publishable workspace is packed with
 * `npm pack`, installed from its tarball into a fresh app outside the monorepo, and each package
 * README's quick start runs there as written: ESM (Express), CommonJS (Koa), the core and toolkit
 * examples, `npx autom8 --help`, and all of it type-checked by `tsc` (strict, node16) as ESM and CJS.
 * Needs the build (`npx tsc -b`) and the npm registry or its cache; no Redis.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  PACKAGES,
  ROOT,
  codeBlocks,
  devRange,
  freePort,
  freshApp,
  mustRun,
  packAll,
  pathWithThisNode,
  run,
  userEnv,
  type PackageDir,
  type PackedFile,
} from '../support/fresh-app.js';

/** The README's runnable blocks: ```js (ES module, or CommonJS when it calls require) and ```ts. */
function quickStarts(dir: PackageDir): { lang: string; code: string }[] {
  const blocks = codeBlocks(readFileSync(join(ROOT, 'packages', dir, 'README.md'), 'utf8'));
  return blocks.filter((b) => b.lang === 'js' || b.lang === 'ts');
}
const isCommonJs = (code: string) => /\brequire\(/.test(code);

let packed: PackedFile[] = [];
let app = '';
const servers: ChildProcess[] = [];

/** Starts a README server quick start on a free port; resolves with its base URL once it answers. */
async function startServer(file: string): Promise<{ url: string; output: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [file], { cwd: app, env: userEnv({ PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${file} exited ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${url}/health`);
      return { url, output: () => output };
    } catch {
      if (Date.now() > deadline) throw new Error(`${file} never answered on ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * What the quick start turns on, each seen working: the cached route answers MISS then HIT, the
 * rate limit's headers are on it, the monitoring endpoint reports both requests by template, and
 * shedding is on (in the feature snapshots).
 */
async function assertServesMetrics(url: string): Promise<void> {
  const user = await fetch(`${url}/users/42`);
  assert.equal(user.status, 200);
  assert.deepEqual(await user.json(), { id: '42' });
  assert.equal(user.headers.get('x-cache'), 'MISS');
  assert.match(user.headers.get('ratelimit') ?? '', /;r=\d+/);
  const again = await fetch(`${url}/users/42`);
  assert.deepEqual(await again.json(), { id: '42' });
  assert.equal(again.headers.get('x-cache'), 'HIT');
  const metrics = await fetch(`${url}/api/v1/metrics`);
  assert.equal(metrics.status, 200);
  const body = (await metrics.json()) as { routes: Record<string, { total: { count: number } }>; features?: Record<string, unknown> };
  const route = body.routes['GET /users/:id'];
  assert.ok(route, `GET /users/:id missing from ${Object.keys(body.routes).join(', ')}`);
  assert.equal(route.total.count, 2);
  for (const f of ['rateLimit', 'shed', 'cache'])
    assert.ok(body.features?.[f], `${f} missing from /metrics features: ${Object.keys(body.features ?? {}).join(', ')}`);
  const system = await fetch(`${url}/api/v1/metrics/system`);
  assert.equal(system.status, 200);
}

describe('packages installed from their npm pack tarballs into a fresh app', { timeout: 240_000 }, () => {
  before(async () => {
    const t0 = Date.now();
    packed = await packAll();
    const t1 = Date.now();
    const deps = ['express', 'koa', '@koa/router', 'ioredis', '@types/express', '@types/koa', '@types/node'].map(devRange);
    app = await freshApp(
      packed.map((p) => p.tarball),
      deps,
    );
    console.log(`# npm pack ${t1 - t0} ms, npm install ${Date.now() - t1} ms, app in ${app}`);
  });

  after(() => {
    for (const s of servers) s.kill('SIGKILL');
    for (const dir of [app, ...new Set(packed.map((p) => dirname(p.tarball)))]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each tarball carries README, LICENSE and the build, and no build cache', () => {
    assert.deepEqual(
      packed.map((p) => p.name),
      PACKAGES.map((p) => `@autom8/${p}`),
    );
    for (const p of packed) {
      for (const f of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
        assert.ok(p.files.includes(f), `${p.name} lacks ${f}`);
      }
      const stray = p.files.filter((f) => f.endsWith('.tsbuildinfo') || f.startsWith('test/') || f.includes('.test.'));
      assert.deepEqual(stray, [], `${p.name} ships ${stray.join(', ')}`);
    }
  });

  test('installed from the tarballs (not linked), internal dependencies as ranges', () => {
    for (const dir of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@autom8', dir, 'package.json'), 'utf8'));
      const core = manifest.dependencies?.['@autom8/core'];
      if (dir !== 'core') assert.match(core, /^\^\d+\.\d+\.\d+$/, `${manifest.name} depends on @autom8/core ${core}`);
    }
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    for (const dir of PACKAGES) {
      const entry = lock.packages[`node_modules/@autom8/${dir}`];
      assert.ok(entry && !entry.link && /\.tgz$/.test(entry.resolved), `@autom8/${dir} resolved to ${JSON.stringify(entry)}`);
    }
  });

  test('ESM: the @autom8/express quick start serves and reports its route', async () => {
    const [block] = quickStarts('express');
    assert.ok(block && !isCommonJs(block.code));
    writeFileSync(join(app, 'express-quickstart.mjs'), block.code);
    const { url } = await startServer('express-quickstart.mjs');
    await assertServesMetrics(url);
  });

  test('CommonJS: the @autom8/koa quick start serves and reports its route', async () => {
    const [block] = quickStarts('koa');
    assert.ok(block && isCommonJs(block.code));
    writeFileSync(join(app, 'koa-quickstart.cjs'), block.code);
    const { url } = await startServer('koa-quickstart.cjs');
    await assertServesMetrics(url);
  });

  test('ESM: the @autom8/core and @autom8/toolkit quick starts run and exit', async () => {
    const expected: Partial<Record<PackageDir, RegExp>> = { core: /^db\.query \d+(\.\d+)? ms$/m, toolkit: /^JSON\.stringify: \d+ ops\/s/m };
    for (const [dir, pattern] of Object.entries(expected)) {
      const [block] = quickStarts(dir as PackageDir);
      writeFileSync(join(app, `${dir}-quickstart.mjs`), block!.code);
      const r = await run(process.execPath, [`${dir}-quickstart.mjs`], { cwd: app, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
      assert.match(r.stdout, pattern);
    }
  });

  test("the dashboard serves its chart library from the installed @autom8/core's dependencies", async () => {
    writeFileSync(
      join(app, 'dashboard-assets.mjs'),
      `import http from 'node:http';
import { createAutom8 } from '@autom8/core';
const engine = createAutom8({ dashboard: true });
const server = http.createServer(engine.monitoringHandler()).listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port + '/api/v1/metrics';
  const page = await (await fetch(base + '/dashboard')).text();
  const src = /<script src="([^"]+)"/.exec(page)[1];
  const js = await fetch('http://127.0.0.1:' + server.address().port + src);
  const history = await fetch(base + '/history');
  console.log(js.status, js.headers.get('content-type'), (await js.text()).length, history.status);
  server.close();
  await engine.close();
});
`,
    );
    const r = await run(process.execPath, ['dashboard-assets.mjs'], { cwd: app, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^200 text\/javascript; charset=utf-8 \d{5,} 200$/m);
  });

  test('the toolkit CLI runs from the tarball: npx autom8 --help', async () => {
    const r = await run('npx', ['--no-install', 'autom8', '--help'], { cwd: app, env: userEnv({ PATH: pathWithThisNode() }) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: autom8 <command>/m);
  });

  test('TypeScript: every README example and both module systems type-check (strict, node16)', async () => {
    const files: string[] = [];
    for (const dir of PACKAGES) {
      quickStarts(dir).forEach((b, i) => {
        if (isCommonJs(b.code)) return; // require() is untyped in .ts; the CJS check below covers CommonJS
        const file = `readme-${dir}-${i}.mts`;
        writeFileSync(join(app, file), b.code);
        files.push(file);
      });
    }
    // Named imports of the CJS build from ESM, and require() from CJS; a wrong option must not
    // type-check (an unused @ts-expect-error fails), so the types are real, not `any`.
    writeFileSync(
      join(app, 'imports.mts'),
      `import express from 'express';
import Koa from 'koa';
import { createAutom8, InvalidOptionError, type Autom8Options } from '@autom8/core';
import { autom8Express, type Autom8ExpressMiddleware } from '@autom8/express';
import { autom8Koa, type Autom8KoaMiddleware } from '@autom8/koa';
import { RedisRateLimitStore, RedisCacheStore } from '@autom8/redis';
import { bench, batchProcess } from '@autom8/toolkit';
import { attachControls, createEngine } from '@autom8/core/adapter';
import { OutageGuard } from '@autom8/core/store';
const options: Autom8Options = { exempt: ['/health'], metrics: { maxSeries: 50 } };
const e: Autom8ExpressMiddleware = autom8Express(options);
const k: Autom8KoaMiddleware = autom8Koa(options);
express().use(e);
new Koa().use(k);
// @ts-expect-error maxSeries is a number
autom8Express({ metrics: { maxSeries: 'many' } });
// The runtime controls are typed; the engine is not on the public object.
export const controls = [e.cache.invalidate({ tag: 'user:1' }), k.metrics().routes, e.close];
// @ts-expect-error no engine on the middleware
export const engine = e.engine;
export const all = [createAutom8, InvalidOptionError, RedisRateLimitStore, RedisCacheStore, bench, batchProcess, attachControls, createEngine, OutageGuard];
`,
    );
    writeFileSync(
      join(app, 'imports.cts'),
      `import express = require('express');
import core = require('@autom8/core');
import { autom8Express } from '@autom8/express';
import { autom8Koa } from '@autom8/koa';
import { RedisRateLimitStore } from '@autom8/redis';
import { bench } from '@autom8/toolkit';
express().use(autom8Express({ exempt: ['/health'] }));
// @ts-expect-error exempt is a list
autom8Koa({ exempt: 5 });
export const all = [core.createAutom8, RedisRateLimitStore, bench];
`,
    );
    files.push('imports.mts', 'imports.cts');
    const tsconfig = {
      compilerOptions: {
        strict: true,
        module: 'node16',
        moduleResolution: 'node16',
        target: 'es2022',
        types: ['node'],
        esModuleInterop: true,
        noEmit: true,
        // As \`tsc --init\` sets it: third-party typings disagree among themselves across versions
        // (@types/koa against content-disposition's own); the @ts-expect-error lines show ours are read.
        skipLibCheck: true,
      },
      files,
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await mustRun(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, timeoutMs: 90_000 });
  });
});
