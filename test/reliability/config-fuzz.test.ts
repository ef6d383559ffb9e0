// Configuration fuzzing: random, mostly invalid options for every section. Construction must either
// succeed or throw an InvalidOptionError that names an option — never another error — and options
// that construct must carry requests without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Socket } from 'node:net';
import { InvalidOptionError, type Autom8Options } from '@autom8/core';
import { createEngine, type Autom8 } from '@autom8/core/adapter';
import { seededRandom } from '../support/seeded-random';

/** One request through the engine on real node request/response objects: must not throw. */
async function oneRequest(engine: Autom8, url: string): Promise<void> {
  const req = new http.IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = url;
  req.headers = { host: 'x', 'x-forwarded-for': '1.2.3.4' };
  const res = new http.ServerResponse(req);
  const ex = engine.begin(req, res, url);
  await engine.admit(ex);
  ex.setRoute('/users/:id');
  res.statusCode = 200;
  res.emit('finish');
  res.emit('close');
}

// Valid starting points, one per section, so mutations reach the deep checks.
const VALID: Record<string, unknown> = {
  monitoring: {
    prefix: '/ops',
    cacheMs: 500,
    routeLimit: 20,
    maxRouteLimit: 100,
    rateLimit: { perSecond: 5, burst: 10 },
    challenge: 'Basic realm="x"',
    serveOnApp: true,
    exemplars: false,
  },
  exempt: ['/health'],
  trustProxy: 1,
  routes: ['GET /users/:id'],
  metrics: { maxSeries: 50, windows: [{ name: '1m', intervalMs: 10_000, slots: 6 }], systemIntervalMs: 5000 },
  telemetry: { mode: 'own' },
  rateLimit: {
    algorithm: 'token-bucket',
    rate: 100,
    per: 'minute',
    burst: 10,
    routes: { 'POST /login': { rate: 5, per: 'minute' }, 'GET /slow': { algorithm: 'leaky-bucket', rate: 5, per: 'second', maxDelayMs: 200 } },
  },
  shed: { maxLoad: 0.8, limits: { maxEventLoopDelayMs: 40 }, sampleIntervalMs: 50, concurrency: { queueTimeoutMs: 500, tuneIntervalMs: 1000 } },
  cache: { ttl: 1000, maxBytes: 100_000, routes: { 'GET /users/:id': { ttl: 500 } } },
  slo: { objectives: [{ name: 'lat', latency: { percentile: 95, thresholdMs: 150 } }], evaluateEveryMs: 5000 },
  slowLog: { thresholdMs: 100 },
  dashboard: true,
  profiler: { token: 'secret-token-123' },
};

const WEIRD: unknown[] = [-1, 0, 0.5, 1e12, 2 ** 31, NaN, Infinity, '', 'x', 'GET', '/x', true, false, null, [], [1], {}, { a: 1 }, () => 1, Symbol('s'), 10n];

function mutate(value: unknown, rnd: () => number, depth: number): unknown {
  if (rnd() < 0.25 || depth > 3) return WEIRD[Math.floor(rnd() * WEIRD.length)];
  if (Array.isArray(value)) return value.map((v) => (rnd() < 0.5 ? mutate(v, rnd, depth + 1) : v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = rnd() < 0.4 ? mutate(v, rnd, depth + 1) : v;
    if (rnd() < 0.1) out[`bogus${Math.floor(rnd() * 10)}`] = 1;
    return out;
  }
  return rnd() < 0.5 ? WEIRD[Math.floor(rnd() * WEIRD.length)] : value;
}

test('500 random option sets: valid, or an InvalidOptionError naming the option at construction', async (t) => {
  const rnd = seededRandom(2026);
  const quiet = { info() {}, warn() {}, error() {} };
  // A duration past node's timer range is accepted by setTimeout with a warning and fires after 1 ms.
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  let constructed = 0;
  let rejected = 0;
  for (let i = 0; i < 500; i++) {
    const options: Record<string, unknown> = { logger: quiet };
    for (const [k, v] of Object.entries(VALID)) if (rnd() < 0.5) options[k] = rnd() < 0.6 ? mutate(v, rnd, 0) : v;
    let engine;
    try {
      engine = createEngine(options);
    } catch (err) {
      assert.ok(err instanceof InvalidOptionError, `case ${i}: ${String(err)} for ${describe(options)}`);
      assert.ok(err.option.length > 0 && err.message.startsWith('autom8:'), `case ${i}: unclear message ${err.message}`);
      rejected++;
      continue;
    }
    constructed++;
    try {
      await oneRequest(engine, '/users/1');
      await oneRequest(engine, '/ops/metrics');
    } catch (err) {
      assert.fail(`case ${i}: accepted options failed at request time: ${String(err)} for ${describe(options)}`);
    } finally {
      await engine.close();
    }
  }
  assert.ok(rejected > 100 && constructed > 20, `rejected ${rejected}, constructed ${constructed}`);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings, []);
});

test('every duration autom8 waits with a timer is refused past node’s longest timer, naming the option', () => {
  const quiet = { info() {}, warn() {}, error() {} };
  const tooLong = 2 ** 31;
  const cases: [Autom8Options, string][] = [
    [{ metrics: { systemIntervalMs: tooLong } }, 'metrics.systemIntervalMs'],
    [{ shed: { sampleIntervalMs: tooLong } }, 'shed.sampleIntervalMs'],
    [{ shed: { concurrency: { queueTimeoutMs: tooLong } } }, 'shed.concurrency.queueTimeoutMs'],
    [{ shed: { concurrency: { tuneIntervalMs: tooLong } } }, 'shed.concurrency.tuneIntervalMs'],
    [{ slo: { objectives: [{ name: 'lat', latency: { percentile: 95, thresholdMs: 150 } }], evaluateEveryMs: tooLong } }, 'slo.evaluateEveryMs'],
    [{ rateLimit: { algorithm: 'leaky-bucket', rate: 5, per: 'second', maxDelayMs: tooLong } }, 'rateLimit.maxDelayMs'],
  ];
  for (const [options, option] of cases) {
    assert.throws(
      () => createEngine({ logger: quiet, ...options }),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option && /up to 2147483647/.test(err.message),
      option,
    );
    // The longest timer itself is fine.
    const engine = createEngine({ logger: quiet, ...JSON.parse(JSON.stringify(options).replace(String(tooLong), String(tooLong - 1))) });
    void engine.close();
  }
});

function describe(o: unknown): string {
  try {
    return JSON.stringify(o, (_k, v) => (typeof v === 'function' ? 'fn' : typeof v === 'symbol' || typeof v === 'bigint' ? String(v) : v)).slice(0, 300);
  } catch {
    return '(unprintable)';
  }
}
