import { percentile } from '../bench/stats.js';

/** The figures of one step of a load test. Latencies in ms. */
export interface StepResult {
  /** Offered arrival rate (req/s) in open mode; the number of concurrent clients in closed mode. */
  level: number;
  /** Offered rate, req/s (open mode); null in closed mode. */
  offeredRate: number | null;
  /** Successful (status < 400) responses per second, from the step's first response to its last. */
  achievedRate: number;
  durationMs: number;
  sent: number;
  /** Requests that got an HTTP response (any status). */
  completed: number;
  /** Responses with status < 400. */
  ok: number;
  /** Failures by kind: `http 503`, `ECONNREFUSED`, `timeout`… */
  errors: Record<string, number>;
  /** Failed requests ÷ sent. */
  errorRate: number;
  /**
   * Latency of the requests that got a response. Open mode measures from the *scheduled* send time,
   * so time spent waiting in any queue (client, kernel, server) counts.
   */
  latency: { mean: number; p50: number; p95: number; p99: number; max: number };
  /** Most requests of the step in flight at once (when it reaches the connection limit, requests waited in the client). */
  maxInFlight: number;
  /** Worst lag of the generator behind its schedule, ms (large values: the client is the bottleneck). */
  maxSendLagMs: number;
  /** SLO verdict, when an SLO was given. */
  slo?: { pass: boolean; observedMs: number; reason?: string };
}

/** @internal Accumulates one step's outcomes in preallocated memory. */
export class StepRecorder {
  private lat: Float64Array;
  private n = 0;
  sent = 0;
  ok = 0;
  failed = 0;
  outstanding = 0;
  maxOutstanding = 0;
  maxLag = 0;
  lastEnd = 0;
  firstEnd = 0;
  /** Called when the last outstanding request of the step ended. */
  onIdle: (() => void) | undefined = undefined;
  readonly errors = new Map<string, number>();

  constructor(
    readonly level: number,
    readonly open: boolean,
    readonly startedAt: number,
    expected: number,
  ) {
    this.lat = new Float64Array(Math.max(16, expected));
  }

  /** A response (any status) arrived after `ms`. */
  response(ms: number, status: number, now: number): void {
    if (this.n === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2);
      bigger.set(this.lat);
      this.lat = bigger;
    }
    this.lat[this.n++] = ms;
    if (status < 400) this.ok++;
    else this.error(`http ${status}`);
    if (this.n === 1) this.firstEnd = now;
    this.lastEnd = now;
  }

  /** A failure without a response (or an HTTP error status via {@link response}). */
  error(kind: string): void {
    this.failed++;
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  /** The step's figures; `durationMs` is the planned length of the sending phase. */
  result(durationMs: number): StepResult {
    const sorted = this.lat.subarray(0, this.n).sort();
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i]!;
    const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);
    // Responses arrive over [first, last]; when the server keeps up that is the sending time.
    const span = Math.max(durationMs, this.lastEnd - this.firstEnd);
    return {
      level: this.level,
      offeredRate: this.open ? this.level : null,
      achievedRate: Math.round((this.ok / (span / 1000)) * 10) / 10,
      durationMs: Math.round(span),
      sent: this.sent,
      completed: this.n,
      ok: this.ok,
      errors: Object.fromEntries(this.errors),
      errorRate: this.sent === 0 ? 0 : Math.round((this.failed / this.sent) * 10000) / 10000,
      latency: {
        mean: r3(this.n === 0 ? NaN : sum / this.n),
        p50: r3(percentile(sorted, 50)),
        p95: r3(percentile(sorted, 95)),
        p99: r3(percentile(sorted, 99)),
        max: r3(this.n === 0 ? NaN : sorted[this.n - 1]!),
      },
      maxInFlight: this.maxOutstanding,
      maxSendLagMs: r3(this.maxLag),
    };
  }

  /** The latency at percentile `p` (100 = max), ms. */
  latencyAt(p: number): number {
    const sorted = this.lat.subarray(0, this.n).slice().sort();
    return p >= 100 ? (sorted[this.n - 1] ?? NaN) : percentile(sorted, p);
  }
}
