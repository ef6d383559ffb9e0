import { publish } from '../events/events.js';
import { CallDeadlines } from './call-deadlines.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/**
 * What to do when the store fails or is too slow:
 * - `fail-open`: let the request through (availability first);
 * - `fail-closed`: reject it (protection first);
 * - `fallback`: use a local in-memory substitute (each caller decides what that is).
 */
export type OutagePolicy = 'fail-open' | 'fail-closed' | 'fallback';

/** The state a store's guard moves to. */
export type StoreState = 'degraded' | 'recovered';

export interface OutageGuardOptions {
  /** Name in logs and events, e.g. `ratelimit:redis`. */
  name: string;
  policy: OutagePolicy;
  /** Time budget of one store call, ms. A slower answer counts as a failure. */
  timeoutMs: number;
  /** While degraded, one probe call is let through to the store at most this often, ms. */
  probeIntervalMs: number;
  /** Consecutive successful probes needed to go back to the store (hysteresis). */
  recoverAfterSuccesses: number;
  clock: Clock;
  logger: Logger;
  /** Called on each change of state, after the log line and the event (e.g. to count it in OTel). */
  onTransition?: (state: StoreState) => void;
}

/** Returned by {@link OutageGuard.run} when the call failed, timed out, or was not tried. */
export const STORE_UNAVAILABLE: unique symbol = Symbol('autom8.storeUnavailable');
const UNAVAILABLE = Promise.resolve(STORE_UNAVAILABLE);

/**
 * The outage policy around a store, shared by every feature that uses one: a time budget per call,
 * a degraded state that stops sending every request to a dead store, probes with hysteresis on
 * recovery, and a warning log, event and counter on each transition. Never throws.
 */
export class OutageGuard {
  private degradedSince = 0;
  private lastProbe = 0;
  private probing = false;
  private successes = 0;
  /** Store calls that failed or timed out. */
  failures = 0;
  /** Calls answered by the policy instead of the store. */
  bypassed = 0;
  /** Transitions into the degraded state. */
  outages = 0;

  private readonly deadlines: CallDeadlines;

  constructor(readonly options: OutageGuardOptions) {
    this.deadlines = new CallDeadlines(options.timeoutMs);
  }

  /** Store calls waiting for an answer (each within its time budget). */
  get inFlight(): number {
    return this.deadlines.size;
  }

  /** True while the store is considered down. */
  get degraded(): boolean {
    return this.degradedSince !== 0;
  }

  /**
   * Runs `call` within the time budget. Resolves to its value, or to {@link STORE_UNAVAILABLE} when
   * it failed, timed out, or was skipped because the store is down (then the caller applies the policy).
   */
  run<T>(call: () => Promise<T>): Promise<T | typeof STORE_UNAVAILABLE> {
    if (this.degradedSince !== 0) {
      const now = this.options.clock.now();
      if (this.probing || now - this.lastProbe < this.options.probeIntervalMs) {
        this.bypassed++;
        return UNAVAILABLE;
      }
      this.probing = true;
      this.lastProbe = now;
    }
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call());
    } catch (err) {
      this.failed(err);
      return UNAVAILABLE;
    }
    return new Promise((resolve) => {
      const deadline = this.deadlines.add(() => {
        resolve(STORE_UNAVAILABLE);
        this.probing = false;
        this.fail('timeout');
      });
      pending.then(
        (value) => {
          // Too late: the deadline already answered for it.
          if (!this.deadlines.settle(deadline)) return;
          resolve(value);
          this.probing = false;
          this.succeed();
        },
        (err: unknown) => {
          if (!this.deadlines.settle(deadline)) return;
          resolve(STORE_UNAVAILABLE);
          this.failed(err);
        },
      );
    });
  }

  private failed(err: unknown): void {
    this.probing = false;
    this.fail(err instanceof Error ? err.message : String(err));
  }

  private fail(reason: string): void {
    this.failures++;
    this.successes = 0;
    if (this.degradedSince !== 0) return;
    this.degradedSince = this.options.clock.now();
    this.lastProbe = this.degradedSince;
    this.outages++;
    const { name, policy } = this.options;
    this.warn({ store: name, policy, reason }, `autom8: store ${name} unavailable (${reason}); applying policy ${policy}`);
    publish('store.degraded', name, { store: name, policy, reason });
    this.options.onTransition?.('degraded');
  }

  private succeed(): void {
    if (this.degradedSince === 0) return;
    if (++this.successes < this.options.recoverAfterSuccesses) return;
    const downForMs = Math.round(this.options.clock.now() - this.degradedSince);
    this.degradedSince = 0;
    this.successes = 0;
    const { name } = this.options;
    this.warn({ store: name, downForMs }, `autom8: store ${name} recovered after ${downForMs} ms`);
    publish('store.recovered', name, { store: name, downForMs });
    this.options.onTransition?.('recovered');
  }

  // The guard runs in timers and promise callbacks of store calls: a logger that throws there must
  // cost the log line, not the answer to the request or the process.
  private warn(fields: Record<string, unknown>, message: string): void {
    try {
      this.options.logger.warn(fields, message);
    } catch {
      // nowhere left to report it
    }
  }

  /** Counters for `/metrics` JSON. */
  snapshot(): { degraded: boolean; policy: OutagePolicy; failures: number; bypassed: number; outages: number } {
    return { degraded: this.degraded, policy: this.options.policy, failures: this.failures, bypassed: this.bypassed, outages: this.outages };
  }
}
