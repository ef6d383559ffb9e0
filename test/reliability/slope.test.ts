// The soak test's slope fit (test/support/slope.ts) on data whose answer is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLine } from '../support/slope';
import { seededRandom } from '../support/seeded-random';

const close = (a: number, b: number, eps: number, what: string) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b} (±${eps})`);

test('an exact line is recovered, slope, intercept and r² = 1', () => {
  const pts = Array.from({ length: 20 }, (_, i) => ({ x: i * 0.5, y: 3 - 1.25 * i * 0.5 }));
  const f = fitLine(pts);
  close(f.slope, -1.25, 1e-12, 'slope');
  close(f.intercept, 3, 1e-12, 'intercept');
  close(f.r2, 1, 1e-12, 'r2');
});

test('large x offsets (epoch milliseconds) do not lose precision', () => {
  const t0 = 1.7e12;
  const pts = Array.from({ length: 300 }, (_, i) => ({ x: t0 + i * 1000, y: 50 + 2e-6 * i * 1000 }));
  close(fitLine(pts).slope, 2e-6, 1e-15, 'slope');
});

test('a flat saw-tooth (GC-like) has a slope near 0 although last − first is not', () => {
  // 120 samples a second apart; the heap climbs 5 MB over 10 s and drops back, and we stop mid-climb.
  const pts = Array.from({ length: 125 }, (_, i) => ({ x: i / 60, y: 40 + (i % 10) * 0.5 }));
  const f = fitLine(pts);
  assert.ok(pts.at(-1)!.y - pts[0]!.y >= 2, 'the naive difference shows growth');
  close(f.slope, 0, 0.05, 'slope MB/min');
});

test('a known trend under seeded noise is found within its standard error', () => {
  const rand = seededRandom(7);
  // 2 MB/min for 5 min, one sample a second, ±3 MB uniform noise: the slope's standard error is
  // σ/√Σ(x−x̄)² ≈ 1.73/√(300·(5²/12)) ≈ 0.07 MB/min, so ±0.3 is > 4 standard errors.
  const pts = Array.from({ length: 300 }, (_, i) => ({ x: i / 60, y: 100 + 2 * (i / 60) + (rand() - 0.5) * 6 }));
  const f = fitLine(pts);
  close(f.slope, 2, 0.3, 'slope');
  assert.ok(f.r2 > 0.5 && f.r2 < 1, `r2 ${f.r2}`);
});

test('fewer than two points, or one x for all, is refused rather than answered', () => {
  assert.throws(() => fitLine([]), RangeError);
  assert.throws(() => fitLine([{ x: 1, y: 1 }]), RangeError);
  assert.throws(
    () =>
      fitLine([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    RangeError,
  );
});
