/**
 * Parsers of the load tester's textual inputs (CLI flags and their programmatic twins). Each throws
 * a {@link UsageError} with a one-line message naming the input.
 */

/** Bad user input: the CLI prints the message alone (no stack) and exits with status 2. */
export class UsageError extends Error {
  readonly code = 'AUTOM8_ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A latency objective: `percentile` (0–100, or 100 for max) at most `thresholdMs`. */
export interface Slo {
  /** 50, 95, 99, 99.9…; 100 means max. */
  percentile: number;
  thresholdMs: number;
  /** The text it was parsed from, normalised (`p99<150ms`). */
  text: string;
}

const SLO_RE = /^\s*(p(\d{1,2}(?:\.\d+)?)|max)\s*(<=?)\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?\s*$/i;

/** Parses `p99<150ms`, `p95<=0.2s`, `max<1s`. */
export function parseSlo(text: string): Slo {
  const m = SLO_RE.exec(String(text));
  if (m === null) throw new UsageError(`malformed SLO '${text}': expected e.g. 'p99<150ms' (p50..p99.9 or max, then < or <=, then a time in us, ms or s)`);
  const percentile = m[1]!.toLowerCase() === 'max' ? 100 : Number(m[2]);
  if (!(percentile > 0 && percentile < 100) && percentile !== 100) throw new UsageError(`malformed SLO '${text}': percentile must be between 0 and 100`);
  const unit = (m[5] ?? 'ms').toLowerCase();
  const thresholdMs = Number(m[4]) * (unit === 's' ? 1000 : unit === 'ms' ? 1 : 0.001);
  if (!(thresholdMs > 0)) throw new UsageError(`malformed SLO '${text}': the threshold must be positive`);
  return { percentile, thresholdMs, text: `${percentile === 100 ? 'max' : `p${percentile}`}<${thresholdMs}ms` };
}

/** A range `from..to` (or a single value: from = to). */
export interface Range {
  from: number;
  to: number;
}

/** Parses `100..2000` or `500` as positive numbers, `from ≤ to`. `what` names the flag in errors. */
export function parseRange(text: string, what: string, integer = false): Range {
  const s = String(text).trim();
  const parts = s.split('..');
  const bad = (why: string) => new UsageError(`bad ${what} '${text}': ${why}`);
  if (parts.length > 2) throw bad("expected a number or a range like '100..2000'");
  const nums = parts.map((p) => (p.trim() === '' ? NaN : Number(p.trim())));
  if (nums.some((n) => !Number.isFinite(n))) throw bad("expected a number or a range like '100..2000'");
  if (nums.some((n) => n <= 0)) throw bad('values must be positive');
  if (integer && nums.some((n) => !Number.isInteger(n))) throw bad('values must be whole numbers');
  const from = nums[0]!;
  const to = nums[1] ?? from;
  if (to < from) throw bad(`the range must go up (${from} > ${to})`);
  return { from, to };
}

/** Parses a duration: `5s`, `500ms`, `2m`, or a bare number of seconds. Returns ms. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(String(text));
  if (m === null || !(Number(m[1]) > 0)) throw new UsageError(`bad ${what} '${text}': expected a positive duration like '5s' or '500ms'`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

/** The levels of a ramp: `steps` values from `from` to `to` inclusive, evenly spaced (or every `step`). */
export function rampLevels(range: Range, steps?: number, step?: number, integer = false): number[] {
  const round = (x: number) => (integer ? Math.round(x) : Math.round(x * 1000) / 1000);
  if (range.from === range.to) return [round(range.from)];
  const out: number[] = [];
  if (step !== undefined) {
    for (let x = range.from; x < range.to + step * 1e-9; x += step) out.push(round(x));
    if (out[out.length - 1]! < range.to) out.push(round(range.to));
  } else {
    const n = steps ?? 10;
    for (let i = 0; i < n; i++) out.push(round(range.from + ((range.to - range.from) * i) / Math.max(1, n - 1)));
  }
  return [...new Set(out)];
}
