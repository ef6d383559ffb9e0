import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { createEngine } from '../src/adapter';
import { InvalidOptionError } from '../src/index';

const invalid: [string, unknown, string][] = [
  ['not an object', 42, 'options'],
  ['unknown top-level option', { metrix: {} }, 'metrix'],
  ['unknown nested option', { metrics: { maxSerie: 3 } }, 'metrics.maxSerie'],
  ['negative maxSeries', { metrics: { maxSeries: -1 } }, 'metrics.maxSeries'],
  ['fractional maxSeries', { metrics: { maxSeries: 2.5 } }, 'metrics.maxSeries'],
  ['empty windows', { metrics: { windows: [] } }, 'metrics.windows'],
  ['window without slots', { metrics: { windows: [{ name: '1m', intervalMs: 1000 }] } }, 'metrics.windows[0].slots'],
  [
    'duplicate window names',
    {
      metrics: {
        windows: [
          { name: 'a', intervalMs: 1000, slots: 2 },
          { name: 'a', intervalMs: 1000, slots: 2 },
        ],
      },
    },
    'metrics.windows[1].name',
  ],
  ['prefix without slash', { monitoring: { prefix: 'api' } }, 'monitoring.prefix'],
  ['authorize not a function', { monitoring: { authorize: 'token' } }, 'monitoring.authorize'],
  ['negative cacheMs', { monitoring: { cacheMs: -1 } }, 'monitoring.cacheMs'],
  ['routeLimit of 0', { monitoring: { routeLimit: 0 } }, 'monitoring.routeLimit'],
  ['maxRouteLimit under routeLimit', { monitoring: { routeLimit: 100, maxRouteLimit: 10 } }, 'monitoring.maxRouteLimit'],
  ['monitoring rate of 0', { monitoring: { rateLimit: { perSecond: 0 } } }, 'monitoring.rateLimit.perSecond'],
  ['monitoring burst under 1', { monitoring: { rateLimit: { burst: 0.5 } } }, 'monitoring.rateLimit.burst'],
  ['monitoring rateLimit true', { monitoring: { rateLimit: true } }, 'monitoring.rateLimit'],
  ['challenge with a line break', { monitoring: { challenge: 'Bearer\r\nx: y' } }, 'monitoring.challenge'],
  ['serveOnApp not a boolean', { monitoring: { serveOnApp: 'no' } }, 'monitoring.serveOnApp'],
  ['exempt not an array', { exempt: '/health' }, 'exempt'],
  ['bad exempt pattern', { exempt: ['health'] }, 'exempt[0]'],
  ['bad telemetry mode', { telemetry: { mode: 'both' } }, 'telemetry.mode'],
  ['tracerProvider of the wrong kind', { telemetry: { tracerProvider: {} } }, 'telemetry.tracerProvider'],
  ['bad trustProxy', { trustProxy: 'yes' }, 'trustProxy'],
  ['bad trustProxy CIDR', { trustProxy: ['10.0.0.0/99'] }, 'trustProxy[0]'],
  ['bad route pattern', { routes: ['users/:id'] }, 'routes[0]'],
  ['logger without warn', { logger: { info() {} } }, 'logger'],
];

describe('invalid options throw at construction, naming the option', () => {
  for (const [what, options, path] of invalid) {
    test(what, () => {
      assert.throws(
        () => createEngine(options as never),
        (e: unknown) => e instanceof InvalidOptionError && e.option === path && e.message.includes(path),
      );
    });
  }

  test('valid options construct, and close stops the timers', async () => {
    // Every timer the engine starts (unref'd ones too, which getActiveResourcesInfo does not list),
    // seen through async_hooks: created during construction, destroyed by close().
    const live = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout') live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const engine = createEngine({
        monitoring: { prefix: '/ops/' },
        exempt: ['/health', () => false],
        trustProxy: ['10.0.0.0/8'],
        shed: true,
        metrics: { systemIntervalMs: 1000 },
      });
      assert.ok(engine.monitoring.has('/ops/metrics'));
      assert.ok(live.size >= 2, `the engine started ${live.size} timers (system sampler and shed sampler expected)`);
      await engine.close();
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      assert.equal(live.size, 0, `${live.size} timers still alive after close()`);
    } finally {
      hook.disable();
    }
  });
});
