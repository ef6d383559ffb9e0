// The core pipeline's own cost per request, in nanoseconds, without any network or framework:
// begin → admit → setRoute → response 'close' → end (metrics record). Real node IncomingMessage /
// ServerResponse objects; telemetry off, and on with a real OTel SDK (in-memory exporters).
import http from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createEngine } from '@autom8/core/adapter';
import { table, fmt } from './lib/http-bench.mjs';
import { writeResults } from './lib/results.mjs';
import { startOtelSdk } from './lib/otel-sdk.mjs';

function makePair() {
  const req = new http.IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/users/42';
  req.headers = { host: 'localhost', 'user-agent': 'bench' };
  const res = new http.ServerResponse(req);
  return { req, res };
}

async function run(label, options, n) {
  const engine = createEngine({ ...options, logger: { info() {}, warn() {}, error() {} } });
  const pairs = Array.from({ length: 2000 }, makePair);
  const once = (i) => {
    const { req, res } = pairs[i % pairs.length];
    const ex = engine.begin(req, res, req.url);
    engine.admit(ex);
    ex.setRoute('/users/:id');
    res.emit('finish');
    res.emit('close');
  };
  // Objects are reused, so the engine's listeners are removed between rounds.
  const round = (count) => {
    for (let i = 0; i < count; i++) {
      once(i);
      if (i % pairs.length === pairs.length - 1) for (const p of pairs) p.res.removeAllListeners();
    }
  };
  round(50_000);
  const t0 = performance.now();
  round(n);
  const ns = ((performance.now() - t0) * 1e6) / n;
  await engine.close();
  return { pipeline: label, 'ns/request': fmt(ns, 0) };
}

// Baseline: what adding and firing one 'close' listener costs on its own (node's part of the hook).
function baseline(n) {
  const pairs = Array.from({ length: 2000 }, makePair);
  const f = () => {};
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const { res } = pairs[i % pairs.length];
    res.on('close', f);
    res.emit('close');
    if (i % pairs.length === pairs.length - 1) for (const p of pairs) p.res.removeAllListeners();
  }
  return { pipeline: "node: res.on('close') + emit (floor)", 'ns/request': fmt(((performance.now() - t0) * 1e6) / n, 0) };
}

const N = 300_000;
const rows = [baseline(N)];
rows.push(await run('metrics, telemetry off', { telemetry: { enabled: false } }, N));
rows.push(await run('metrics + OTel API, no SDK', {}, N));
const { tracerProvider, meterProvider } = startOtelSdk();
rows.push(await run('metrics + OTel SDK (span + histogram)', { telemetry: { tracerProvider, meterProvider } }, N / 3));
console.log('core pipeline per request (no network, no framework)');
table(rows);
writeResults(
  'pipeline',
  rows.map((r) => ({ section: 'pipeline', pipeline: r.pipeline, nsPerRequest: Number(r['ns/request']) })),
);
process.exit(0);
