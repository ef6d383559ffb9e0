// A harness for span-attributes.bench.mjs: the core pipeline alone (no framework, no sockets) with a
// recording OTel SDK, W warm-up requests then N counted ones, each request carrying the inputs listed
// in PARTS (comma-separated; none by default) of the HTTP semantic conventions' recommended server-span
// attributes: host (Host header: server.address, server.port), ua (User-Agent: user_agent.original),
// query (url.query), peer (the socket's remote address and port: network.peer.address/port,
// client.address; its local port), version (httpVersion: network.protocol.version).
// Run under callgrind at two N; the difference per request is what those attributes cost.
import { createEngine } from '@autom8/core/adapter';
import { startOtelSdk } from '../lib/otel-sdk.mjs';
import { endOfLap, makePair, pipelineRequest } from '../lib/request-pair.mjs';

const parts = new Set((process.env.PARTS ?? '').split(',').filter(Boolean));
const TIMER_SCALE = Number(process.env.TIMER_SCALE ?? 1);
const { tracerProvider, meterProvider } = startOtelSdk({ exportIntervalMs: 1000 * TIMER_SCALE });
const engine = createEngine({
  telemetry: { tracerProvider, meterProvider },
  metrics: { systemIntervalMs: 5000 * TIMER_SCALE },
  logger: { info() {}, warn() {}, error() {} },
});

const pairs = Array.from({ length: 1000 }, () => makePair([...parts]));
async function run(n) {
  for (let i = 0; i < n; i++) {
    pipelineRequest(engine, pairs[i % pairs.length]);
    // At each lap's end, let the span processor's batch timer run too.
    if (endOfLap(pairs, i)) await new Promise((resolve) => setImmediate(resolve));
  }
}
await run(Number(process.env.W ?? 10000));
await run(Number(process.env.N ?? 5000));
process.exit(0);
