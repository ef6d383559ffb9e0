// examples/fleet as a user runs it: the built primary forks 4 node:cluster workers on one port,
// all on a throwaway redis-server and exporting OTLP/HTTP to a receiver on loopback. Requests go
// over fresh connections, so the primary hands them round the workers; `x-served-by` says which
// worker's app answered. Shedding is off (SHED=0) and the Redis budget is 2 s: on a loaded 2-core
// CI machine a stalled event loop could otherwise answer some requests by the 503 or the outage
// fallback, and this test is about sharing through Redis, not about those.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedis, type TestRedis } from '../support/redis-server';
import { listen, close } from '../support/http';
import { attributes, decodeMessage, messages, str } from '../support/protobuf-wire';

const root = join(__dirname, '..', '..');
const WORKERS = 4;
const LIMIT = 100;

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET on a connection of its own (`agent: false`), so the primary picks a worker for it. */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** `n` GETs, at most `concurrency` at a time. */
async function many(n: number, concurrency: number, one: (i: number) => Promise<Res>): Promise<Res[]> {
  const out: Res[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

const servedBy = (r: Res) => String(r.headers['x-served-by']);

function tally(responses: Res[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of responses) m.set(servedBy(r), (m.get(servedBy(r)) ?? 0) + 1);
  return m;
}

/** HistogramDataPoint.count is a fixed64 (field 4). */
function pointCount(point: Uint8Array): number {
  const f = decodeMessage(point).find((x) => x.field === 4 && x.wireType === 1);
  return f ? Number(Buffer.from(f.fixed!).readBigUInt64LE(0)) : 0;
}

interface InstanceMetrics {
  resource: Record<string, string | number | boolean>;
  /** Requests in http.server.request.duration, all points summed (cumulative: the last export). */
  requests: number;
  temporality: number | undefined;
  metricNames: Set<string>;
}

/**
 * Walks every OTLP metrics export received so far: ExportMetricsServiceRequest → ResourceMetrics(1)
 * {resource(1) → attributes(1), ScopeMetrics(2) → Metric(2) {name 1, histogram 9 → points 1,
 * temporality 2}}. Keyed by the resource's service.instance.id; later exports replace earlier ones.
 */
function metricsByInstance(bodies: Buffer[]): Map<string, InstanceMetrics> {
  const out = new Map<string, InstanceMetrics>();
  for (const body of bodies) {
    for (const rm of messages(body, 1)) {
      const resource = attributes(messages(rm, 1)[0] ?? Buffer.alloc(0), 1);
      const id = String(resource['service.instance.id']);
      const prev = out.get(id);
      const entry: InstanceMetrics = { resource, requests: prev?.requests ?? 0, temporality: prev?.temporality, metricNames: prev?.metricNames ?? new Set() };
      for (const sm of messages(rm, 2))
        for (const m of messages(sm, 2)) {
          const name = str(m, 1)!;
          entry.metricNames.add(name);
          if (name !== 'http.server.request.duration') continue;
          const hist = messages(m, 9)[0]!;
          entry.requests = messages(hist, 1).reduce((sum, p) => sum + pointCount(p), 0);
          entry.temporality = Number(decodeMessage(hist).find((f) => f.field === 2)?.varint);
        }
      out.set(id, entry);
    }
  }
  return out;
}

/** Polls `check` (which throws while unmet) until it passes; rethrows its last error on timeout. */
async function eventually(check: () => void | Promise<void>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('examples/fleet: 4 node:cluster workers sharing Redis', () => {
  let redis: TestRedis;
  let redisClient: Redis;
  let collector: http.Server;
  const metricBodies: Buffer[] = [];
  let fleet: ChildProcess;
  let fleetErr = '';
  let base = '';
  /** Requests each worker's app answered (x-served-by), all routes, for the OTLP check. */
  const served = new Map<string, number>();
  let sent = 0;

  /** GET /api/v1/metrics on fresh connections until every worker has answered one. */
  async function snapshotsOfAllWorkers(): Promise<Map<string, any>> {
    // Each worker shares one /metrics answer per second (monitoring.cacheMs): wait for a fresh one.
    await new Promise((r) => setTimeout(r, 1100));
    const out = new Map<string, any>();
    for (let i = 0; i < 10 * WORKERS && out.size < WORKERS; i++) {
      const r = await get(base, '/api/v1/metrics');
      assert.equal(r.status, 200);
      out.set(servedBy(r), JSON.parse(r.body));
    }
    assert.equal(out.size, WORKERS, 'every worker answered /api/v1/metrics');
    return out;
  }

  function count(responses: Res[]): void {
    sent += responses.length;
    for (const [id, n] of tally(responses)) served.set(id, (served.get(id) ?? 0) + n);
  }

  before(async () => {
    redis = await startRedis();
    redisClient = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redisClient.connect();
    collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/metrics') metricBodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    const collectorUrl = await listen(collector);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fleet = spawn(process.execPath, [join(root, 'examples', 'fleet', 'dist', 'fleet.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        WORKERS: String(WORKERS),
        RATE_LIMIT: String(LIMIT),
        REDIS_URL: redis.url,
        REDIS_TIMEOUT_MS: '2000',
        SHED: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
        OTEL_SERVICE_NAME: 'fleet-test',
        OTEL_METRIC_EXPORT_INTERVAL: '500',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    fleet.stderr!.on('data', (d) => (fleetErr += String(d)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet not listening after 45 s; stderr: ${fleetErr}`)), 45_000);
      fleet.stdout!.on('data', (d) => {
        if (!String(d).includes('workers listening')) return;
        clearTimeout(timer);
        resolve();
      });
      fleet.once('exit', (code) => reject(new Error(`fleet exited with ${code}; stderr: ${fleetErr}`)));
    });
  });

  after(async () => {
    if (fleet !== undefined && fleet.exitCode === null && fleet.signalCode === null) {
      await new Promise<void>((resolve) => {
        fleet.once('exit', () => resolve());
        fleet.kill('SIGKILL');
      });
    }
    redisClient?.disconnect();
    if (collector !== undefined) await close(collector);
    await redis?.stop();
  });

  test(`a limit of ${LIMIT} per client admits exactly ${LIMIT} across ${WORKERS} workers`, async () => {
    const a = await many(160, 8, () => get(base, '/api/items/1', { 'x-api-key': 'client-a' }));
    count(a);
    assert.equal(a.filter((r) => r.status === 200).length, LIMIT);
    assert.equal(a.filter((r) => r.status === 429).length, 60);
    const byWorker = tally(a);
    assert.equal(byWorker.size, WORKERS, `every worker served client-a: ${JSON.stringify([...byWorker])}`);
    const refused = a.find((r) => r.status === 429)!;
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.match(String(refused.headers.ratelimit), /"default";r=0;/);

    // Another client has its own 100, whichever workers it lands on.
    const b = await many(LIMIT + 1, 8, () => get(base, '/api/items/2', { 'x-api-key': 'client-b' }));
    count(b);
    assert.equal(b.filter((r) => r.status === 200).length, LIMIT);
    assert.equal(b.filter((r) => r.status === 429).length, 1);

    // The counting was Redis's, not a per-worker fallback (which with 4 even workers could also
    // add up to 100): no worker saw a Redis failure, and their decisions add up.
    const snaps = await snapshotsOfAllWorkers();
    let allowed = 0;
    let limited = 0;
    for (const [id, s] of snaps) {
      const rl = s.features.rateLimit;
      assert.equal(rl.store, 'redis');
      assert.deepEqual(
        { degraded: rl.storeStatus.degraded, failures: rl.storeStatus.failures, outages: rl.storeStatus.outages },
        { degraded: false, failures: 0, outages: 0 },
        `worker ${id}`,
      );
      assert.equal(s.instance, id, '/api/v1/metrics names the worker by its OTel instance id');
      allowed += rl.limiters.default.allowed;
      limited += rl.limiters.default.limited;
    }
    assert.equal(allowed, 2 * LIMIT);
    assert.equal(limited, 61);
  });

  test('OTLP metrics come from 4 resources, told apart by service.instance.id, and add up', async () => {
    await eventually(() => {
      const got = metricsByInstance(metricBodies);
      const counts = Object.fromEntries([...got].map(([id, m]) => [id, m.requests]));
      assert.deepEqual(counts, Object.fromEntries(served), 'each worker exported exactly the requests it answered');
    });
    const got = metricsByInstance(metricBodies);
    assert.equal(got.size, WORKERS);
    const pids = new Set<unknown>();
    for (const [id, m] of got) {
      assert.equal(m.resource['service.name'], 'fleet-test');
      assert.equal(typeof m.resource['process.pid'], 'number');
      assert.notEqual(m.resource['process.pid'], fleet.pid, 'a worker, not the primary');
      pids.add(m.resource['process.pid']);
      assert.equal(m.temporality, 2, `${id}: cumulative, so the last export holds the total`);
      assert.ok(m.metricNames.has('autom8.ratelimit.decisions'), `${id}: rate-limit decisions exported`);
      assert.ok(m.metricNames.has('nodejs.eventloop.delay.p99'), `${id}: event-loop delay exported`);
    }
    assert.equal(pids.size, WORKERS, 'one process per resource');
    assert.equal(
      [...got.values()].reduce((s, m) => s + m.requests, 0),
      sent,
    );
  });

  test('the response cache is shared: a miss on one worker, hits on the others', async () => {
    const first = await get(base, '/catalog', { 'x-api-key': 'client-c' });
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], 'MISS');
    const maker = servedBy(first);
    assert.equal(JSON.parse(first.body).generatedBy, maker);
    // The entry reaches Redis after the response ended, in the background.
    await eventually(async () => assert.equal(await redisClient.exists('autom8:cache:e:/catalog'), 1), 5000);

    const rest = await many(3 * WORKERS, 1, () => get(base, '/catalog', { 'x-api-key': 'client-c' }));
    for (const r of rest) {
      assert.equal(r.headers['x-cache'], 'HIT');
      assert.equal(r.body, first.body, 'the body the first worker generated');
    }
    // A hit replays the stored headers (x-served-by included), so who served it is read from
    // each worker's own counters instead.
    const snaps = await snapshotsOfAllWorkers();
    for (const [id, s] of snaps) {
      const c = s.features.cache;
      if (id === maker) {
        assert.deepEqual({ misses: c.misses, sharedHits: c.sharedHits }, { misses: 1, sharedHits: 0 }, 'the worker that generated it');
      } else {
        assert.equal(c.misses, 0, `worker ${id} never ran the handler`);
        assert.equal(c.sharedHits, 1, `worker ${id} took it from Redis once, then from its own memory`);
        assert.ok(c.hits >= 1);
      }
      assert.equal(c.store.failures, 0);
    }
    sent += 1 + rest.length;
    await eventually(() =>
      assert.equal(
        [...metricsByInstance(metricBodies).values()].reduce((s, m) => s + m.requests, 0),
        sent,
      ),
    );
  });

  test('the primary re-forks a worker that dies', async () => {
    const victim = [...metricsByInstance(metricBodies).values()][0]!.resource['process.pid'] as number;
    process.kill(victim, 'SIGKILL');
    await eventually(() => assert.match(fleetErr, new RegExp(`pid ${victim}\\) died \\(SIGKILL\\); re-forking in \\d+ ms`)), 5000);
    // The new worker shows up with an instance id of its own, and the fleet is 4 again.
    const before = new Set(metricsByInstance(metricBodies).keys());
    await eventually(async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 2 * WORKERS; i++) ids.add(servedBy(await get(base, '/whoami')));
      assert.equal(ids.size, WORKERS);
      assert.ok(
        [...ids].some((id) => !before.has(id)),
        'a new worker answered',
      );
    }, 10_000);
  });

  test('SIGTERM stops the workers and the primary, exit code 0', async () => {
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      fleet.once('exit', (c) => resolve(c));
      fleet.kill('SIGTERM');
    });
    assert.equal(code, 0, fleetErr);
    assert.ok(Date.now() - t0 < 10_000, 'well before the 15 s kill deadline');
    await assert.rejects(get(base, '/health'), 'nothing listens any more');
  });
});
