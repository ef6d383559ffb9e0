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

/**
 * Parses `100..2000` or `500` as positive numbers, `from ≤ to`. `what` names the flag in errors,
 * `noun` what one value is (`rate` → "a rate cannot be negative").
 */
export function parseRange(text: string, what: string, integer = false, noun = 'value'): Range {
  const s = String(text).trim();
  const parts = s.split('..');
  const bad = (why: string) => new UsageError(`bad ${what} '${text}': ${why}`);
  if (parts.length > 2) throw bad("expected a number or a range like '100..2000'");
  const nums = parts.map((p) => (p.trim() === '' ? NaN : Number(p.trim())));
  if (nums.some((n) => !Number.isFinite(n))) throw bad("expected a number or a range like '100..2000'");
  if (nums.some((n) => n < 0)) throw bad(`a ${noun} cannot be negative`);
  if (nums.some((n) => n === 0)) throw bad(`a ${noun} must be above 0`);
  if (integer && nums.some((n) => !Number.isInteger(n))) throw bad('values must be whole numbers');
  const from = nums[0]!;
  const to = nums[1] ?? from;
  if (to < from) throw bad(`the range must go up (${from} > ${to})`);
  return { from, to };
}

/**
 * Parses the URL under test: http or https only. Errors echo the text as typed (`htp://…` has no
 * origin to show).
 */
export function parseTargetUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`bad URL '${text}': expected e.g. http://127.0.0.1:3000/users/:id`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`bad URL '${text}': the scheme must be http:// or https://, not ${url.protocol}//`);
  return url;
}

/** Parses a duration: `5s`, `500ms`, `2m`, or a bare number of seconds. Returns ms. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(String(text));
  if (m === null || !(Number(m[1]) > 0)) throw new UsageError(`bad ${what} '${text}': expected a positive duration like '5s' or '500ms'`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

/**
 * The levels of a ramp from `from` to `to` inclusive. With `step`: every `step` from `from`. Else
 * at most `steps` levels (default 10): `from`, the multiples of a round increment (1, 2, 2.5 or 5
 * × a power of ten) in between, and `to`, so that levels read 100, 250, 500… rather than 311.111.
 */
export function rampLevels(range: Range, steps?: number, step?: number, integer = false): number[] {
  const round = (x: number) => (integer ? Math.round(x) : Math.round(x * 1000) / 1000);
  const { from, to } = range;
  if (from === to) return [round(from)];
  const out: number[] = [];
  if (step !== undefined) {
    for (let i = 0; from + i * step < to + step * 1e-9; i++) out.push(round(from + i * step));
    if (out[out.length - 1]! < to) out.push(round(to));
    return [...new Set(out)];
  }
  const n = Math.max(2, steps ?? 10);
  const inc = roundIncrement((to - from) / (n - 1), integer);
  out.push(round(from));
  // A multiple within a quarter increment of either end would make a step too small to tell apart.
  for (let k = Math.ceil(from / inc); k * inc < to; k++) {
    const x = k * inc;
    if (x - from >= inc / 4 && to - x >= inc / 4) out.push(round(x));
  }
  out.push(round(to));
  return [...new Set(out)];
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at least `raw` (whole numbers only when `integer`). */
function roundIncrement(raw: number, integer: boolean): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    const inc = m * mag;
    if (inc >= raw * (1 - 1e-9) && (!integer || Number.isInteger(inc))) return inc;
  }
  return 10 * mag;
}
