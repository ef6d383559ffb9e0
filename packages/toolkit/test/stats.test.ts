import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, studentTQuantile, summarize, welchTest } from '@autom8/toolkit';
import { seededRandom } from '../../../test/support/seeded-random';

function normal(r: () => number, mean: number, sd: number): number {
  return mean + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}
const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} not within ${tol} of ${expected}`);

test('percentile interpolates between closest ranks', () => {
  const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(s, 100), 10);
  assert.equal(percentile(s, 50), 5.5);
  near(percentile(s, 95), 9.55, 1e-12, 'p95');
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(percentile([42], 99), 42);
});

test('uniform(0,1): mean ½, sd 1/√12, percentiles at their quantiles', () => {
  const r = seededRandom(1);
  const s = summarize(Array.from({ length: 200_000 }, r));
  near(s.mean, 0.5, 0.005, 'mean');
  near(s.sd, 1 / Math.sqrt(12), 0.002, 'sd');
  near(s.p50, 0.5, 0.005, 'p50');
  near(s.p95, 0.95, 0.005, 'p95');
  near(s.p99, 0.99, 0.002, 'p99');
  assert.ok(s.min >= 0 && s.min < 0.001 && s.max <= 1 && s.max > 0.999);
});

test('normal(10, 2): percentiles at mean + z·sd', () => {
  const r = seededRandom(2);
  const s = summarize(Array.from({ length: 200_000 }, () => normal(r, 10, 2)));
  near(s.mean, 10, 0.03, 'mean');
  near(s.sd, 2, 0.02, 'sd');
  near(s.p50, 10, 0.03, 'p50');
  near(s.p95, 10 + 1.6449 * 2, 0.04, 'p95');
  near(s.p99, 10 + 2.3263 * 2, 0.06, 'p99');
  // The margin of error is t·sd/√n, and rme is it relative to the mean.
  near(s.moe, 1.96 * (s.sd / Math.sqrt(s.samples)), 1e-4, 'moe');
  near(s.rme, (s.moe / s.mean) * 100, 1e-9, 'rme');
});

test('exponential(1): median ln 2, p99 ln 100 (skewed, like latencies)', () => {
  const r = seededRandom(3);
  const s = summarize(Array.from({ length: 200_000 }, () => -Math.log(1 - r())));
  near(s.mean, 1, 0.01, 'mean');
  near(s.sd, 1, 0.015, 'sd');
  near(s.p50, Math.LN2, 0.01, 'p50');
  near(s.p95, Math.log(20), 0.03, 'p95');
  near(s.p99, Math.log(100), 0.08, 'p99');
});

test("Student's t quantiles match the table", () => {
  near(studentTQuantile(0.975, 1), 12.706, 0.001, 'df=1');
  near(studentTQuantile(0.975, 5), 2.571, 0.001, 'df=5');
  near(studentTQuantile(0.975, 10), 2.228, 0.001, 'df=10');
  near(studentTQuantile(0.975, 30), 2.042, 0.001, 'df=30');
  near(studentTQuantile(0.995, 20), 2.845, 0.001, 'df=20, 99%');
  near(studentTQuantile(0.975, 100_000), 1.96, 0.001, 'df→∞');
});

test('the 95 % confidence interval covers the true mean about 95 % of the time (n = 10)', () => {
  const r = seededRandom(4);
  let covered = 0;
  const trials = 4000;
  for (let i = 0; i < trials; i++) {
    const s = summarize(Array.from({ length: 10 }, () => normal(r, 5, 3)));
    if (Math.abs(s.mean - 5) <= s.moe) covered++;
  }
  // Binomial sd at 95 %, n = 4000, is 0.34 %: 93.5–96.5 % is over 4 sd wide.
  near(covered / trials, 0.95, 0.015, 'coverage');
});

test("Welch's test: about 5 % false alarms on equal means, and it sees a real shift", () => {
  const r = seededRandom(5);
  let falseAlarms = 0;
  const trials = 2000;
  for (let i = 0; i < trials; i++) {
    const a = summarize(Array.from({ length: 12 }, () => normal(r, 0, 1)));
    const b = summarize(Array.from({ length: 20 }, () => normal(r, 0, 3))); // unequal variances
    if (welchTest(a, b).p < 0.05) falseAlarms++;
  }
  near(falseAlarms / trials, 0.05, 0.015, 'false-alarm rate');
  const a = summarize(Array.from({ length: 30 }, () => normal(r, 10, 1)));
  const b = summarize(Array.from({ length: 30 }, () => normal(r, 11.5, 1)));
  assert.ok(welchTest(a, b).p < 1e-4);
  // A known case: t = (1 − 3)/√(1/3 + 1/3) = −2.449, df = 4 → two-sided p = 0.0704.
  const w = welchTest(summarize([0, 1, 2]), summarize([2, 3, 4]));
  near(w.t, -2.449, 0.001, 't');
  near(w.df, 4, 1e-9, 'df');
  near(w.p, 0.0704, 0.0005, 'p');
});
