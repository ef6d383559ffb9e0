import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import express from 'express';
import { autom8Express } from '@autom8/express';
import { close, listen } from '../../../test/support/http.js';
import { runCli } from './fixtures/cli.js';

const TOKEN = 'cli-profile-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'autom8-cli-profile-'));
let server: Server;
let base: string;
let mw: ReturnType<typeof autom8Express>;

// The hot function of the app, which the profile must find.
function renderInvoicesHot(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 500; i++) x = (x + Math.sqrt(i + x)) % 1e6;
  return x;
}

before(async () => {
  const app = express();
  mw = autom8Express({ profiler: { token: TOKEN, maxSeconds: 5 }, logger: { info() {}, warn() {}, error() {} } });
  app.use(mw);
  app.get('/invoices', (_req, res) => {
    res.json({ x: renderInvoicesHot(5) });
  });
  server = createServer(app);
  base = await listen(server);
});
after(async () => {
  await close(server);
  await mw.close();
  rmSync(dir, { recursive: true, force: true });
});

test('autom8 profile records a running service and names its hot function', async () => {
  const file = join(dir, 'svc.cpuprofile');
  // Keep the app busy while the CLI records it.
  let busy = true;
  const traffic = (async () => {
    while (busy) await (await fetch(`${base}/invoices`)).text();
  })();
  const r = await runCli(['profile', base, '--seconds', '1', '--out', file, '--top', '8', '--token', TOKEN]);
  busy = false;
  await traffic;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /CPU profile: \d+ ms/);
  assert.match(r.stdout, /renderInvoicesHot/);
  assert.match(r.stdout, /profile written to /);
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { callFrame: { functionName: string } }[] };
  assert.ok(p.nodes.some((n) => n.callFrame.functionName === 'renderInvoicesHot'));
});

test('autom8 profile: a wrong token, no endpoint, no token are one-line errors', async () => {
  const wrong = await runCli(['profile', base, '--seconds', '0.1', '--token', 'wrong-token-but-long-enough']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^autom8: http:\/\/127\.0\.0\.1:\d+ refused the profiler token \(401\)\n$/);
  const missing = await runCli(['profile', base, '--prefix', '/nope', '--seconds', '0.1', '--token', TOKEN]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^autom8: no profiler endpoint at \/nope\/profile/);
  const none = await runCli(['profile', base]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^autom8: no token: set AUTOM8_PROFILER_TOKEN/);
  const bad = await runCli(['profile', base, '--seconds', 'ten', '--token', TOKEN]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^autom8: bad --seconds 'ten'/);
  // Issue #21: an output path that cannot be written is refused before recording; a typo'd scheme is quoted.
  const before = (mw.metrics() as { features: Record<string, unknown> }).features.profiler as { profilesTaken: number };
  const out = await runCli(['profile', base, '--seconds', '0.1', '--token', TOKEN, '--out', '/nonexistent-dir/p.cpuprofile']);
  assert.equal(out.code, 2);
  assert.equal(out.stderr, "autom8: bad --out '/nonexistent-dir/p.cpuprofile': the directory /nonexistent-dir does not exist\n");
  assert.equal(
    ((mw.metrics() as { features: Record<string, unknown> }).features.profiler as { profilesTaken: number }).profilesTaken,
    before.profilesTaken,
    'nothing recorded',
  );
  const scheme = await runCli(['profile', base.replace('http:', 'htp:'), '--token', TOKEN]);
  assert.equal(scheme.code, 2);
  assert.match(scheme.stderr, /^autom8: bad URL 'htp:\/\/127\.0\.0\.1:\d+': the scheme must be http:\/\/ or https:\/\//);
});
