// autom8's own telemetry (telemetry.mode 'own') against @opentelemetry/instrumentation-http on plain
// node:http, key by key: the same requests through both, then their SERVER spans and
// http.server.request.duration data points compared. Values that must differ (ports, ids, timings)
// are compared by presence only. Every other difference is either a bug to fix in autom8 or listed
// in ALLOWED with its reason; docs/telemetry.md has the same table. An entry no scenario needs
// fails the test, so the list cannot go stale.
import {
  httpInstrumentation,
  metricExporter as refMetricExporter,
  metricReader as refMetricReader,
  spanExporter as refSpanExporter,
} from '../support/otel-reference-instrumentation';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, SpanKind, type Attributes } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
  type MetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

/** Where one side listens: IPv4 and IPv6 loopback. */
interface Target {
  base: string;
  base6: string;
  port: number;
  port6: number;
}

interface Scenario {
  name: string;
  run(t: Target): Promise<void>;
  /** Requests the scenario sends (server spans to wait for). */
  requests?: number;
  /** The status of the request compared, when the scenario sends several. */
  status?: number;
  ipv6?: boolean;
}

/** A request through node's http client (sets Host), drained. */
function get(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

function rawHttp10(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: raw\r\n\r\n`));
    socket.on('data', () => {});
    socket.on('end', resolve);
    socket.on('error', reject);
  });
}

const SCENARIOS: Scenario[] = [
  { name: 'normal', run: (t) => get(`${t.base}/users/1`).then(() => {}) },
  { name: 'query', run: (t) => get(`${t.base}/users/1?b=2&sig=abc&a=1`).then(() => {}) },
  { name: 'traceparent', run: (t) => get(`${t.base}/users/2`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } }).then(() => {}) },
  { name: '404', run: (t) => get(`${t.base}/nope/1`).then(() => {}) },
  { name: '500', run: (t) => get(`${t.base}/boom`).then(() => {}) },
  {
    name: '429',
    requests: 2,
    status: 429,
    run: async (t) => {
      assert.equal(await get(`${t.base}/health`), 200);
      assert.equal(await get(`${t.base}/health`), 429);
    },
  },
  { name: 'unknown method', run: (t) => get(`${t.base}/users/1`, { method: 'PURGE' }).then(() => {}) },
  { name: 'HTTP/1.0', run: (t) => rawHttp10(t.port, '/users/3') },
  { name: 'IPv6 client', ipv6: true, run: (t) => get(`${t.base6}/users/4`).then(() => {}) },
  { name: 'trusted proxy', run: (t) => get(`${t.base}/users/5`, { headers: { 'x-forwarded-for': '203.0.113.9' } }).then(() => {}) },
  {
    name: 'forged X-Forwarded-For entry',
    run: (t) => get(`${t.base}/users/6`, { headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' } }).then(() => {}),
  },
];

/**
 * The differences we keep, each with its reason. `scenario: '*'` applies to every scenario.
 * `what` is `span.name`, `span.status`, `span.attr:<key>` or `metric.attr:<key>`.
 */
export const ALLOWED: Array<{ scenario: string; what: string; reason: string }> = [
  {
    scenario: '500',
    what: 'span.attr:error.type',
    reason: 'the conventions ask for error.type on the span too when the status is an error (5xx on a server): instrumentation-http sets it on the metric only',
  },
  {
    scenario: 'unknown method',
    what: 'span.name',
    reason: 'the conventions name the span HTTP when the method is not a known one (http.request.method _OTHER); instrumentation-http uses the method as sent',
  },
  {
    scenario: 'IPv6 client',
    what: 'span.attr:server.address',
    reason:
      'server.address is the IP address ::1; the brackets of the Host header are URI syntax (instrumentation-http keeps them; its network.peer.address has none)',
  },
  {
    scenario: 'forged X-Forwarded-For entry',
    what: 'span.attr:client.address',
    reason:
      'autom8 takes client.address through trustProxy (the entry the trusted proxy added); instrumentation-http takes the left-most entry, which the client wrote',
  },
];

/** Compared by presence only: they differ between any two servers or connections. */
const PRESENCE_ONLY = new Set(['network.peer.port']);

interface Observed {
  name: string;
  status: number;
  continuesTrace: boolean;
  attributes: Attributes;
  metric: Attributes | undefined;
}

function pickSpan(spans: ReadableSpan[], s: Scenario): ReadableSpan {
  const servers = spans.filter((x) => x.kind === SpanKind.SERVER);
  const span = s.status === undefined ? servers.at(-1) : servers.find((x) => x.attributes['http.response.status_code'] === s.status);
  assert.ok(span, `${s.name}: no server span (${servers.map((x) => x.name)})`);
  return span;
}

async function durationPoints(reader: MetricReader, exporter: InMemoryMetricExporter): Promise<Attributes[]> {
  await reader.forceFlush();
  const points = exporter
    .getMetrics()
    .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
    .filter((m) => m.descriptor.name === 'http.server.request.duration')
    .flatMap((m) => (m as HistogramMetricData).dataPoints.filter((p) => p.value.count > 0).map((p) => p.attributes));
  exporter.reset();
  return points;
}

async function observe(s: Scenario, t: Target, spans: InMemorySpanExporter, reader: MetricReader, metrics: InMemoryMetricExporter): Promise<Observed> {
  spans.reset();
  await durationPoints(reader, metrics); // drops anything earlier
  await s.run(t);
  const n = s.requests ?? 1;
  for (let i = 0; i < 200 && spans.getFinishedSpans().filter((x) => x.kind === SpanKind.SERVER).length < n; i++) await new Promise((r) => setTimeout(r, 5));
  const span = pickSpan(spans.getFinishedSpans(), s);
  const status = span.attributes['http.response.status_code'];
  const metric = (await durationPoints(reader, metrics)).find((p) => p['http.response.status_code'] === status);
  const port = s.ipv6 ? t.port6 : t.port;
  // server.port must be the port this side listens on.
  assert.equal(span.attributes['server.port'], port, `${s.name}: server.port`);
  return {
    name: span.name,
    status: span.status.code,
    continuesTrace: span.spanContext().traceId === TRACE_ID && span.parentSpanContext?.spanId === PARENT_SPAN,
    attributes: { ...span.attributes, 'server.port': 'own port' },
    metric,
  };
}

/** The differences between the reference and autom8, as `what` keys with both values. */
function differences(ref: Observed, got: Observed): Map<string, string> {
  const out = new Map<string, string>();
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
  if (ref.name !== got.name) out.set('span.name', `instrumentation-http ${show(ref.name)}, autom8 ${show(got.name)}`);
  if (ref.status !== got.status) out.set('span.status', `instrumentation-http ${ref.status}, autom8 ${got.status}`);
  if (ref.continuesTrace !== got.continuesTrace) out.set('span.parent', `instrumentation-http ${ref.continuesTrace}, autom8 ${got.continuesTrace}`);
  const compare = (prefix: string, a: Attributes, b: Attributes) => {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = a[key];
      const y = b[key];
      const same = PRESENCE_ONLY.has(key) ? (x === undefined) === (y === undefined) : JSON.stringify(x) === JSON.stringify(y);
      if (!same) out.set(`${prefix}:${key}`, `instrumentation-http ${show(x)}, autom8 ${show(y)}`);
    }
  };
  compare('span.attr', ref.attributes, got.attributes);
  if (ref.metric === undefined || got.metric === undefined) out.set('metric', `instrumentation-http ${show(ref.metric)}, autom8 ${show(got.metric)}`);
  else compare('metric.attr', ref.metric, got.metric);
  return out;
}

/** plain node:http serving the test apps' routes; it tells the instrumentation the route the way
 * @opentelemetry/instrumentation-express and -koa do (the RPC metadata), so the span names compare. */
function referenceHandler(): (req: IncomingMessage, res: ServerResponse) => void {
  let healthHits = 0;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let route: string | undefined;
    if (req.method === 'GET') route = /^\/users\/[^/]+$/.test(path) ? '/users/:id' : path === '/boom' || path === '/health' ? path : undefined;
    if (route !== undefined) {
      const rpc = getRPCMetadata(context.active());
      if (rpc?.type === RPCType.HTTP) rpc.route = route;
    }
    const status = route === undefined ? 404 : route === '/boom' ? 500 : route === '/health' && ++healthHits > 1 ? 429 : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{}');
  };
}

async function listen6(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  return `http://[::1]:${(server.address() as AddressInfo).port}`;
}

function target(base: string, base6: string): Target {
  return { base, base6, port: Number(new URL(base).port), port6: Number(new URL(base6).port) };
}

test('docs/telemetry.md lists as many differences as ALLOWED', () => {
  const doc = readFileSync(new URL('../../docs/telemetry.md', `file://${__filename}`), 'utf8');
  const section = doc.split('### Differences from `@opentelemetry/instrumentation-http`')[1]?.split(/\n#/)[0] ?? '';
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| request') && !l.startsWith('| ---'));
  assert.equal(rows.length, ALLOWED.length, 'one table row per ALLOWED entry');
});

const reference = new Map<string, Observed>();

before(async () => {
  const handler = referenceHandler();
  const server = http.createServer(handler);
  const server6 = http.createServer(handler);
  const t = target(await listen(server), await listen6(server6));
  try {
    for (const s of SCENARIOS) reference.set(s.name, await observe(s, t, refSpanExporter, refMetricReader, refMetricExporter));
  } finally {
    await close(server);
    await close(server6);
  }
  // From here on autom8 runs alone.
  httpInstrumentation.disable();
});

for (const adapter of ADAPTERS) {
  describe(`autom8 on ${adapter} against @opentelemetry/instrumentation-http`, () => {
    let app: TestApp;
    let server6: Server;
    let t: Target;
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const seen = new Set<string>();

    before(async () => {
      app = buildApp(adapter, {
        telemetry: { mode: 'own', tracerProvider, meterProvider },
        trustProxy: ['127.0.0.1'],
        rateLimit: { global: false, routes: { 'GET /health': { rate: 1, per: 'hour', algorithm: 'fixed-window' } } },
      });
      // The same app behind a second listener, on IPv6 loopback.
      server6 = http.createServer();
      for (const l of app.server.listeners('request')) server6.on('request', l as (...args: unknown[]) => void);
      t = target(await listen(app.server), await listen6(server6));
    });
    after(async () => {
      await close(app.server);
      await close(server6);
      await app.engine.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    });

    for (const s of SCENARIOS) {
      test(s.name, async () => {
        const ref = reference.get(s.name);
        assert.ok(ref, 'the reference ran');
        const got = await observe(s, t, spans, reader, metricExporter);
        const unexplained: string[] = [];
        for (const [what, detail] of differences(ref, got)) {
          const allowed = ALLOWED.find((a) => a.what === what && (a.scenario === '*' || a.scenario === s.name));
          if (allowed === undefined) unexplained.push(`${what}: ${detail}`);
          else seen.add(`${allowed.scenario} ${allowed.what}`);
        }
        assert.deepEqual(unexplained, [], `differences not in ALLOWED`);
      });
    }

    test('every ALLOWED difference still occurs', () => {
      assert.deepEqual(
        ALLOWED.map((a) => `${a.scenario} ${a.what}`).filter((k) => !seen.has(k)),
        [],
      );
    });
  });
}
