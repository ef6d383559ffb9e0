/**
 * Descriptive statistics and the tests `bench`/`compare` report. Pure functions over arrays of
 * numbers; no I/O.
 */

/** Summary of a sample of measurements (same unit as the input, e.g. ns per operation). */
export interface SampleStats {
  samples: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  sd: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
  /** Standard error of the mean. */
  sem: number;
  /** Half-width of the 95 % confidence interval of the mean (Student's t). */
  moe: number;
  /** `moe` as a percentage of the mean. */
  rme: number;
}

/** Percentile `p` (0–100) of an ascending array, linear interpolation between closest ranks. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0]!;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Computes {@link SampleStats} of `values` (not modified). */
export function summarize(values: ArrayLike<number>): SampleStats {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = n > 0 ? sum / n : NaN;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (sorted[i]! - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(sq / (n - 1)) : 0;
  const sem = n > 0 ? sd / Math.sqrt(n) : NaN;
  const moe = n > 1 ? tQuantile975(n - 1) * sem : 0;
  return {
    samples: n,
    mean,
    sd,
    min: n > 0 ? sorted[0]! : NaN,
    max: n > 0 ? sorted[n - 1]! : NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    sem,
    moe,
    rme: mean !== 0 ? (moe / mean) * 100 : 0,
  };
}

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (two-sided 95 %). */
export function tQuantile975(df: number): number {
  return studentTQuantile(0.975, df);
}

/** Result of {@link welchTest}. */
export interface WelchResult {
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
}

/** Welch's unequal-variance t-test of the means of two independent samples. */
export function welchTest(a: SampleStats, b: SampleStats): WelchResult {
  const va = (a.sd * a.sd) / a.samples;
  const vb = (b.sd * b.sd) / b.samples;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { t: a.mean === b.mean ? 0 : Infinity, df: a.samples + b.samples - 2, p: a.mean === b.mean ? 1 : 0 };
  const t = (a.mean - b.mean) / se;
  const df = (va + vb) ** 2 / ((va * va) / (a.samples - 1) + (vb * vb) / (b.samples - 1));
  return { t, df, p: 2 * studentTSurvival(Math.abs(t), df) };
}

/** P(T > t) for Student's t with `df` degrees of freedom (t ≥ 0). */
export function studentTSurvival(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  // P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2); half of it is the one-sided tail.
  return 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** The `q` quantile (0.5 < q < 1) of Student's t, by bisection on the survival function. */
export function studentTQuantile(q: number, df: number): number {
  const target = 1 - q;
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTSurvival(mid, df) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Regularized incomplete beta I_x(a, b) (Numerical Recipes' continued fraction). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 3e-14) break;
  }
  return h;
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7). */
export function logGamma(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let s = c[0]!;
  for (let i = 1; i < g + 2; i++) s += c[i]! / (x + i);
  const t = x + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}
