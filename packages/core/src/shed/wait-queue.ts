/** A request waiting for a concurrency slot. */
export interface Waiter {
  readonly enqueuedAt: number;
  /** False once granted, timed out or cancelled; such entries are skipped. */
  waiting: boolean;
}

/**
 * A bounded deque of waiters (a ring, no allocation per operation). Served FIFO while the queue is
 * fresh and LIFO once its oldest entry has waited longer than `lifoAfterMs` (adaptive LIFO, as in
 * Facebook's "Fail at scale"): under overload the newest requests, whose clients are still
 * waiting, are served, while stale ones run out their timeout.
 */
export class WaitQueue<W extends Waiter> {
  private readonly ring: (W | undefined)[];
  private head = 0;
  private count = 0;
  /** Live (still waiting) entries. */
  live = 0;

  constructor(
    readonly capacity: number,
    private readonly lifoAfterMs: number,
  ) {
    this.ring = new Array<W | undefined>(capacity).fill(undefined);
  }

  /** Adds `w`; false when full (after dropping skipped entries). */
  push(w: W): boolean {
    this.compact();
    if (this.count === this.ring.length && this.live < this.count) this.squeeze();
    if (this.count === this.ring.length) return false;
    this.ring[(this.head + this.count) % this.ring.length] = w;
    this.count++;
    this.live++;
    return true;
  }

  /** Marks `w` as no longer waiting (timed out, cancelled). */
  remove(w: W): void {
    if (!w.waiting) return;
    w.waiting = false;
    this.live--;
  }

  /** The waiter to serve next at time `now`, or undefined. */
  shift(now: number): W | undefined {
    this.compact();
    if (this.live === 0) return undefined;
    const oldest = this.ring[this.head]!;
    const lifo = now - oldest.enqueuedAt > this.lifoAfterMs;
    while (this.count > 0) {
      let w: W;
      if (lifo) {
        const i = (this.head + this.count - 1) % this.ring.length;
        w = this.ring[i]!;
        this.ring[i] = undefined;
      } else {
        w = this.ring[this.head]!;
        this.ring[this.head] = undefined;
        this.head = (this.head + 1) % this.ring.length;
      }
      this.count--;
      if (w.waiting) {
        w.waiting = false;
        this.live--;
        return w;
      }
    }
    return undefined;
  }

  /** Removes and returns, oldest first, live entries enqueued before `cutoff`. */
  expire(cutoff: number, out: W[]): void {
    for (let i = 0; i < this.count; i++) {
      const w = this.ring[(this.head + i) % this.ring.length]!;
      if (w.waiting && w.enqueuedAt <= cutoff) {
        w.waiting = false;
        this.live--;
        out.push(w);
      }
    }
    this.compact();
  }

  /** Enqueue time of the oldest live entry, or undefined. */
  oldest(): number | undefined {
    this.compact();
    return this.live === 0 ? undefined : this.ring[this.head]!.enqueuedAt;
  }

  // Full of holes left by cancelled waiters in the middle: rewrite the live ones in order.
  private squeeze(): void {
    const n = this.ring.length;
    const kept: W[] = [];
    for (let i = 0; i < this.count; i++) {
      const w = this.ring[(this.head + i) % n]!;
      if (w.waiting) kept.push(w);
    }
    this.ring.fill(undefined);
    for (let i = 0; i < kept.length; i++) this.ring[i] = kept[i];
    this.head = 0;
    this.count = kept.length;
  }

  // Drops finished entries at both ends (LIFO serving and timeouts leave holes at either end).
  private compact(): void {
    const n = this.ring.length;
    while (this.count > 0 && !this.ring[this.head]!.waiting) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % n;
      this.count--;
    }
    while (this.count > 0) {
      const i = (this.head + this.count - 1) % n;
      if (this.ring[i]!.waiting) break;
      this.ring[i] = undefined;
      this.count--;
    }
  }
}
