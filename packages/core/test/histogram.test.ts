import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKET_COUNT, Histogram, bucketIndex, bucketLowerBound, bucketMidpoint } from '../src/metrics/histogram';
import { seededRandom } from '../../../test/support/seeded-random';

function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

const QS = [0.5, 0.9, 0.95, 0.99, 0.999];

function checkAccuracy(name: string, draw: () => number): void {
  const n = 1_000_000;
  const h = new Histogram();
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = draw();
    values[i] = v;
    h.record(v);
  }
  values.sort();
  const got = h.quantiles(QS);
  QS.forEach((q, i) => {
    const exact = exactQuantile(values, q);
    const err = Math.abs(got[i]! - exact) / exact;
    assert.ok(err <= 0.01, `${name} p${q * 100}: got ${got[i]}, exact ${exact}, error ${(err * 100).toFixed(3)}%`);
  });
  assert.equal(h.quantile(1), values[n - 1]);
  assert.equal(h.quantile(0), values[0]);
  assert.equal(h.count, n);
}

describe('Histogram', () => {
  test('percentiles within 1% of the exact ones: uniform sample of 1e6 values (1 µs .. 1 h)', () => {
    const rnd = seededRandom(42);
    checkAccuracy('uniform', () => 1 + rnd() * 3.6e9);
  });

  test('percentiles within 1% of the exact ones: lognormal sample of 1e6 values', () => {
    const rnd = seededRandom(7);
    // Box-Muller; median e^9 µs ≈ 8 ms, sigma 1.5: spans µs to seconds.
    checkAccuracy('lognormal', () => {
      const u = 1 - rnd();
      const v = rnd();
      return Math.exp(9 + 1.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    });
  });

  test('every bucket midpoint is within 0.8% of any value in the bucket, from 1 µs to 1 h', () => {
    for (let v = 1; v < 3.6e9; v *= 1.0137) {
      const mid = bucketMidpoint(bucketIndex(v));
      assert.ok(Math.abs(mid - v) / v < 0.008, `value ${v}: midpoint ${mid}`);
      assert.ok(bucketLowerBound(bucketIndex(v)) <= v);
    }
  });

  test('out-of-range values are clamped, never thrown or lost', () => {
    const h = new Histogram();
    for (const v of [0, -5, Number.NaN, 0.2, 1e12]) h.record(v);
    assert.equal(h.count, 5);
    assert.equal(bucketIndex(1e12), BUCKET_COUNT - 1);
    assert.equal(bucketIndex(Number.NaN), 0);
  });

  test('memory is fixed: the bucket array does not grow with the number of values', () => {
    const h = new Histogram();
    h.record(1);
    const counts = h.counts!;
    for (let i = 0; i < 100_000; i++) h.record(i * 37);
    assert.equal(h.counts, counts);
    assert.equal(counts.length, BUCKET_COUNT);
  });

  test('add merges and reset empties', () => {
    const a = new Histogram();
    const b = new Histogram();
    a.record(10);
    b.record(1000);
    a.add(b);
    assert.equal(a.count, 2);
    assert.equal(a.max, 1000);
    assert.equal(a.min, 10);
    a.reset();
    assert.equal(a.count, 0);
    assert.equal(a.quantile(0.5), 0);
  });
});
