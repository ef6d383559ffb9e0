// Each rate-limit algorithm against its definition, over a manual clock, as table tests: a step
// advances the clock, consumes, and states what the definition says the answer is.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type LimitPolicy } from '@autom8/core';
import { MemoryRateLimitStore } from '@autom8/core/store';

interface Step {
  /** ms to advance before consuming */
  at?: number;
  cost?: number;
  allowed: boolean;
  remaining?: number;
  retryAfterMs?: number;
  resetMs?: number;
  delayMs?: number;
}

const T0 = 1_700_000_000_000; // a multiple of every window below

function run(policy: LimitPolicy, steps: Step[]): void {
  const clock = new ManualClock(T0);
  const store = new MemoryRateLimitStore({ clock });
  steps.forEach((s, i) => {
    clock.advance(s.at ?? 0);
    const r = store.consume('k', policy, s.cost ?? 1);
    const where = `step ${i} (t=${clock.now() - T0}): ${JSON.stringify(r)}`;
    assert.equal(r.allowed, s.allowed, where);
    if (s.remaining !== undefined) assert.equal(r.remaining, s.remaining, where);
    if (s.retryAfterMs !== undefined) assert.ok(r.retryAfterMs === s.retryAfterMs || Math.abs(r.retryAfterMs - s.retryAfterMs) < 1e-6, `retryAfterMs ${where}`);
    if (s.resetMs !== undefined) assert.ok(Math.abs(r.resetMs - s.resetMs) < 1e-6, `resetMs ${where}`);
    if (s.delayMs !== undefined) assert.ok(Math.abs((r.delayMs ?? 0) - s.delayMs) < 1e-6, `delayMs ${where}`);
  });
}

const policy = (p: Partial<LimitPolicy> & Pick<LimitPolicy, 'algorithm' | 'limit' | 'windowMs'>): LimitPolicy => ({ name: 'p', burst: p.limit, ...p });

describe('token bucket: burst capacity, refill of rate per period', () => {
  // 10 per second = one token per 100 ms; 5 tokens of capacity.
  const p = policy({ algorithm: 'token-bucket', limit: 10, windowMs: 1000, burst: 5 });
  test('a full bucket serves the burst, then refills continuously', () =>
    run(p, [
      { allowed: true, remaining: 4, resetMs: 100 },
      { allowed: true, remaining: 3 },
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0, resetMs: 500 },
      { allowed: false, remaining: 0, retryAfterMs: 100 },
      { at: 250, allowed: true, remaining: 1 }, // 2.5 tokens → 1.5
      { allowed: true, remaining: 0 }, // 0.5
      { allowed: false, retryAfterMs: 50 },
      { at: 50, allowed: true, remaining: 0 },
      { at: 10_000, allowed: true, remaining: 4 }, // refill caps at the capacity
      { cost: 4, allowed: true, remaining: 0 },
    ]));
  test('a cost above the capacity can never pass', () => run(p, [{ cost: 6, allowed: false, retryAfterMs: Infinity }]));
});

describe('leaky bucket as a policer: a bucket of `burst` leaking at the rate', () => {
  const p = policy({ algorithm: 'leaky-bucket', limit: 10, windowMs: 1000, burst: 3 });
  test('overflow is refused until enough has leaked', () =>
    run(p, [
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0, resetMs: 300 },
      { allowed: false, retryAfterMs: 100 },
      { at: 100, allowed: true, remaining: 0 },
      { at: 150, allowed: true, remaining: 0 }, // leaked 1.5 → level 1.5 + 1 = 2.5
      { allowed: false, retryAfterMs: 50 },
    ]));
});

describe('leaky bucket as a shaper: constant outflow, delay up to maxDelayMs', () => {
  // one per 100 ms; a request may wait up to 300 ms for its turn
  const p = policy({ algorithm: 'leaky-bucket', limit: 10, windowMs: 1000, maxDelayMs: 300 });
  test('requests are spaced by the emission interval and refused past the maximum delay', () =>
    run(p, [
      { allowed: true, delayMs: 0, remaining: 3 },
      { allowed: true, delayMs: 100, remaining: 2 },
      { allowed: true, delayMs: 200, remaining: 1 },
      { allowed: true, delayMs: 300, remaining: 0 },
      { allowed: false, retryAfterMs: 100 },
      { at: 100, allowed: true, delayMs: 300 },
      { at: 1000, allowed: true, delayMs: 0 },
    ]));
});

describe('fixed window: at most `limit` per aligned window', () => {
  const p = policy({ algorithm: 'fixed-window', limit: 3, windowMs: 1000 });
  test('the count resets exactly at the window edge', () =>
    run(p, [
      { at: 900, allowed: true, remaining: 2, resetMs: 100 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
      { at: 99, allowed: false, retryAfterMs: 1 },
      { at: 1, allowed: true, remaining: 2, resetMs: 1000 }, // t = 1000: new window
      { cost: 2, allowed: true, remaining: 0 },
      { allowed: false, retryAfterMs: 1000 },
    ]));
});

describe('sliding window: previous count weighted by its overlap plus the current count', () => {
  const p = policy({ algorithm: 'sliding-window', limit: 10, windowMs: 1000 });
  test('weights the previous window and predicts the retry time', () =>
    run(p, [
      { cost: 10, allowed: true, remaining: 0 },
      // current full: retry when next window's weight of 10 falls to 9: 1000 + 100
      { allowed: false, retryAfterMs: 1100 },
      { at: 1000, allowed: false, retryAfterMs: 100 }, // t=1000: estimate 10·1.0
      { at: 100, allowed: true, remaining: 0 }, // t=1100: 10·0.9 + 0 = 9 → 9 + 1 = 10
      { at: 500, allowed: true, remaining: 4 }, // t=1600: 10·0.4 + 1 = 5 → after: 6
      { cost: 4, allowed: true, remaining: 0 }, // 4 + 1 + 4 = 9 ... + 4 = 10 - 0
    ]));
  test('an idle previous window counts for nothing', () =>
    run(p, [
      { cost: 5, allowed: true, remaining: 5 },
      { at: 2000, allowed: true, remaining: 9 }, // two windows later: previous was empty
    ]));
});

describe('sliding log: exact count of the last windowMs', () => {
  const p = policy({ algorithm: 'sliding-log', limit: 3, windowMs: 1000 });
  test('an entry leaves the window exactly windowMs after it arrived', () =>
    run(p, [
      { allowed: true, remaining: 2 },
      { at: 100, allowed: true, remaining: 1 },
      { at: 100, allowed: true, remaining: 0, resetMs: 1000 },
      { at: 100, allowed: false, retryAfterMs: 700 }, // the t=0 entry leaves at t=1000
      { at: 699, allowed: false, retryAfterMs: 1 },
      { at: 1, allowed: true, remaining: 0 },
      { at: 100, cost: 2, allowed: false, retryAfterMs: 100 }, // t=1100: needs the t=200 entry gone too
    ]));
});

describe('GCRA: theoretical arrival time, emission interval T = period / rate', () => {
  // T = 100 ms, burst 3 → tolerance 300 ms
  const p = policy({ algorithm: 'gcra', limit: 10, windowMs: 1000, burst: 3 });
  test('admits while now ≥ TAT + T − burst·T', () =>
    run(p, [
      { allowed: true, remaining: 2, resetMs: 100 },
      { allowed: true, remaining: 1, resetMs: 200 },
      { allowed: true, remaining: 0, resetMs: 300 },
      { allowed: false, remaining: 0, retryAfterMs: 100 },
      { at: 40, allowed: false, retryAfterMs: 60 },
      { at: 60, allowed: true, remaining: 0 }, // TAT was 300, now 100: 400 − 300 = 100 ≤ now
      { at: 5000, allowed: true, remaining: 2 },
      { cost: 2, allowed: true, remaining: 0 },
    ]));
  test('GCRA and the token bucket agree on the same sequence', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryRateLimitStore({ clock });
    const g = policy({ algorithm: 'gcra', limit: 20, windowMs: 1000, burst: 7 });
    const tb = policy({ algorithm: 'token-bucket', limit: 20, windowMs: 1000, burst: 7 });
    const gaps = [0, 0, 0, 10, 60, 0, 0, 0, 0, 0, 0, 7, 300, 0, 0, 0, 0, 0, 0, 0, 0, 49, 51, 0];
    for (const gap of gaps) {
      clock.advance(gap);
      assert.equal(store.consume('a', g, 1).allowed, store.consume('b', tb, 1).allowed, `at ${clock.now() - T0}`);
    }
  });
});

describe('memory store bounds', () => {
  test('100,000 distinct clients never hold more than maxKeys', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryRateLimitStore({ clock, maxKeys: 1000 });
    const p = policy({ algorithm: 'fixed-window', limit: 5, windowMs: 60_000 });
    for (let i = 0; i < 100_000; i++) store.consume(`c${i}`, p, 1);
    assert.equal(store.size, 1000);
    assert.equal(store.evictions, 99_000);
  });
  test('expired keys are evicted before live ones', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryRateLimitStore({ clock, maxKeys: 2 });
    const short = policy({ algorithm: 'fixed-window', limit: 1, windowMs: 1000, name: 'short' });
    const long = policy({ algorithm: 'fixed-window', limit: 1, windowMs: 3_600_000, name: 'long' });
    store.consume('old', short, 1); // expires at t=1000
    store.consume('live', long, 1);
    clock.advance(1000);
    store.consume('new', long, 1); // evicts 'old' (expired)
    assert.equal(store.consume('live', long, 1).allowed, false, 'the live key kept its count');
  });
});
