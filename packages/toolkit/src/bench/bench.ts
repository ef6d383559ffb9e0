import { performance } from 'node:perf_hooks';
import { summarize, type SampleStats } from './stats.js';

/** A function to measure: sync, or returning a Promise (awaited; its time counts). */
export type BenchFn = () => unknown;

/** Options of {@link bench}. Give `iterations` or `time`; default `time: 1000`. */
export interface BenchOptions {
  /** Measure at least this many calls. */
  iterations?: number;
  /** Measure for this many milliseconds. Default 1000 (when `iterations` is not given). */
  time?: number;
  /** Run the function this many milliseconds before measuring, so the JIT settles. Default 100. */
  warmup?: number;
  /**
   * Shortest sample, ns. A sync function faster than this is timed in batches of calls, so that
   * the timer's own cost and resolution do not swamp it. Default 20 000 (20 µs).
   */
  minSampleNs?: number;
  /**
   * Async functions only: keep this many calls in flight (each loop starts its next call when the
   * previous one settles). Latencies are per call; `opsPerSec` is then calls ÷ wall time, the
   * throughput at that concurrency. Default 1.
   */
  concurrency?: number;
}

/** What {@link bench} measured. Times are nanoseconds per call. */
export interface BenchResult extends SampleStats {
  name: string;
  /** Calls per second (1e9 / mean). */
  opsPerSec: number;
  /** Calls measured (warmup excluded). */
  iterations: number;
  /** Calls per sample (1 for async functions and slow sync ones). */
  batchSize: number;
  async: boolean;
  /** Wall time spent measuring, ms. */
  totalMs: number;
  /** Calls kept in flight (1 unless `concurrency` was given). */
  concurrency: number;
}

let sink: unknown;

/** @internal Times one function in samples of `batchSize` calls; each sample is ns per call. */
export class Sampler {
  readonly values: number[] = [];
  calls = 0;
  batchSize = 1;
  constructor(
    readonly fn: BenchFn,
    readonly async: boolean,
  ) {}

  /** One sample: ns per call over a batch. */
  async sample(): Promise<number> {
    const fn = this.fn;
    const k = this.batchSize;
    let ns: number;
    if (this.async) {
      const t0 = performance.now();
      await fn();
      ns = (performance.now() - t0) * 1e6;
    } else {
      const t0 = performance.now();
      for (let i = 0; i < k; i++) sink = fn();
      ns = ((performance.now() - t0) * 1e6) / k;
    }
    this.calls += k;
    return ns;
  }

  /** Runs `ms` of samples; records them unless `record` is false. Yields to the event loop every ~10 ms. */
  async runFor(ms: number, record: boolean, maxCalls = Infinity): Promise<void> {
    const end = performance.now() + ms;
    let yieldAt = performance.now() + 10;
    const stopCalls = this.calls + maxCalls;
    for (;;) {
      const v = await this.sample();
      if (record) this.values.push(v);
      const now = performance.now();
      if (!this.async && now >= yieldAt) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yieldAt = performance.now() + 10;
      }
      if (now >= end || this.calls >= stopCalls) break;
    }
  }

  /** Warms up for `ms`, sizing the batch so a sample lasts at least `minSampleNs`. */
  async warmup(ms: number, minSampleNs: number): Promise<void> {
    const end = performance.now() + ms;
    if (!this.async) {
      // Grow the batch (×4 at a time) until one sample lasts minSampleNs, or time is up.
      for (;;) {
        // The fastest of a few samples: the first calls run unoptimised and would stop the growth.
        let per = Infinity;
        for (let i = 0; i < 5; i++) per = Math.min(per, await this.sample());
        const want = Math.min(1_000_000, Math.max(1, Math.ceil(minSampleNs / Math.max(per, 0.01))));
        if (want <= this.batchSize || performance.now() >= end) break;
        this.batchSize = Math.min(want, this.batchSize * 4);
      }
    }
    const left = end - performance.now();
    if (left > 0) await this.runFor(left, false);
    this.calls = 0;
  }
}

/** @internal Detects an async function by calling it once (that call is part of warmup). */
export async function isAsyncFn(fn: BenchFn): Promise<boolean> {
  const r = fn() as { then?: unknown } | undefined;
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
    await (r as PromiseLike<unknown>);
    return true;
  }
  return false;
}

/** @internal Resolves options; throws a TypeError naming the bad one. */
export function benchOptions(o: BenchOptions = {}): Required<Omit<BenchOptions, 'iterations' | 'concurrency'>> & { iterations: number } {
  const check = (name: keyof BenchOptions, v: unknown, dflt: number, min: number) => {
    if (v === undefined) return dflt;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a bad value of any type, shown as String() shows it
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new TypeError(`autom8: expected ${name} to be a number ≥ ${min}, got ${String(v)}`);
    return v;
  };
  const iterations = check('iterations', o.iterations, Infinity, 1);
  return {
    iterations,
    time: check('time', o.time, o.iterations !== undefined ? Infinity : 1000, 1),
    warmup: check('warmup', o.warmup, 100, 0),
    minSampleNs: check('minSampleNs', o.minSampleNs, 20_000, 0),
  };
}

/** @internal Builds a {@link BenchResult} from a sampler's values. */
export function resultOf(name: string, s: Sampler, totalMs: number): BenchResult {
  const stats = summarize(s.values);
  return {
    name,
    ...stats,
    opsPerSec: stats.mean > 0 ? 1e9 / stats.mean : Infinity,
    iterations: s.calls,
    batchSize: s.batchSize,
    async: s.async,
    totalMs,
    concurrency: 1,
  };
}

/**
 * Measures `fn` (sync or async): warmup, then samples for `time` ms or until `iterations` calls.
 * Returns mean, standard deviation, min/max, p50/p95/p99 (ns per call), ops/s and the relative
 * margin of error (95 %). Fast sync functions are timed in batches (see `minSampleNs`), so their
 * percentiles are of batch means.
 *
 * @example
 * ```ts
 * const r = await bench('JSON.stringify', () => JSON.stringify(obj), { time: 500 });
 * console.log(r.mean, r.p99, r.rme);
 * ```
 */
export async function bench(name: string, fn: BenchFn, options?: BenchOptions): Promise<BenchResult> {
  if (typeof fn !== 'function') throw new TypeError(`autom8: expected fn of bench('${name}') to be a function`);
  const o = benchOptions(options);
  const concurrency = options?.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`autom8: expected concurrency to be a positive integer, got ${String(concurrency)}`);
  const async = await isAsyncFn(fn);
  if (concurrency > 1 && !async) throw new TypeError('autom8: concurrency needs an async function (a sync one cannot overlap with itself)');
  const s = new Sampler(fn, async);
  await s.warmup(o.warmup, o.minSampleNs);
  const t0 = performance.now();
  if (concurrency === 1) {
    await s.runFor(o.time, true, o.iterations);
    return resultOf(name, s, performance.now() - t0);
  }
  // `concurrency` loops share one budget of time and calls; each records its own call latencies.
  const end = t0 + o.time;
  let started = 0;
  const loop = async () => {
    while (performance.now() < end && started < o.iterations) {
      started++;
      s.values.push(await s.sample());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const totalMs = performance.now() - t0;
  const r = resultOf(name, s, totalMs);
  return { ...r, opsPerSec: (s.calls / totalMs) * 1000, concurrency };
}

/** Keeps the optimiser from dropping calls whose results are unused. @internal */
export function _sink(): unknown {
  return sink;
}
