/**
 * Event counts over a rolling window: `slots` intervals of `intervalMs` in a ring, with running
 * sums so that reading the window is O(1). Rotated lazily on each record or read (no timers), like
 * the core's windowed latency series. Two "bad" counters per event, for SLIs and the breaker
 * (errors and slow calls).
 */
export class CountRing {
  private readonly total: Float64Array;
  private readonly badA: Float64Array;
  private readonly badB: Float64Array;
  private head = 0;
  private headStart: number;
  /** Events in the window. */
  sumTotal = 0;
  /** First kind of bad events in the window. */
  sumA = 0;
  /** Second kind of bad events in the window. */
  sumB = 0;

  constructor(
    readonly intervalMs: number,
    readonly slots: number,
    now: number,
  ) {
    this.total = new Float64Array(slots);
    this.badA = new Float64Array(slots);
    this.badB = new Float64Array(slots);
    this.headStart = now - (now % intervalMs);
  }

  /** Length of the window, ms. */
  get windowMs(): number {
    return this.intervalMs * this.slots;
  }

  /** Drops intervals that left the window by `now`. */
  rotate(now: number): void {
    if (now - this.headStart < this.intervalMs) return;
    const steps = Math.floor((now - this.headStart) / this.intervalMs);
    const n = steps < this.slots ? steps : this.slots;
    for (let k = 0; k < n; k++) {
      const h = (this.head = (this.head + 1) % this.slots);
      this.sumTotal -= this.total[h]!;
      this.sumA -= this.badA[h]!;
      this.sumB -= this.badB[h]!;
      this.total[h] = 0;
      this.badA[h] = 0;
      this.badB[h] = 0;
    }
    this.headStart += steps * this.intervalMs;
  }

  /** Counts one event at `now`. */
  record(now: number, a: boolean, b: boolean): void {
    this.rotate(now);
    const h = this.head;
    this.total[h]!++;
    this.sumTotal++;
    if (a) {
      this.badA[h]!++;
      this.sumA++;
    }
    if (b) {
      this.badB[h]!++;
      this.sumB++;
    }
  }

  /** Forgets everything (e.g. when a breaker closes again). */
  clear(): void {
    this.total.fill(0);
    this.badA.fill(0);
    this.badB.fill(0);
    this.sumTotal = this.sumA = this.sumB = 0;
  }
}
