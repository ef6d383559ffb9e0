// The examples export over OTLP/HTTP (protobuf) when OTEL_EXPORTER_OTLP_ENDPOINT is set: a
// receiver on loopback takes the real exporter's requests, decodes the protobuf, and finds our
// SERVER spans and http.server.request.duration with the semantic-convention names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../support/redis-server';
import { listen, close } from '../support/http';
import { attributes, hex, int, messages, str } from '../support/protobuf-wire';

const root = join(__dirname, '..', '..');

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const name of ['express-app', 'koa-app']) {
  describe(`examples/${name} over OTLP/HTTP`, () => {
    test('exports SERVER spans and request-duration histograms in protobuf', async () => {
      const received: Received[] = [];
      const collector = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
      });
      const collectorUrl = await listen(collector);
      const port = await freePort();
      const child = spawn(process.execPath, [join(root, 'examples', name, 'dist', 'server.js')], {
        env: {
          ...process.env,
          PORT: String(port),
          OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
          OTEL_SERVICE_NAME: `otlp-test-${name}`,
          OTEL_BSP_SCHEDULE_DELAY: '200',
          OTEL_METRIC_EXPORT_INTERVAL: '500',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d) => String(d).includes('example on') && resolve());
          child.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
        });
        const base = `http://127.0.0.1:${port}`;
        for (let i = 1; i <= 5; i++)
          await (
            await fetch(`${base}/users/${i}?fields=name`, {
              headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'user-agent': 'otlp-test/1.0' },
            })
          ).text();

        // Traces: /v1/traces, ExportTraceServiceRequest → ResourceSpans(1) → ScopeSpans(2) → Span(2)
        const spans = await waitFor('spans', () => {
          const all = received
            .filter((r) => r.path === '/v1/traces')
            .flatMap((r) => messages(r.body, 1))
            .flatMap((rs) => messages(rs, 2).map((ss) => ({ rs, ss })))
            .flatMap(({ rs, ss }) => messages(ss, 2).map((span) => ({ rs, ss, span })));
          return all.length >= 5 ? all : undefined;
        });
        assert.ok(received.every((r) => r.contentType.startsWith('application/x-protobuf')));
        const { rs, ss, span } = spans[0]!;
        const resource = attributes(messages(rs, 1)[0]!, 1);
        assert.equal(resource['service.name'], `otlp-test-${name}`);
        assert.equal(str(messages(ss, 1)[0]!, 1), '@autom8/core');
        assert.equal(str(span, 5), 'GET /users/:id');
        assert.equal(int(span, 6), 2, 'SPAN_KIND_SERVER');
        assert.equal(hex(span, 1), '0af7651916cd43dd8448eb211c80319c', 'trace id continued from traceparent');
        assert.equal(hex(span, 4), 'b7ad6b7169203331', 'parent span id');
        const a = attributes(span, 9);
        assert.equal(a['http.request.method'], 'GET');
        assert.equal(a['http.route'], '/users/:id');
        assert.equal(a['http.response.status_code'], 200);
        assert.equal(a['url.scheme'], 'http');
        // Conditionally required and recommended attributes, as the collector received them.
        assert.match(String(a['url.path']), /^\/users\/[1-5]$/);
        assert.equal(a['url.query'], 'fields=name');
        assert.equal(a['user_agent.original'], 'otlp-test/1.0');
        assert.equal(a['server.address'], '127.0.0.1');
        assert.equal(a['server.port'], port);
        // The example listens on '::', so loopback IPv4 arrives IPv4-mapped, as the socket reports it.
        assert.match(String(a['network.peer.address']), /^(::ffff:)?127\.0\.0\.1$/);
        // client.address is the address the rate limiter counts: IPv4-mapped folded to plain IPv4.
        assert.equal(a['client.address'], '127.0.0.1');
        assert.equal(typeof a['network.peer.port'], 'number');
        assert.equal(a['network.protocol.version'], '1.1');

        // Metrics: /v1/metrics → ResourceMetrics(1) → ScopeMetrics(2) → Metric(2): name 1, unit 3, histogram 9
        const duration = await waitFor('duration metric', () => {
          for (const r of received.filter((x) => x.path === '/v1/metrics')) {
            for (const rm of messages(r.body, 1))
              for (const sm of messages(rm, 2))
                for (const m of messages(sm, 2)) {
                  if (str(m, 1) !== 'http.server.request.duration') continue;
                  const points = messages(messages(m, 9)[0] ?? Buffer.alloc(0), 1);
                  const users = points.find((p) => attributes(p, 9)['http.route'] === '/users/:id');
                  if (users) return { m, users };
                }
          }
          return undefined;
        });
        assert.equal(str(duration.m, 3), 's');
        const pointAttrs = attributes(duration.users, 9);
        // The metric carries the spec's low-cardinality set only: no path, query, client or peer.
        assert.deepEqual(Object.keys(pointAttrs).sort(), [
          'http.request.method',
          'http.response.status_code',
          'http.route',
          'network.protocol.version',
          'url.scheme',
        ]);
        assert.equal(pointAttrs['http.request.method'], 'GET');
        assert.equal(pointAttrs['http.response.status_code'], 200);
        assert.equal(pointAttrs['network.protocol.version'], '1.1');
      } finally {
        await new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
        await close(collector);
      }
    });
  });
}
