import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../src/adapter';
import { ManualClock } from '../src/index';

describe('custom metrics API', () => {
  test('recordLatency / recordThroughput appear in snapshot() per name and attributes', async () => {
    const clock = new ManualClock();
    const engine = createEngine({ clock, telemetry: { enabled: false } });
    try {
      for (let i = 1; i <= 100; i++) engine.recordLatency('db.query', i * 1_000_000, { table: 'users' });
      engine.recordLatency('db.query', 5_000_000, { table: 'orders' });
      engine.recordThroughput('queue.messages', 250, { queue: 'emails' });
      clock.advance(5_000);
      engine.recordThroughput('queue.messages', 250, { queue: 'emails' });
      const snap = engine.snapshot();
      const users = snap.custom.latency.find((s) => s.attributes.table === 'users')!;
      assert.equal(users.name, 'db.query');
      assert.equal(users.total.count, 100);
      assert.ok(Math.abs(users.total.p50Ms - 50) / 50 < 0.01, `p50 ${users.total.p50Ms}`);
      assert.ok(Math.abs(users.total.p99Ms - 99) / 99 < 0.01, `p99 ${users.total.p99Ms}`);
      assert.equal(users.total.maxMs, 100);
      assert.equal(snap.custom.latency.length, 2);
      const q = snap.custom.throughput[0]!;
      assert.equal(q.total.count, 500);
      assert.equal(q.windows['1m']!.count, 500);
      assert.ok(q.windows['1m']!.ratePerSec > 90 && q.windows['1m']!.ratePerSec <= 100, `rate ${q.windows['1m']!.ratePerSec}`);
    } finally {
      await engine.close();
    }
  });

  test('attribute order does not create separate series; bad values are dropped, not thrown', async () => {
    const engine = createEngine({ telemetry: { enabled: false } });
    try {
      engine.recordLatency('x', 1000, { a: 1, b: 2 });
      engine.recordLatency('x', 1000, { b: 2, a: 1 });
      engine.recordLatency('x', Number.NaN);
      engine.recordLatency('x', -5);
      engine.recordThroughput('y', Number.POSITIVE_INFINITY);
      const snap = engine.snapshot();
      assert.equal(snap.custom.latency.length, 1);
      assert.equal(snap.custom.latency[0]!.total.count, 2);
      assert.equal(snap.custom.throughput.length, 0);
    } finally {
      await engine.close();
    }
  });

  test('custom series are capped like route series', async () => {
    const engine = createEngine({ telemetry: { enabled: false }, metrics: { maxSeries: 10 } });
    try {
      for (let i = 0; i < 1000; i++) engine.recordLatency('op', 1000, { id: i });
      const snap = engine.snapshot();
      assert.equal(snap.custom.latency.length, 11); // 10 + overflow
      assert.equal(snap.custom.latency.find((s) => s.name === 'overflow')!.total.count, 990);
    } finally {
      await engine.close();
    }
  });
});
