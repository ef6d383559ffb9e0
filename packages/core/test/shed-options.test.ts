// The `shed` option through createAutom8 (validation naming the option path, defaults in /metrics),
// and recommendProcessAllocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../src/adapter';
import { InvalidOptionError, recommendProcessAllocation } from '../src/index';

const invalid: [unknown, string][] = [
  ['yes', 'shed'],
  [{ maxLoad: 0 }, 'shed.maxLoad'],
  [{ softLoad: 0.9 }, 'shed.softLoad'],
  [{ limits: { maxHeapUsedBytes: -5 } }, 'shed.limits.maxHeapUsedBytes'],
  [{ limits: { cpu: 1 } }, 'shed.limits.cpu'],
  [{ critical: ['checkout'] }, 'shed.critical[0]'],
  [{ priority: 'high' }, 'shed.priority'],
  [{ status: 200 }, 'shed.status'],
  [{ retryAfterSec: -1 }, 'shed.retryAfterSec'],
  [{ load: false, maxQueueDelayMs: 0 }, 'shed.load'],
  [{ maxQueueDelayMs: -1 }, 'shed.maxQueueDelayMs'],
  [{ concurrency: { algorithm: 'vegas' } }, 'shed.concurrency.algorithm'],
  [{ concurrency: { minLimit: 10, maxLimit: 5 } }, 'shed.concurrency.maxLimit'],
  [{ concurrency: { initialLimit: 2000 } }, 'shed.concurrency.initialLimit'],
  [{ concurrency: { learningRate: 2 } }, 'shed.concurrency.learningRate'],
  [{ concurrency: { queueTimeoutMs: 0 } }, 'shed.concurrency.queueTimeoutMs'],
  [{ concurrency: { partitions: { a: 0.5, b: 0.2 } } }, 'shed.concurrency.partitions'],
  [{ concurrency: { partitions: { a: 'half', b: 0.5 } } }, 'shed.concurrency.partitions.a'],
  [{ concurrency: { partition: 'a' } }, 'shed.concurrency.partition'],
  [{ concurrency: { scope: 'client' } }, 'shed.concurrency.scope'],
  [{ concurrency: { queue: 5 } }, 'shed.concurrency.queue'],
];

for (const [shed, path] of invalid) {
  test(`shed: ${JSON.stringify(shed)} throws naming ${path}`, () => {
    assert.throws(
      () => createEngine({ shed: shed as never, telemetry: { enabled: false } }),
      (e: unknown) => e instanceof InvalidOptionError && e.option === path && e.message.includes(path),
    );
  });
}

test('shed: true turns load shedding on with defaults; the feature appears in the metrics snapshot', async () => {
  const engine = createEngine({ shed: true, telemetry: { enabled: false } });
  try {
    const snap = engine.metricsSnapshot().features.shed as any;
    assert.equal(snap.shedding, false);
    assert.equal(snap.load.maxLoad, 0.8);
    assert.ok(Math.abs(snap.load.softLoad - 0.6) < 1e-9);
    assert.equal(snap.concurrency, undefined);
  } finally {
    await engine.close();
  }
  const off = createEngine({ shed: { enabled: false }, telemetry: { enabled: false } });
  assert.equal(off.metricsSnapshot().features.shed, undefined);
  await off.close();
});

test('shed.concurrency with route scope and partitions shows in the snapshot', async () => {
  const engine = createEngine({
    shed: { load: false, concurrency: { scope: 'route', partitions: { interactive: 0.9, batch: 0.1 } } },
    telemetry: { enabled: false },
  });
  try {
    assert.deepEqual((engine.metricsSnapshot().features.shed as any).concurrency, { scope: 'route', routes: {} });
  } finally {
    await engine.close();
  }
});

test('recommendProcessAllocation: a worker per core, capped by memory; thread pool by workload', () => {
  const cpu = recommendProcessAllocation('cpu_bound', { cores: 8, memoryBytes: 16 * 2 ** 30 });
  assert.equal(cpu.workers, 8);
  assert.equal(cpu.uvThreadpoolSize, 4);
  const io = recommendProcessAllocation('io_bound', { cores: 8, memoryBytes: 16 * 2 ** 30 });
  assert.equal(io.workers, 8);
  assert.equal(io.uvThreadpoolSize, 32);
  const small = recommendProcessAllocation('io_bound', { cores: 8, memoryBytes: 2 * 2 ** 30 });
  assert.equal(small.workers, 3, '2 GiB × 0.8 / 512 MiB');
  assert.ok(small.reasoning.some((r) => r.includes('memory caps')));
  const tiny = recommendProcessAllocation('cpu_bound', { cores: 2, memoryBytes: 100 * 2 ** 20 });
  assert.equal(tiny.workers, 1, 'never fewer than one');
  const here = recommendProcessAllocation('io_bound');
  assert.ok(here.workers >= 1 && here.cores >= 1 && here.memoryBytes > 0);
  assert.throws(() => recommendProcessAllocation('gpu_bound' as never), InvalidOptionError);
  assert.throws(
    () => recommendProcessAllocation('io_bound', { cores: 0 }),
    (e: unknown) => e instanceof InvalidOptionError && e.option === 'cores',
  );
});
