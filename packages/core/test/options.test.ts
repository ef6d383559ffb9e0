import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAutom8, InvalidOptionError } from '../src/index';

const invalid: [string, unknown, string][] = [
  ['not an object', 42, 'options'],
  ['unknown top-level option', { metrix: {} }, 'metrix'],
  ['unknown nested option', { metrics: { maxSerie: 3 } }, 'metrics.maxSerie'],
  ['negative maxSeries', { metrics: { maxSeries: -1 } }, 'metrics.maxSeries'],
  ['fractional maxSeries', { metrics: { maxSeries: 2.5 } }, 'metrics.maxSeries'],
  ['empty windows', { metrics: { windows: [] } }, 'metrics.windows'],
  ['window without slots', { metrics: { windows: [{ name: '1m', intervalMs: 1000 }] } }, 'metrics.windows[0].slots'],
  ['duplicate window names', { metrics: { windows: [{ name: 'a', intervalMs: 1000, slots: 2 }, { name: 'a', intervalMs: 1000, slots: 2 }] } }, 'metrics.windows[1].name'],
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
        () => createAutom8(options as never),
        (e: unknown) => e instanceof InvalidOptionError && e.option === path && e.message.includes(path),
      );
    });
  }

  test('valid options construct, and close stops the timers', async () => {
    const engine = createAutom8({ monitoring: { prefix: '/ops/' }, exempt: ['/health', () => false], trustProxy: ['10.0.0.0/8'] });
    assert.ok(engine.monitoring.has('/ops/metrics'));
    await engine.close();
  });
});
