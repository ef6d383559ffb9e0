/**
 * A fixed-memory, log-linear latency histogram (HDR-style).
 *
 * Values are microseconds. Each power of two from 1 µs to 2^32 µs (≈ 71 minutes) is split into
 * {@link SUB_BUCKETS} linear sub-buckets, so a bucket is at most 1/64 of its value wide and a
 * percentile reported at the bucket midpoint is within 0.79 % of the true value. The bucket index
 * is read straight from the IEEE-754 bits of the value (exponent + top mantissa bits): no log, no
 * branch per bucket, O(1) record.
 */

/** Linear sub-buckets per power of two (2^6). */
export const SUB_BUCKETS = 64;
const SUB_BITS = 6;
/** Powers of two covered: [1 µs, 2^32 µs). */
const OCTAVES = 32;
/** Number of buckets in every histogram. */
export const BUCKET_COUNT = SUB_BUCKETS * OCTAVES;

// Shared scratch views used to read a double's exponent and mantissa bits.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Little-endian machines keep the high word (sign, exponent, top of mantissa) at index 1.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Index of the bucket holding `us` microseconds (values outside the range are clamped). */
export function bucketIndex(us: number): number {
  if (!(us >= 1)) return 0; // also catches NaN
  if (us >= 4294967296) return BUCKET_COUNT - 1;
  f64[0] = us;
  const hi = u32[HI]!;
  const exponent = (hi >>> 20) - 1023;
  return (exponent << SUB_BITS) | ((hi >>> (20 - SUB_BITS)) & (SUB_BUCKETS - 1));
}

/** Lowest value (µs) that falls into bucket `index`. */
export function bucketLowerBound(index: number): number {
  const exponent = index >>> SUB_BITS;
  const sub = index & (SUB_BUCKETS - 1);
  return 2 ** exponent * (1 + sub / SUB_BUCKETS);
}

/** Midpoint (µs) of bucket `index`: the value reported for any percentile that lands in it. */
export function bucketMidpoint(index: number): number {
  const exponent = index >>> SUB_BITS;
  const sub = index & (SUB_BUCKETS - 1);
  return 2 ** exponent * (1 + (sub + 0.5) / SUB_BUCKETS);
}

/** Summary statistics of a histogram, all durations in milliseconds. */
export interface HistogramSummary {
  count: number;
  minMs: number;
  meanMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

/**
 * One histogram: bucket counts plus exact count, sum, min and max. 8 KiB of counts, allocated on
 * first record so that idle interval slots cost nothing.
 */
export class Histogram {
  /** Bucket counts; `undefined` until the first value is recorded. */
  counts: Uint32Array | undefined;
  count = 0;
  /** Sum of recorded values in µs. */
  sum = 0;
  min = Infinity;
  max = 0;

  /** Records one value in microseconds. */
  record(us: number): void {
    const counts = this.counts ?? (this.counts = new Uint32Array(BUCKET_COUNT));
    counts[bucketIndex(us)]!++;
    this.count++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  /** Records `n` occurrences of the same value (used by custom throughput/latency APIs). */
  recordMany(us: number, n: number): void {
    if (n <= 0) return;
    const counts = this.counts ?? (this.counts = new Uint32Array(BUCKET_COUNT));
    counts[bucketIndex(us)]! += n;
    this.count += n;
    this.sum += us * n;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  /** Adds every value of `other` into this histogram. */
  add(other: Histogram): void {
    if (other.count === 0 || other.counts === undefined) return;
    const counts = this.counts ?? (this.counts = new Uint32Array(BUCKET_COUNT));
    const src = other.counts;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const c = src[i]!;
      if (c !== 0) counts[i]! += c;
    }
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /** Empties the histogram, keeping its bucket array for reuse. */
  reset(): void {
    if (this.count === 0) return;
    this.counts?.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /**
   * Value in µs at quantile `q` (0..1): the midpoint of the bucket holding the rank, clamped to the
   * exact min and max so that p0 and p100 are exact. Returns 0 for an empty histogram.
   */
  quantile(q: number): number {
    if (this.count === 0 || this.counts === undefined) return 0;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = Math.ceil(q * this.count);
    const counts = this.counts;
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const v = bucketMidpoint(i);
        return v < this.min ? this.min : v > this.max ? this.max : v;
      }
    }
    return this.max;
  }

  /** Several quantiles in one pass over the buckets (`qs` ascending). */
  quantiles(qs: readonly number[]): number[] {
    const out = new Array<number>(qs.length).fill(0);
    if (this.count === 0 || this.counts === undefined) return out;
    const counts = this.counts;
    let seen = 0;
    let k = 0;
    for (let i = 0; i < BUCKET_COUNT && k < qs.length; i++) {
      seen += counts[i]!;
      while (k < qs.length && seen >= Math.ceil(qs[k]! * this.count)) {
        const q = qs[k]!;
        const v = q <= 0 ? this.min : q >= 1 ? this.max : bucketMidpoint(i);
        out[k++] = v < this.min ? this.min : v > this.max ? this.max : v;
      }
    }
    while (k < qs.length) out[k++] = this.max;
    return out;
  }

  /** Summary in milliseconds (count, min, mean, max, p50/p90/p95/p99/p99.9). */
  summary(): HistogramSummary {
    const [p50, p90, p95, p99, p999] = this.quantiles(SUMMARY_QUANTILES);
    const ms = (us: number) => Math.round(us * 1000) / 1e6; // ns resolution
    return {
      count: this.count,
      minMs: this.count === 0 ? 0 : ms(this.min),
      meanMs: this.count === 0 ? 0 : ms(this.sum / this.count),
      maxMs: ms(this.max),
      p50Ms: ms(p50!),
      p90Ms: ms(p90!),
      p95Ms: ms(p95!),
      p99Ms: ms(p99!),
      p999Ms: ms(p999!),
    };
  }
}

const SUMMARY_QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999] as const;
