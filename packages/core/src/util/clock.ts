import { performance } from 'node:perf_hooks';

/**
 * The time source of everything in autom8 that measures or expires. Tests pass a
 * {@link ManualClock} to drive windows, TTLs and refills deterministically.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, sub-millisecond precise and monotonic. */
  now(): number;
}

const origin = performance.timeOrigin;

/** The real clock: `performance.timeOrigin + performance.now()` (monotonic, no Date per call). */
export const systemClock: Clock = Object.freeze({
  now: () => origin + performance.now(),
});

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void {
    this.t = ms;
  }
}
