/** The states of a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** A breaker's figures (in `/metrics` under `features.breakers.<name>`). */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Calls in the window, and how many failed or were slower than latencyP99. */
  calls: number;
  failures: number;
  slow: number;
  errorRate: number;
  /** Latency percentiles of the window's calls from the core histogram, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Calls rejected without running since start. */
  rejected: number;
  /** Times the breaker opened since start. */
  opened: number;
  /** ISO time probes are let through, while open. */
  halfOpenAt: string | null;
  config: { errorRate: number; latencyP99: number | null; windowMs: number; halfOpenAfterMs: number; minCalls: number };
}
