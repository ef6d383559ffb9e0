import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { batchProcess } from '@autom8/toolkit';

// A real full GC between heap readings, so that garbage does not pass for retained memory.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('1,000,000 records flow through with bounded memory and in order', async () => {
  const N = 1_000_000;
  const batchSize = 500;
  const concurrency = 4;
  let pulled = 0;
  let processed = 0;
  let maxHeld = 0;
  // ~100 bytes of payload per record: ~150 MB if the pipeline held them all.
  function* records() {
    for (let i = 0; i < N; i++) {
      pulled++;
      yield { id: i, payload: `record-${i}-${'x'.repeat(80)}` };
    }
  }
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let maxHeapGrowth = 0;
  let expectedFirst = 0;
  let sum = 0;
  let batches = 0;
  const gen = batchProcess(records(), {
    batchSize,
    concurrency,
    process: async (batch, index) => {
      await new Promise((resolve) => setImmediate(resolve)); // a real async hop, as I/O would be
      let s = 0;
      for (const r of batch) s += r.id;
      processed += batch.length;
      return { index, first: batch[0]!.id, size: batch.length, s };
    },
  });
  for await (const r of gen) {
    assert.equal(r.index, batches, 'results come in source order');
    assert.equal(r.first, expectedFirst);
    expectedFirst += r.size;
    sum += r.s;
    batches++;
    maxHeld = Math.max(maxHeld, pulled - processed);
    if (batches % 400 === 0) {
      gc();
      maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - baseline);
    }
  }
  assert.equal(batches, N / batchSize);
  assert.equal(sum, (N * (N - 1)) / 2);
  assert.equal(pulled, N);
  // Backpressure: never more than (concurrency + 1) batches read ahead of processing.
  assert.ok(maxHeld <= (concurrency + 1) * batchSize, `held ${maxHeld} records at once`);
  assert.ok(maxHeapGrowth < 16 * 1024 * 1024, `heap grew by ${(maxHeapGrowth / 1048576).toFixed(1)} MB`);
});

test('without a processing function it yields the batches; the last one is short', async () => {
  const sizes: number[] = [];
  for await (const b of batchProcess([1, 2, 3, 4, 5, 6, 7], { batchSize: 3 })) sizes.push(b.length);
  assert.deepEqual(sizes, [3, 3, 1]);
  const fromAsync = [];
  async function* gen() {
    for (let i = 0; i < 1001; i++) yield i;
  }
  for await (const b of batchProcess(gen())) fromAsync.push(b.length);
  assert.deepEqual(fromAsync, [500, 500, 1]);
  for await (const _ of batchProcess([], { batchSize: 2 })) assert.fail('no batch from an empty source');
});

test('stopping early closes the source; a failing batch rejects the loop', async () => {
  let closed = false;
  function* src() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  for await (const b of batchProcess(src(), { batchSize: 10 })) if (b[0] === 30) break;
  assert.equal(closed, true);

  const run = async () => {
    for await (const _ of batchProcess(
      Array.from({ length: 100 }, (_, i) => i),
      {
        batchSize: 10,
        concurrency: 3,
        process: (b) => {
          if (b[0] === 40) throw new Error('batch 4 failed');
          return b.length;
        },
      },
    ));
  };
  await assert.rejects(run, /batch 4 failed/);
});

test('bad options throw naming the option', async () => {
  await assert.rejects(batchProcess([1], { batchSize: 0 }).next(), /batchSize/);
  await assert.rejects(batchProcess([1], { concurrency: 1.5 } as never).next(), /concurrency/);
  await assert.rejects(batchProcess(42 as never).next(), /iterable/);
});
