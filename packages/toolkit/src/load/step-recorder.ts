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
  latency: LatencyFigures;
  /**
   * Latency from when the generator actually sent each request (in closed mode the same as
   * `latency`): the generator's own lag behind its schedule left out, queueing after the send (in
   * the client's connection pool, the kernel, the server) still in. For comparing two servers under
   * the same load, where the generator's timer jitter would only add noise to both.
   */
  serviceLatency: LatencyFigures;
  /** Most requests of the step in flight at once (when it reaches the connection limit, requests waited in the client). */
  maxInFlight: number;
  /** Worst lag of the generator behind its schedule, ms (large values: the client is the bottleneck). */
  maxSendLagMs: number;
  /** SLO verdict, when an SLO was given. */
  slo?: { pass: boolean; observedMs: number; reason?: string };
}

/** Latency figures in ms. */
export interface LatencyFigures {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** @internal Accumulates one step's outcomes in preallocated memory. */
export class StepRecorder {
  private lat: Float64Array;
  private svc: Float64Array;
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
    this.svc = new Float64Array(this.lat.length);
  }

  /** A response (any status) arrived `ms` after it was due and `serviceMs` after it was sent. */
  response(ms: number, status: number, now: number, serviceMs = ms): void {
    if (this.n === this.lat.length) {
      this.lat = grow(this.lat);
      this.svc = grow(this.svc);
    }
    this.svc[this.n] = serviceMs;
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
      latency: figures(this.lat.subarray(0, this.n).sort()),
      serviceLatency: figures(this.svc.subarray(0, this.n).sort()),
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

const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);

function grow(a: Float64Array): Float64Array {
  const bigger = new Float64Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** Figures of ascending-sorted latencies. */
function figures(sorted: Float64Array): LatencyFigures {
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    mean: r3(n === 0 ? NaN : sum / n),
    p50: r3(percentile(sorted, 50)),
    p95: r3(percentile(sorted, 95)),
    p99: r3(percentile(sorted, 99)),
    max: r3(n === 0 ? NaN : sorted[n - 1]!),
  };
}
