// The adaptive concurrency limiter: slots, the bounded wait queue (FIFO while fresh, LIFO once
// stale, timeouts), priority partitions, and the gradient / AIMD limit algorithms, on a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../src/index';
import { ConcurrencyLimiter, type ConcurrencySettings } from '../src/shed/concurrency-limiter';
import { AimdLimit, GradientLimit, type LimitSettings } from '../src/shed/limit-algorithm';
import { WaitQueue } from '../src/shed/wait-queue';

const base: ConcurrencySettings = {
  algorithm: 'gradient',
  initialLimit: 2,
  minLimit: 1,
  maxLimit: 100,
  learningRate: 0.5,
  rttTolerance: 1.5,
  backoffRatio: 0.9,
  tuneIntervalMs: 1000,
  minSamples: 5,
  queueSize: 3,
  queueTimeoutMs: 1000,
  partitions: [{ name: 'default', share: 1 }],
};

function limiter(over: Partial<ConcurrencySettings> = {}) {
  const clock = new ManualClock();
  const l = new ConcurrencyLimiter('t', { ...base, ...over }, clock);
  return { l, clock };
}

test('takes free slots at once, queues when full, rejects when the queue is full', () => {
  const { l, clock } = limiter();
  const p = l.partitions[0]!;
  const now = clock.now();
  assert.equal(l.acquire(p, now), true);
  assert.equal(l.acquire(p, now), true);
  const queued = [l.acquire(p, now), l.acquire(p, now), l.acquire(p, now)];
  for (const t of queued) assert.equal(typeof t, 'object');
  assert.equal(l.acquire(p, now), false, 'queue of 3 is full');
  assert.equal(l.queued, 3);
  const granted: number[] = [];
  queued.forEach((t, i) => ((t as { settle: unknown }).settle = (ok: boolean) => ok && granted.push(i)));
  l.release(p, now, now + 10, false);
  assert.deepEqual(granted, [0], 'fresh queue is served FIFO');
  assert.equal(l.inFlight, 2);
  l.close();
});

test('once the oldest waiter is stale, the queue is served LIFO; waiters time out after queueTimeoutMs', () => {
  const { l, clock } = limiter({ initialLimit: 1, minLimit: 1 });
  const p = l.partitions[0]!;
  const t0 = clock.now();
  assert.equal(l.acquire(p, t0), true);
  const outcome: string[] = [];
  const a = l.acquire(p, t0) as { settle: unknown };
  a.settle = (ok: boolean) => outcome.push(`a:${ok}`);
  clock.advance(300);
  const b = l.acquire(p, clock.now()) as { settle: unknown };
  b.settle = (ok: boolean) => outcome.push(`b:${ok}`);
  clock.advance(300); // oldest has waited 600 ms > queueTimeoutMs / 2: overload, LIFO
  const c = l.acquire(p, clock.now()) as { settle: unknown };
  c.settle = (ok: boolean) => outcome.push(`c:${ok}`);
  l.release(p, t0, clock.now(), false);
  assert.deepEqual(outcome, ['c:true'], 'the newest waiter is served first');
  clock.advance(500); // a has now waited 1100 ms
  l.expire(clock.now());
  assert.deepEqual(outcome, ['c:true', 'a:false'], 'the stale waiter timed out');
  clock.advance(500);
  l.expire(clock.now());
  assert.deepEqual(outcome, ['c:true', 'a:false', 'b:false']);
  assert.equal(l.queued, 0);
  assert.equal(l.snapshot().partitions[0]!.timedOut, 2);
  l.close();
});

test('a cancelled waiter gives its place back', () => {
  const { l, clock } = limiter({ initialLimit: 1, queueSize: 1 });
  const p = l.partitions[0]!;
  const now = clock.now();
  l.acquire(p, now);
  const t = l.acquire(p, now);
  assert.equal(typeof t, 'object');
  assert.equal(l.acquire(p, now), false);
  l.cancel(t as never);
  assert.equal(typeof l.acquire(p, now), 'object');
  l.close();
});

test('partitions: each class keeps its guaranteed share while another saturates the limit', () => {
  const { l, clock } = limiter({
    initialLimit: 10,
    queueSize: 10,
    partitions: [
      { name: 'interactive', share: 0.9 },
      { name: 'batch', share: 0.1 },
    ],
  });
  const now = clock.now();
  const interactive = l.partition('interactive');
  const batch = l.partition('batch');
  assert.equal(l.partition('unknown'), interactive, 'unknown names go to the largest partition');
  // batch borrows the whole idle limit…
  for (let i = 0; i < 10; i++) assert.equal(l.acquire(batch, now), true);
  assert.equal(typeof l.acquire(batch, now), 'object', 'batch beyond the limit waits');
  // …but interactive still gets its 9 guaranteed slots.
  for (let i = 0; i < 9; i++) assert.equal(l.acquire(interactive, now), true, `interactive #${i}`);
  assert.equal(typeof l.acquire(interactive, now), 'object', 'interactive beyond its share waits');
  // Total in flight is 19 > limit 10: a freed batch slot goes to nobody until the total is under the limit.
  l.release(batch, now, now + 5, false);
  assert.equal(l.queued, 2);
  const snap = l.snapshot();
  assert.equal(snap.partitions.find((p) => p.name === 'interactive')!.guaranteed, 9);
  assert.equal(snap.partitions.find((p) => p.name === 'batch')!.guaranteed, 1);
  l.close();
});

const settings: LimitSettings = { minLimit: 1, maxLimit: 200, learningRate: 0.5, rttTolerance: 1.5, backoffRatio: 0.9 };

test('gradient: grows while latency holds and the limit is used; shrinks when latency climbs', () => {
  const g = new GradientLimit(settings);
  let limit = 10;
  for (let i = 0; i < 10; i++) limit = g.next(limit, { meanRttMs: 10, samples: 100, drops: 0, maxInFlight: limit });
  assert.ok(limit > 20, `grew to ${limit}`);
  const before = limit;
  for (let i = 0; i < 10; i++) limit = g.next(limit, { meanRttMs: 40, samples: 100, drops: 0, maxInFlight: limit });
  assert.ok(limit < before * 0.6, `shrank from ${before} to ${limit}`);
  assert.ok(limit >= 1);
});

test('gradient: does not grow when app-limited (the upward drift of Gradient2)', () => {
  const g = new GradientLimit(settings);
  let limit = 50;
  for (let i = 0; i < 50; i++) limit = g.next(limit, { meanRttMs: 10, samples: 100, drops: 0, maxInFlight: 5 });
  assert.equal(limit, 50);
});

test('gradient: failed requests back the limit off even if latency looks fine', () => {
  const g = new GradientLimit(settings);
  let limit = 50;
  for (let i = 0; i < 5; i++) limit = g.next(limit, { meanRttMs: 1, samples: 100, drops: 30, maxInFlight: 50 });
  assert.ok(limit < 40, `backed off to ${limit}`);
  // only failures in a window (steady timeouts): still backs off, never grows
  const l2 = g.next(40, { meanRttMs: 0, samples: 10, drops: 10, maxInFlight: 40 });
  assert.ok(l2 < 40);
});

test('aimd: additive increase while healthy and used, multiplicative decrease on latency or drops', () => {
  const a = new AimdLimit(settings);
  let limit = 10;
  limit = a.next(limit, { meanRttMs: 10, samples: 50, drops: 0, maxInFlight: 10 });
  assert.ok(limit > 10 && limit <= 12, `one additive step: ${limit}`);
  const up = limit;
  limit = a.next(limit, { meanRttMs: 100, samples: 50, drops: 0, maxInFlight: 12 });
  assert.ok(Math.abs(limit - up * 0.9) < 1e-9, 'latency over tolerance: × backoff');
  const l2 = a.next(limit, { meanRttMs: 10, samples: 50, drops: 3, maxInFlight: 12 });
  assert.ok(Math.abs(l2 - limit * 0.9) < 1e-9, 'drops: × backoff');
});

test('the limiter re-tunes once per interval from finished requests', () => {
  const { l, clock } = limiter({ initialLimit: 10, learningRate: 1 });
  const p = l.partitions[0]!;
  // Saturate: 10 in flight, each takes 10 ms; one interval of those, then one of 50 ms.
  const round = (rtt: number) => {
    const start = clock.now();
    for (let i = 0; i < 10; i++) assert.equal(l.acquire(p, start), true);
    clock.advance(rtt);
    for (let i = 0; i < 10; i++) l.release(p, start, clock.now(), false);
  };
  for (let i = 0; i < 100; i++) round(10); // 1 s of 10 ms requests
  const grown = l.limit;
  assert.ok(grown > 10, `grew: ${grown}`);
  for (let i = 0; i < 20; i++) round(60);
  assert.ok(l.limit < grown, `shrank under higher latency: ${l.limit} < ${grown}`);
  l.close();
});

test('WaitQueue squeezes out holes left by cancelled waiters', () => {
  const q = new WaitQueue<{ enqueuedAt: number; waiting: boolean }>(3, 1000);
  const w = [0, 1, 2].map((i) => ({ enqueuedAt: i, waiting: true }));
  for (const x of w) assert.ok(q.push(x));
  q.remove(w[1]!);
  assert.ok(q.push({ enqueuedAt: 3, waiting: true }), 'the hole in the middle was reused');
  assert.equal(q.live, 3);
  assert.equal(q.shift(10), w[0]);
});
