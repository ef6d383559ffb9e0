// Issue #19 item 5: behind a trusted proxy, every spelling of one address must be one rate-limit
// bucket, and X-Forwarded-For hops that are not addresses must not buy a fresh bucket. Over real
// HTTP on every adapter; the socket peer (127.0.0.1) is the trusted proxy.
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { ManualClock, type Autom8Options } from '@autom8/core';
import { ADAPTERS, buildApp, type TestApp } from '../support/apps';
import { close, listen } from '../support/http';

const quiet = { info() {}, warn() {}, error() {} };
const limit = { rate: 2, per: 'minute', algorithm: 'fixed-window' } as const;

interface Running extends TestApp {
  base: string;
  port: number;
}

async function start(adapter: (typeof ADAPTERS)[number], options: Autom8Options): Promise<Running> {
  const app = buildApp(adapter, { logger: quiet, clock: new ManualClock(), ...options });
  const base = await listen(app.server);
  return { ...app, base, port: Number(new URL(base).port) };
}

async function stop(app: Running): Promise<void> {
  await close(app.server);
  await app.engine.close();
}

/** Status of GET /users/1 with the given X-Forwarded-For. */
async function get(app: Running, forwardedFor: string): Promise<number> {
  const res = await fetch(`${app.base}/users/1`, { headers: { 'x-forwarded-for': forwardedFor } });
  await res.text();
  return res.status;
}

/** Status of a raw request carrying each of `headerLines` (node joins repeated headers itself). */
function raw(app: Running, headerLines: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(app.port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
    socket.write(`GET /users/1 HTTP/1.1\r\nHost: x\r\n${headerLines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
  });
}

async function invalidCount(app: Running): Promise<number> {
  const res = await fetch(`${app.base}/api/v1/metrics`);
  return ((await res.json()) as { clientAddress: { invalidForwardedFor: number } }).clientAddress.invalidForwardedFor;
}

for (const adapter of ADAPTERS) {
  describe(`client address behind a trusted proxy on ${adapter}`, () => {
    let app: Running; // trustProxy: ['127.0.0.1'], IPv6 grouped by /64
    let exact: Running; // trustProxy: 1, IPv6 not grouped (ipv6Prefix 128)
    let meterProvider: MeterProvider;
    let reader: PeriodicExportingMetricReader;
    before(async () => {
      reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
      meterProvider = new MeterProvider({ readers: [reader] });
      app = await start(adapter, { trustProxy: ['127.0.0.1'], telemetry: { meterProvider }, rateLimit: limit });
      exact = await start(adapter, { trustProxy: 1, rateLimit: { ...limit, ipv6Prefix: 128 } });
    });
    after(async () => {
      await stop(app);
      await stop(exact);
      await meterProvider.shutdown();
    });

    test('IPv4 with a port and IPv4-mapped IPv6 (any case, dotted or hex) share the IPv4 bucket', async () => {
      assert.equal(await get(app, '1.2.3.4'), 200);
      assert.equal(await get(app, '1.2.3.4:5555'), 200);
      assert.equal(await get(app, '::FFFF:1.2.3.4'), 429, 'upper-case mapped');
      assert.equal(await get(app, '[::ffff:102:304]:80'), 429, 'hex mapped, bracketed, with port');
      assert.equal(await get(app, '::ffff:1.2.3.4'), 429);
      assert.equal(await get(exact, '10.9.8.7:1'), 200);
      assert.equal(await get(exact, '::ffff:10.9.8.7'), 200);
      assert.equal(await get(exact, '::FFFF:0a09:0807'), 429);
    });

    test('every spelling of an IPv6 address is one bucket', async () => {
      assert.equal(await get(app, '[2001:db8::1]'), 200);
      assert.equal(await get(app, '2001:DB8::1'), 200);
      assert.equal(await get(app, '2001:db8:0:0::1'), 429);
      assert.equal(await get(app, '[2001:db8:0::1]:443'), 429);
      // Without /64 grouping, only canonicalisation makes them one.
      assert.equal(await get(exact, '2001:DB8::5'), 200);
      assert.equal(await get(exact, '2001:db8:0:0::5'), 200);
      assert.equal(await get(exact, '[2001:0db8::0005]'), 429);
      assert.equal(await get(exact, '[2001:db8::5]:8443'), 429);
      assert.equal(await get(exact, '2001:db8::6'), 200, 'another address is another bucket');
    });

    test('hops that are not addresses fall back to the proxy that wrote them, and are counted', async () => {
      // The socket peer 127.0.0.1 (the trusted proxy) wrote them: its bucket, 2 requests.
      assert.equal(await get(app, '001.002.003.004'), 200);
      assert.equal(await get(app, 'unknown'), 200);
      for (const bad of ['_hidden', 'garbage', '1.2.3.4.5', '9.9.9.9,', `${'1'.repeat(5000)}`, 'not-an-ip, 127.0.0.1']) {
        assert.equal(await get(app, bad), 429, `${bad.slice(0, 30)}: no fresh bucket`);
      }
      assert.equal(await invalidCount(app), 8);
      assert.equal(await get(app, '5.6.7.8'), 200, 'a valid client still gets its own bucket');
      assert.equal(await get(exact, '6.6.6.6, 010.1.1.1'), 200, 'hop count: the peer');
      assert.equal(await get(exact, '6.6.6.6, x'), 200);
      assert.equal(await get(exact, '6.6.6.6, [::1'), 429);
      assert.equal(await invalidCount(exact), 3);

      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'autom8.client_address.invalid_forwarded_for') as
        SumMetricData | undefined;
      assert.equal(metric?.dataPoints[0]?.value, 8, 'OTel counter');
    });

    test('repeated X-Forwarded-For headers are one chain, read from the right', async () => {
      assert.equal(await raw(app, ['X-Forwarded-For: 6.6.6.6', 'X-Forwarded-For: 4.3.2.1:99']), 200);
      assert.equal(await raw(app, ['X-Forwarded-For: 7.7.7.7', 'X-Forwarded-For: 4.3.2.1']), 200);
      assert.equal(await get(app, '4.3.2.1'), 429);
    });
  });
}
