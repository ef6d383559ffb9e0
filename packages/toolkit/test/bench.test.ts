import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { bench, compare } from '@autom8/toolkit';

// CPU work whose cost is proportional to n (no allocation, nothing the JIT can fold away).
function work(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + Math.sqrt(i * 7 + x)) % 1e9;
  return x;
}

test('bench measures a sync function: consistent statistics, batching for fast calls', async () => {
  const r = await bench('work(2000)', () => work(2000), { time: 300, warmup: 50 });
  assert.equal(r.name, 'work(2000)');
  assert.equal(r.async, false);
  assert.ok(r.samples >= 10, `samples ${r.samples}`);
  assert.ok(r.iterations >= r.samples);
  assert.ok(r.min <= r.p50 && r.p50 <= r.p95 && r.p95 <= r.p99 && r.p99 <= r.max);
  assert.ok(r.min <= r.mean && r.mean <= r.max);
  assert.ok(Math.abs(r.opsPerSec - 1e9 / r.mean) < 1e-6 * r.opsPerSec);
  assert.ok(r.rme >= 0 && Number.isFinite(r.rme));

  const fast = await bench('tiny', () => 1 + 1, { time: 100, warmup: 50 });
  assert.ok(fast.batchSize > 1, 'a nanosecond function is timed in batches');
  assert.ok(fast.mean < 1000, `mean ${fast.mean} ns for 1 + 1`);
});

test('bench awaits async functions and counts their time; iterations bounds the calls', async () => {
  // Waits at least 2 ms by the clock, yielding to the event loop meanwhile (a timer may fire early).
  const wait2ms = async () => {
    const end = performance.now() + 2;
    while (performance.now() < end) await new Promise((resolve) => setImmediate(resolve));
  };
  const r = await bench('wait 2ms', wait2ms, { iterations: 15, warmup: 0 });
  assert.equal(r.async, true);
  assert.equal(r.batchSize, 1);
  assert.equal(r.iterations, 15);
  assert.equal(r.samples, 15);
  assert.ok(r.min >= 2e6, `min ${r.min} ns < the 2 ms waited`);
});

test('concurrency keeps N async calls in flight: throughput scales with it, latency does not', async () => {
  // A call that waits on a timer (like I/O): at concurrency 8, about 8× the calls per second.
  const io = () => new Promise((resolve) => setTimeout(resolve, 10));
  const one = await bench('io ×1', io, { time: 300, warmup: 20 });
  const eight = await bench('io ×8', io, { time: 300, warmup: 20, concurrency: 8 });
  assert.equal(eight.concurrency, 8);
  assert.ok(eight.opsPerSec > one.opsPerSec * 4, `${eight.opsPerSec} vs ${one.opsPerSec} ops/s`);
  assert.ok(eight.p50 >= 8e6, `per-call latency ${eight.p50} ns stays that of one call`);
  assert.ok(Math.abs(eight.opsPerSec - (eight.iterations / eight.totalMs) * 1000) < 1e-6);
  await assert.rejects(
    bench('sync', () => 1, { concurrency: 2 }),
    /async function/,
  );
  await assert.rejects(bench('x', io, { concurrency: 0 }), /concurrency/);
});

test('compare ranks a real 2× difference as significant', async () => {
  const r = await compare('double work', { slow: () => work(4000), fast: () => work(2000) }, { time: 800, warmup: 50 });
  assert.deepEqual(
    r.entries.map((e) => e.name),
    ['fast', 'slow'],
  );
  const slow = r.entries[1]!;
  assert.ok(slow.ratio > 1.5 && slow.ratio < 2.8, `ratio ${slow.ratio}`);
  assert.ok(slow.p < 0.01, `p ${slow.p}`);
  assert.equal(slow.significant, true);
  assert.equal(r.entries[0]!.significant, false);
  assert.match(r.table, /fast\s.*fastest/);
  assert.match(r.table, /slow\s.*× slower.*yes/);
});

test('compare does not flag identical functions', async () => {
  // The same function three times: any difference is measurement noise. (Two separately compiled
  // copies of the same source can really differ by a few percent; minDifference covers that.)
  const same = () => work(3000);
  const r = await compare('same work', { a: same, b: same, c: same }, { time: 900, warmup: 50 });
  for (const e of r.entries) assert.equal(e.significant, false, `${e.name}: ratio ${e.ratio}, p ${e.p}`);
});

test('bad arguments throw naming the argument', async () => {
  await assert.rejects(bench('x', 42 as never), /fn of bench/);
  await assert.rejects(
    bench('x', () => 1, { time: -1 }),
    /time/,
  );
  await assert.rejects(compare('x', { only: () => 1 }), /at least two/);
  await assert.rejects(compare('x', { a: () => 1, b: 'no' as never }), /fns\.b/);
  await assert.rejects(compare('x', { a: () => 1, b: () => 2 }, { rounds: 1 }), /rounds/);
});
