// Eviction order of the memory rate-limit store under churn at its cap. The store used to keep one
// Map per policy, move a restarted key to its back (delete + set), and read the oldest keys with a
// fresh iterator per eviction; in V8 both grow with the deleted entries the Map still holds, which
// benchmarks/scale.bench.mjs showed as 40 µs checks among 1M keys and 60 µs evictions at 100k. It
// now keeps two generations read by one forward-only cursor; these tests pin that the order it
// evicts in did not change: expired first, else the key least recently started, with resets,
// re-adds and restarts in between. (The speed itself is measured by the benchmark, not here.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type LimitPolicy } from '@autom8/core';
import { MemoryRateLimitStore } from '@autom8/core/store';
import { seededRandom } from '../../../test/support/seeded-random';

const T0 = 1_700_000_000_000;
const LIMIT = 1_000_000;
const hour = (name: string): LimitPolicy => ({ name, algorithm: 'fixed-window', limit: LIMIT, windowMs: 3_600_000, burst: LIMIT });

describe('memory store eviction under churn', () => {
  test('with nothing expired, the oldest key of the inserting policy goes, across resets, for 20,000 operations', () => {
    const clock = new ManualClock(T0);
    const cap = 64;
    const store = new MemoryRateLimitStore({ clock, maxKeys: cap });
    const policies = [hour('a'), hour('b')];
    // The model: per policy, held keys in start order with their consumed count.
    const model = policies.map(() => new Map<string, number>());
    let evictions = 0;
    let next = 0;
    const rnd = seededRandom(8);
    for (let op = 0; op < 20_000; op++) {
      const pi = rnd() < 0.7 ? 0 : 1;
      const p = policies[pi]!;
      const m = model[pi]!;
      const held = [...m.keys()];
      const r = rnd();
      if (r < 0.1 && held.length > 0) {
        // reset a key anywhere, often one at the front, where eviction reads
        const k = held[rnd() < 0.5 ? 0 : Math.floor(rnd() * held.length)]!;
        store.reset(k, p);
        m.delete(k);
      } else if (r < 0.4 && held.length > 0) {
        const k = held[Math.floor(rnd() * held.length)]!;
        const got = store.consume(k, p, 1);
        m.set(k, m.get(k)! + 1);
        assert.equal(got.remaining, LIMIT - m.get(k)!, `op ${op}: held key ${k} kept its count`);
      } else {
        const k = `c${next++}`;
        if (model[0]!.size + model[1]!.size >= cap) {
          // the oldest of this policy, or of the larger one when this one holds none
          const from = m.size > 0 ? m : model[1 - pi]!;
          from.delete(from.keys().next().value!);
          evictions++;
        }
        const got = store.consume(k, p, 1);
        m.set(k, 1);
        assert.equal(got.remaining, LIMIT - 1, `op ${op}: new key ${k} starts fresh`);
      }
      assert.equal(store.size, model[0]!.size + model[1]!.size, `op ${op}: size`);
    }
    assert.equal(store.evictions, evictions);
    assert.ok(evictions > 5000, `the run exercised eviction (${evictions})`);
    // Every key the model holds is still counted in the store (consuming a held key inserts nothing).
    policies.forEach((p, pi) => {
      for (const [k, n] of model[pi]!) assert.equal(store.consume(k, p, 1).remaining, LIMIT - n - 1, `${p.name}/${k} held`);
    });
  });

  test('keys reset, re-added or restarted after the eviction cursor passed them are not mistaken for the oldest', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryRateLimitStore({ clock, maxKeys: 20 });
    // 1 token per second, 1000 of capacity: a key that spent `c` tokens expires c seconds later.
    const tb: LimitPolicy = { name: 'tb', algorithm: 'token-bucket', limit: 1000, windowMs: 1_000_000, burst: 1000 };
    for (let i = 0; i < 20; i++) store.consume(`k${i}`, tb, i === 1 ? 1 : 100); // k1 expires at +1 s, the rest at +100 s
    store.consume('k20', tb, 100); // full: evicts k0, and the cursor reads on past k1..k7
    clock.advance(2000);
    assert.equal(store.consume('k1', tb, 1).remaining, 999, 'k1 expired and restarts fresh, at the back');
    store.reset('k3', tb);
    store.consume('k3', tb, 1); // k3 again, now at the back
    store.reset('k4', tb);
    store.consume('k21', tb, 1); // takes the slot k4 left
    // Order now: k2, k5..k21, k1, k3. Nothing is expired (k1's old record was, but k1 restarted).
    store.consume('k22', tb, 1); // evicts k2
    store.consume('k23', tb, 1); // evicts k5 (k3 and k4 are stale entries at the front)
    assert.equal(store.evictions, 3);
    assert.equal(store.size, 20);
    assert.equal(store.consume('k1', tb, 1).remaining, 998, 'k1 kept its restarted count');
    assert.equal(store.consume('k3', tb, 1).remaining, 998, 'k3 kept its new count');
    assert.equal(store.consume('k6', tb, 1).remaining, 901, 'k6 kept its count (900 + 2 s of refill - 1)');
    assert.equal(store.consume('k5', tb, 1).remaining, 999, 'k5 was evicted: fresh');
    assert.equal(store.consume('k2', tb, 1).remaining, 999, 'k2 was evicted: fresh');
  });

  test('an expired key deep in a large table is still found first after many evictions', () => {
    const clock = new ManualClock(T0);
    const store = new MemoryRateLimitStore({ clock, maxKeys: 1000 });
    const long = hour('long');
    const short: LimitPolicy = { name: 'short', algorithm: 'fixed-window', limit: 5, windowMs: 1000, burst: 5 };
    for (let i = 0; i < 5000; i++) store.consume(`old${i}`, long, 1); // 4000 evictions move the cursor far
    store.consume('gone-soon', short, 1);
    clock.advance(1000);
    // The store is full; the short key is the only expired one, and is evicted before any long key.
    store.consume('new', long, 1);
    assert.equal(store.evictions, 4002);
    assert.equal(store.consume('old4001', long, 1).remaining, LIMIT - 2, 'the oldest long key was kept');
  });
});
