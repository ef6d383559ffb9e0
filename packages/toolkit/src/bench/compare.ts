import { performance } from 'node:perf_hooks';
import { formatNs, formatTable } from '../util/table.js';
import { benchOptions, isAsyncFn, resultOf, Sampler, type BenchFn, type BenchOptions, type BenchResult } from './bench.js';
import { studentTSurvival, summarize } from './stats.js';

/** Options of {@link compare}: those of `bench` (time/iterations per function) plus the test's. */
export interface CompareOptions extends BenchOptions {
  /** Interleaved rounds; each function runs once per round, in rotating order. Default 10. */
  rounds?: number;
  /** Significance level of the test. Default 0.01. */
  alpha?: number;
  /**
   * Smallest relative difference reported as significant (0.03 = 3 %): below it, a difference is
   * within what code alignment and JIT luck produce between identical functions. Default 0.03.
   */
  minDifference?: number;
}

/** One row of a {@link CompareResult}: a function, ranked by mean time. */
export interface CompareEntry extends BenchResult {
  /** 1 = fastest (lowest median). */
  rank: number;
  /**
   * How many times slower than the fastest: the geometric mean over the rounds of the ratio of the
   * two functions' medians in that round (1 for the fastest).
   */
  ratio: number;
  /**
   * Two-sided p-value of a paired t-test against the fastest, over the rounds, on the log of the
   * ratio of the two functions' per-round medians (1 for the fastest).
   */
  p: number;
  /** True when this function is slower than the fastest beyond chance and beyond `minDifference`. */
  significant: boolean;
}

/** What {@link compare} measured, fastest first. */
export interface CompareResult {
  name: string;
  entries: CompareEntry[];
  /** The ranked table as text. */
  table: string;
}

/**
 * Benchmarks several implementations side by side and ranks them. The functions run interleaved in
 * `rounds` (rotating the order), so a slow phase of the machine hits all of them rather than one.
 * Each is then tested against the fastest with a paired t-test over the rounds on
 * log(median_i / median_fastest): pairing by round cancels the machine's state at that moment, the
 * medians ignore preemption spikes, and the round-to-round spread carries the remaining noise.
 *
 * @example
 * ```ts
 * const r = await compare('parse', { regex: () => re.test(s), indexOf: () => s.indexOf('x') >= 0 });
 * console.log(r.table);
 * ```
 */
export async function compare(name: string, fns: Record<string, BenchFn>, options: CompareOptions = {}): Promise<CompareResult> {
  const names = Object.keys(fns ?? {});
  if (names.length < 2) throw new TypeError('autom8: compare() needs at least two functions');
  for (const n of names) if (typeof fns[n] !== 'function') throw new TypeError(`autom8: expected fns.${n} to be a function`);
  const o = benchOptions(options);
  const rounds = options.rounds ?? 10;
  if (!Number.isInteger(rounds) || rounds < 3) throw new TypeError(`autom8: expected rounds to be an integer ≥ 3, got ${String(options.rounds)}`);
  const alpha = options.alpha ?? 0.01;
  const minDifference = options.minDifference ?? 0.03;

  const samplers: Sampler[] = [];
  for (const n of names) {
    const s = new Sampler(fns[n]!, await isAsyncFn(fns[n]!));
    await s.warmup(o.warmup, o.minSampleNs);
    samplers.push(s);
  }
  const roundMedians: number[][] = names.map(() => []);
  const perRoundMs = o.time / rounds;
  const perRoundCalls = o.iterations / rounds;
  const spent = names.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < samplers.length; j++) {
      const i = (j + r) % samplers.length;
      const s = samplers[i]!;
      const from = s.values.length;
      const t0 = performance.now();
      await s.runFor(perRoundMs, true, Math.max(1, Math.ceil(perRoundCalls)));
      spent[i]! += performance.now() - t0;
      roundMedians[i]!.push(summarize(s.values.slice(from)).p50);
    }
  }

  const results = samplers.map((s, i) => ({ r: resultOf(names[i]!, s, spent[i]!), medians: roundMedians[i]! }));
  // Ranked by median: robust to the preemption spikes a shared machine adds to some samples.
  results.sort((a, b) => a.r.p50 - b.r.p50);
  const best = results[0]!;
  const entries: CompareEntry[] = results.map((x, i) => {
    const { ratio, p } = i === 0 ? { ratio: 1, p: 1 } : pairedLogRatio(x.medians, best.medians);
    return { ...x.r, rank: i + 1, ratio, p, significant: i > 0 && p < alpha && ratio - 1 > minDifference };
  });
  const table = formatTable(
    ['#', 'name', 'median', 'mean', 'p99', 'ops/s', '±rme', 'vs fastest', 'p', 'significant'],
    entries.map((e) => [
      e.rank,
      e.name,
      formatNs(e.p50),
      formatNs(e.mean),
      formatNs(e.p99),
      Math.round(e.opsPerSec).toLocaleString('en-US'),
      `${e.rme.toFixed(2)}%`,
      e.rank === 1 ? 'fastest' : `${e.ratio.toFixed(2)}× slower`,
      e.rank === 1 ? '' : e.p < 0.0001 ? '<0.0001' : e.p.toFixed(4),
      e.rank === 1 ? '' : e.significant ? 'yes' : 'no',
    ]),
  );
  return { name, entries, table: `${name}\n${table}` };
}

/**
 * The geometric mean of the per-round ratios a_r / b_r, and the two-sided p of a paired t-test that
 * their log is 0.
 */
function pairedLogRatio(a: number[], b: number[]): { ratio: number; p: number } {
  const d = a.map((v, r) => Math.log(v / b[r]!));
  const s = summarize(d);
  const ratio = Math.exp(s.mean);
  if (s.sd === 0) return { ratio, p: s.mean === 0 ? 1 : 0 };
  return { ratio, p: Math.min(1, 2 * studentTSurvival(Math.abs(s.mean / s.sem), d.length - 1)) };
}
