import type { Clock } from '../util/clock.js';
import { AimdLimit, GradientLimit, type LimitAlgorithm, type LimitSettings, type LimitWindow } from './limit-algorithm.js';
import { WaitQueue, type Waiter } from './wait-queue.js';

/** Validated settings of one adaptive concurrency limiter. */
export interface ConcurrencySettings extends LimitSettings {
  algorithm: 'gradient' | 'aimd';
  initialLimit: number;
  /** Length of a tuning interval, ms. */
  tuneIntervalMs: number;
  /** Finished requests needed before an interval is used (shorter ones are extended). */
  minSamples: number;
  /** Most requests waiting for a slot (split over partitions by share). 0: no queue. */
  queueSize: number;
  /** How long a request may wait for a slot before it is shed, ms. */
  queueTimeoutMs: number;
  /** Priority classes and their guaranteed shares of the limit (sum 1). */
  partitions: readonly { name: string; share: number }[];
}

/** A class of requests with a guaranteed share of the limit, and its own wait queue. */
export class Partition {
  inFlight = 0;
  rejected = 0;
  timedOut = 0;
  readonly queue: WaitQueue<Ticket>;
  constructor(
    readonly name: string,
    readonly share: number,
    readonly limiter: ConcurrencyLimiter,
    queueCapacity: number,
    lifoAfterMs: number,
  ) {
    this.queue = new WaitQueue<Ticket>(queueCapacity, lifoAfterMs);
  }
  /** Slots this partition may use even when the limit is reached by others borrowing. */
  guaranteed(): number {
    return Math.max(1, Math.floor(this.limiter.limit * this.share));
  }
}

/** A queued request. `settle` is called once: true when it got a slot, false when it timed out. */
export class Ticket implements Waiter {
  waiting = true;
  granted = false;
  acquiredAt = 0;
  /** The client went away while waiting (not counted as shed). */
  abandoned = false;
  settle: ((granted: boolean) => void) | undefined = undefined;
  constructor(
    readonly partition: Partition,
    readonly enqueuedAt: number,
  ) {}
}

/**
 * An adaptive limit on requests in flight (Netflix concurrency-limits / Envoy adaptive concurrency
 * style). A request takes a slot if one is free; otherwise it waits in its partition's bounded
 * queue (or is rejected when that is full) until a slot frees or its queue timeout passes. The limit
 * is re-tuned every `tuneIntervalMs` from the latency of finished requests (see limit-algorithm.ts).
 *
 * Partitions (Netflix's partitioned limiter): each gets `floor(limit × share)` slots guaranteed;
 * when the limit is reached, a partition under its guarantee still gets in, and freed slots go to
 * waiters of partitions under their guarantee first.
 */
export class ConcurrencyLimiter {
  limit: number;
  inFlight = 0;
  readonly partitions: Partition[];
  private readonly byName = new Map<string, Partition>();
  private readonly algorithm: LimitAlgorithm;
  private readonly expired: Ticket[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  // the current tuning interval
  private windowStart: number;
  private rttSum = 0;
  private samples = 0;
  private drops = 0;
  private peakInFlight = 0;
  /** Requests that took a slot, and that were shed (queue full or timed out). */
  granted = 0;
  shed = 0;

  constructor(
    readonly name: string,
    private readonly s: ConcurrencySettings,
    private readonly clock: Clock,
  ) {
    this.limit = s.initialLimit;
    this.algorithm = s.algorithm === 'aimd' ? new AimdLimit(s) : new GradientLimit(s);
    this.windowStart = clock.now();
    const lifoAfter = s.queueTimeoutMs / 2;
    this.partitions = s.partitions.map(
      (p) => new Partition(p.name, p.share, this, s.queueSize === 0 ? 0 : Math.max(1, Math.round(s.queueSize * p.share)), lifoAfter),
    );
    for (const p of this.partitions) this.byName.set(p.name, p);
  }

  /** The partition named `name`, or the first (largest) one when unknown. */
  partition(name: string | undefined): Partition {
    return (name !== undefined && this.byName.get(name)) || this.partitions[0]!;
  }

  private free(p: Partition): boolean {
    return this.inFlight < Math.floor(this.limit) || p.inFlight < p.guaranteed();
  }

  /**
   * Asks for a slot at time `now`: true when granted at once (the caller then releases it), a
   * {@link Ticket} when queued (set its `settle`), false when rejected (queue full or no queue).
   */
  acquire(p: Partition, now: number): true | Ticket | false {
    if (p.queue.live > 0) this.expire(now);
    if (p.queue.live === 0 && this.free(p)) {
      this.take(p);
      return true;
    }
    if (p.queue.capacity === 0) {
      p.rejected++;
      this.shed++;
      return false;
    }
    const t = new Ticket(p, now);
    if (!p.queue.push(t)) {
      p.rejected++;
      this.shed++;
      return false;
    }
    this.arm(now);
    return t;
  }

  private take(p: Partition): void {
    p.inFlight++;
    if (++this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    this.granted++;
  }

  /** A queued request went away before it got a slot. */
  cancel(t: Ticket): void {
    t.partition.queue.remove(t);
  }

  /**
   * Gives back a slot taken at `acquiredAt`; `dropped` when the request failed (5xx, aborted).
   * Tunes the limit when an interval is over, then hands freed slots to waiters.
   */
  release(p: Partition, acquiredAt: number, now: number, dropped: boolean): void {
    p.inFlight--;
    this.inFlight--;
    if (dropped) this.drops++;
    else {
      this.rttSum += now - acquiredAt;
      this.samples++;
    }
    if (now - this.windowStart >= this.s.tuneIntervalMs && this.samples + this.drops >= this.s.minSamples) this.tune(now);
    this.drain(now);
  }

  private tune(now: number): void {
    const w: LimitWindow = {
      meanRttMs: this.samples > 0 ? this.rttSum / this.samples : 0,
      samples: this.samples + this.drops,
      drops: this.drops,
      maxInFlight: this.peakInFlight,
    };
    this.limit = this.algorithm.next(this.limit, w);
    this.windowStart = now;
    this.rttSum = 0;
    this.samples = 0;
    this.drops = 0;
    this.peakInFlight = this.inFlight;
  }

  /** Hands free slots to waiters: partitions under their guarantee first, then the rest. */
  drain(now: number): void {
    if (this.queued === 0) return;
    this.expire(now);
    for (;;) {
      let pick: Partition | undefined;
      for (const p of this.partitions) {
        if (p.queue.live > 0 && p.inFlight < p.guaranteed()) {
          pick = p;
          break;
        }
      }
      if (pick === undefined && this.inFlight < Math.floor(this.limit)) {
        for (const p of this.partitions) {
          if (p.queue.live > 0) {
            pick = p;
            break;
          }
        }
      }
      if (pick === undefined) return;
      const t = pick.queue.shift(now)!;
      this.take(pick);
      t.granted = true;
      t.acquiredAt = now;
      t.settle?.(true);
    }
  }

  /** Sheds waiters that have waited `queueTimeoutMs` or more by `now`. */
  expire(now: number): void {
    const out = this.expired;
    const cutoff = now - this.s.queueTimeoutMs;
    for (const p of this.partitions) if (p.queue.live > 0) p.queue.expire(cutoff, out);
    if (out.length === 0) return;
    for (const t of out) {
      t.partition.timedOut++;
      this.shed++;
      t.settle?.(false);
    }
    out.length = 0;
  }

  /** Waiters across partitions. */
  get queued(): number {
    let n = 0;
    for (const p of this.partitions) n += p.queue.live;
    return n;
  }

  // One unref'd timer for the earliest queue deadline; a request path also expires lazily.
  private arm(now: number): void {
    const due = this.earliestDeadline();
    if (due === undefined) return;
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.onTimer, Math.max(1, due - now));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    this.expire(now);
    this.drain(now);
    if (this.queued > 0) this.arm(now);
  };

  private earliestDeadline(): number | undefined {
    let due: number | undefined;
    for (const p of this.partitions) {
      const o = p.queue.oldest();
      if (o !== undefined && (due === undefined || o < due)) due = o;
    }
    return due === undefined ? undefined : due + this.s.queueTimeoutMs;
  }

  /** Limit, use and counts, for `/metrics`. */
  snapshot() {
    return {
      algorithm: this.algorithm.name,
      limit: Math.floor(this.limit),
      limitExact: Math.round(this.limit * 100) / 100,
      baselineRttMs: Math.round(this.algorithm.baselineRttMs * 1000) / 1000,
      inFlight: this.inFlight,
      queued: this.queued,
      granted: this.granted,
      shed: this.shed,
      partitions: this.partitions.map((p) => ({
        name: p.name,
        share: p.share,
        guaranteed: p.guaranteed(),
        inFlight: p.inFlight,
        queued: p.queue.live,
        rejected: p.rejected,
        timedOut: p.timedOut,
      })),
    };
  }

  /** Stops the queue timer. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
