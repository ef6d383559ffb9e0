import type { Clock } from '../util/clock.js';

/**
 * One token bucket for all monitoring requests together: it caps how much CPU the endpoints can
 * take from the app, whoever asks. Separate from the rate-limit feature, so a client reading the
 * endpoints never uses up its allowance for the app, and the app's limits never cover them.
 */
export class MonitoringBucket {
  private tokens: number;
  private last: number;
  /** Requests refused since start. */
  refused = 0;

  constructor(
    private readonly perMs: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    const now = this.clock.now();
    // A clock that steps back (a test's, or a wall clock) refills nothing rather than going negative.
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.refused++;
    return false;
  }

  /** Whole seconds until a token is back (for `Retry-After`). */
  retryAfterSec(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs / 1000));
  }
}
