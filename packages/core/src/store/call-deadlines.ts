import { MAX_TIMER_MS } from '../util/validate.js';

/** One store call waiting for its answer or its deadline (a node of {@link CallDeadlines}' list). */
export interface PendingCall {
  /** `performance.now()` after which the call has timed out. */
  readonly deadline: number;
  /** Called once, if the deadline passes before the call settles (from a timer: must not throw). */
  readonly onTimeout: () => void;
  prev: PendingCall | undefined;
  next: PendingCall | undefined;
  /** False once settled or timed out: the first of the two wins. */
  live: boolean;
}

/**
 * The deadlines of a store's calls in flight, under one timer. Every call has the same time budget,
 * so deadlines fall in the order the calls were made: the list is kept in call order, the timer
 * waits for the oldest, and a call that settles unlinks itself. Against a timer and a
 * `Promise.race` per call, a call costs one small object, and the timer fires about once per budget
 * while calls flow.
 */
export class CallDeadlines {
  private head: PendingCall | undefined;
  private tail: PendingCall | undefined;
  private timer: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(private readonly budgetMs: number) {}

  /** Starts the clock of one call; `onTimeout` runs if it is still live at its deadline. */
  add(onTimeout: () => void): PendingCall {
    const call: PendingCall = { deadline: performance.now() + this.budgetMs, onTimeout, prev: this.tail, next: undefined, live: true };
    if (this.tail === undefined) this.head = call;
    else this.tail.next = call;
    this.tail = call;
    // The timer holds the process open only while a call waits (as a timer per call would).
    if (this.count++ === 0 && this.timer !== undefined) this.timer.ref();
    if (this.timer === undefined) this.arm(call.deadline);
    return call;
  }

  /**
   * Marks the call settled. Returns false when its deadline had already passed (the timeout answered
   * for it, and its late result must be ignored).
   */
  settle(call: PendingCall): boolean {
    if (!call.live) return false;
    call.live = false;
    this.unlink(call);
    return true;
  }

  /** Calls in flight (for tests and snapshots). */
  get size(): number {
    return this.count;
  }

  private unlink(call: PendingCall): void {
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = undefined;
    if (--this.count === 0) this.timer?.unref();
  }

  private arm(at: number): void {
    // Past 2^31 − 1 ms node would fire at once (TimeoutOverflowWarning): wait that long, then re-arm.
    this.timer = setTimeout(this.expire, Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head.deadline <= now) {
      const call = this.head;
      call.live = false;
      this.unlink(call);
      call.onTimeout();
    }
    if (this.head !== undefined) this.arm(this.head.deadline);
  };
}
