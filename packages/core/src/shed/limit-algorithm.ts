/** One tuning interval's worth of measurements. */
export interface LimitWindow {
  /** Mean latency of the requests that finished in the interval, ms. */
  meanRttMs: number;
  /** Requests that finished. */
  samples: number;
  /** Of those, requests that failed (5xx, aborted): a congestion signal without a usable latency. */
  drops: number;
  /** Most requests in flight seen in the interval. */
  maxInFlight: number;
}

/** Settings of the limit algorithms. */
export interface LimitSettings {
  minLimit: number;
  maxLimit: number;
  /** Gradient: weight of a new estimate (0..1]; AIMD: additive step as a multiple of √limit. */
  learningRate: number;
  /** Latency that counts as congestion: `rttTolerance ×` the long-term latency. */
  rttTolerance: number;
  /** Multiplicative decrease on congestion (0..1). */
  backoffRatio: number;
}

/** A limit algorithm: takes the current limit and one interval, returns the next limit. */
export interface LimitAlgorithm {
  readonly name: 'gradient' | 'aimd';
  next(limit: number, w: LimitWindow): number;
  /** The long-term (no-load) latency estimate, ms, for `/metrics`. */
  readonly baselineRttMs: number;
}

// Windows of memory of the long-term latency average (an EWMA over tuning intervals).
const LONG_WINDOWS = 20;

/**
 * Tracks the long-term latency. When the current latency is far below it (the long average drifted
 * up during a slow period, the trap of Netflix Gradient2 in concurrency-limits#137) it is pulled
 * down quickly, so the gradient does not keep reading "healthy" while latency climbs again.
 */
class Baseline {
  rtt = 0;
  update(short: number): number {
    if (this.rtt === 0) this.rtt = short;
    else this.rtt += (short - this.rtt) / LONG_WINDOWS;
    if (this.rtt / short > 2) this.rtt = (this.rtt + short) / 2;
    return this.rtt;
  }
}

/** Congestion if latency is over tolerance × baseline, or requests failed. */
function appLimited(limit: number, w: LimitWindow): boolean {
  // Not using even half the limit: latency says nothing about whether more would be fine, so the
  // limit must not grow (otherwise it drifts up without bound while traffic is light).
  return w.maxInFlight * 2 < limit;
}

/**
 * Gradient (after Netflix's Gradient2 and Envoy's adaptive concurrency): the ratio of long-term to
 * current latency scales the limit (≤ 1 when latency grows), plus √limit of headroom so it can
 * probe upwards; the result is blended in at `learningRate`. Failed requests (which carry no useful
 * latency, concurrency-limits#176) back the limit off multiplicatively instead.
 */
export class GradientLimit implements LimitAlgorithm {
  readonly name = 'gradient' as const;
  private readonly base = new Baseline();
  constructor(private readonly s: LimitSettings) {}
  get baselineRttMs(): number {
    return this.base.rtt;
  }
  next(limit: number, w: LimitWindow): number {
    const s = this.s;
    if (w.samples - w.drops <= 0) return clamp(w.drops > 0 ? limit * s.backoffRatio : limit, s);
    const long = this.base.update(w.meanRttMs);
    let target: number;
    if (w.drops > 0) {
      target = limit * s.backoffRatio;
    } else {
      const gradient = Math.max(0.5, Math.min(1, (s.rttTolerance * long) / w.meanRttMs));
      target = limit * gradient + Math.sqrt(limit);
      if (target > limit && appLimited(limit, w)) target = limit;
    }
    return clamp(limit + s.learningRate * (target - limit), s);
  }
}

/**
 * AIMD: on congestion (latency over tolerance × baseline, or failed requests) multiply the limit
 * by `backoffRatio`; otherwise, if the limit is in use, add `learningRate × √limit` (at least 1).
 */
export class AimdLimit implements LimitAlgorithm {
  readonly name = 'aimd' as const;
  private readonly base = new Baseline();
  constructor(private readonly s: LimitSettings) {}
  get baselineRttMs(): number {
    return this.base.rtt;
  }
  next(limit: number, w: LimitWindow): number {
    const s = this.s;
    const ok = w.samples - w.drops;
    const long = ok > 0 ? this.base.update(w.meanRttMs) : this.base.rtt;
    const congested = w.drops > 0 || (ok > 0 && w.meanRttMs > s.rttTolerance * long);
    if (congested) return clamp(limit * s.backoffRatio, s);
    if (appLimited(limit, w)) return clamp(limit, s);
    return clamp(limit + Math.max(1, s.learningRate * Math.sqrt(limit)), s);
  }
}

function clamp(v: number, s: LimitSettings): number {
  return v < s.minLimit ? s.minLimit : v > s.maxLimit ? s.maxLimit : v;
}
