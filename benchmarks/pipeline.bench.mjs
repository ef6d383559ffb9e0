// The core pipeline's own cost per request, in nanoseconds, without any network or framework:
// begin → admit → setRoute → response 'close' → end (metrics record). Real node IncomingMessage /
// ServerResponse objects; telemetry off, and on with a real OTel SDK (in-memory exporters).
import { performance } from 'node:perf_hooks';
import { createEngine } from '@autom8/core/adapter';
import { table, fmt } from './lib/http-bench.mjs';
import { writeResults } from './lib/results.mjs';
import { startOtelSdk } from './lib/otel-sdk.mjs';
import { endOfLap, makePair, pipelineRequest } from './lib/request-pair.mjs';

async function run(label, options, n, parts) {
  const engine = createEngine({ ...options, logger: { info() {}, warn() {}, error() {} } });
  const pairs = Array.from({ length: 2000 }, () => makePair(parts));
  const round = (count) => {
    for (let i = 0; i < count; i++) {
      pipelineRequest(engine, pairs[i % pairs.length]);
      endOfLap(pairs, i);
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
  const pairs = Array.from({ length: 2000 }, () => makePair());
  const f = () => {};
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const { res } = pairs[i % pairs.length];
    res.on('close', f);
    res.emit('close');
    endOfLap(pairs, i);
  }
  return { pipeline: "node: res.on('close') + emit (floor)", 'ns/request': fmt(((performance.now() - t0) * 1e6) / n, 0) };
}

const N = 300_000;
const rows = [baseline(N)];
rows.push(await run('metrics, telemetry off', { telemetry: { enabled: false } }, N));
rows.push(await run('metrics + OTel API, no SDK', {}, N));
const { tracerProvider, meterProvider } = startOtelSdk();
const sdk = { telemetry: { tracerProvider, meterProvider } };
rows.push(await run('metrics + OTel SDK (span + histogram)', sdk, N / 3));
// What the recommended span attributes cost with a recording SDK: the same request without the
// inputs they come from, with each input alone, and with all of them. Interleaved rounds, medians:
// a shared machine's noise is larger than some of these differences.
const PARTS = {
  none: [[], '… request with none of the inputs below (required attributes only)'],
  host: [['host'], '… + Host header (server.address, server.port)'],
  ua: [['ua'], '… + User-Agent (user_agent.original)'],
  query: [['query'], '… + a query string (url.query)'],
  peer: [['peer'], '… + socket peer (network.peer.address/port, client.address, server.port)'],
  version: [['version'], '… + httpVersion (network.protocol.version)'],
  all: [['host', 'ua', 'query', 'peer', 'version'], '… + all of them'],
};
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ns = Object.fromEntries(Object.keys(PARTS).map((k) => [k, []]));
// One discarded round first (V8 settles on the shapes of every variant), then each round starts at
// the next variant, so none is always measured first.
const keys = Object.keys(PARTS);
for (const k of keys) await run('', sdk, N / 6, PARTS[k][0]);
for (let r = 0; r < ROUNDS; r++)
  for (let j = 0; j < keys.length; j++) {
    const k = keys[(r + j) % keys.length];
    ns[k].push(Number((await run(PARTS[k][1], sdk, N / 6, PARTS[k][0]))['ns/request']));
  }
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [k, [, label]] of Object.entries(PARTS)) {
  const added = k === 'none' ? '' : fmt(med(ns[k].map((x, i) => x - ns.none[i])), 0);
  rows.push({ pipeline: label, 'ns/request': fmt(med(ns[k]), 0), 'added ns': added });
}
for (const r of rows) r['added ns'] ??= '';
console.log('core pipeline per request (no network, no framework)');
table(rows);
writeResults(
  'pipeline',
  rows.map((r) => ({
    section: 'pipeline',
    pipeline: r.pipeline,
    nsPerRequest: Number(r['ns/request']),
    ...(r['added ns'] === '' ? {} : { addedNs: Number(r['added ns']) }),
  })),
);
process.exit(0);
