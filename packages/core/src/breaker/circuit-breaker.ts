import { publish } from '../events/events.js';
import { WindowedSeries } from '../metrics/windowed-series.js';
import { Autom8 } from '../pipeline/autom8.js';
import { engineOf as engineBehind, type Autom8Controls } from '../pipeline/controls.js';
import { CountRing } from '../slo/count-ring.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Autom8Error, InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { registryOf, type BreakerRegistry } from './breaker-registry.js';
import type { BreakerSnapshot, BreakerState } from './breaker-state.js';

export type { BreakerSnapshot, BreakerState } from './breaker-state.js';

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Open when more than this share (0..1) of the window's calls failed. Default 0.5. */
  errorRate?: number;
  /**
   * Open when the window's p99 call latency exceeds this many ms (i.e. more than 1 % of calls were
   * slower). Default: no latency trigger.
   */
  latencyP99?: number;
  /** Length of the rolling window, ms (10 slots). Default 10000. */
  window?: number;
  /** How long an open breaker fails fast before letting probes through, ms. Default 5000. */
  halfOpenAfter?: number;
  /** Fewer calls than this in the window never open the breaker. Default 10. */
  minCalls?: number;
  /** Probes let through at once when half-open; that many successes close the breaker. Default 1. */
  halfOpenProbes?: number;
  /** Which errors count as failures (e.g. not a 404 from the downstream). Default: every error. */
  isFailure?: (err: unknown) => boolean;
  /**
   * The middleware returned by `autom8Express` / `autom8Koa` (or what `createAutom8` returns): the breaker's
   * state then shows under `features.breakers` in `/metrics` and as an OTel gauge, and it uses the
   * engine's clock and instance name.
   */
  engine?: Autom8Controls;
  /** Time source when no engine is given (tests). */
  clock?: Clock;
}

/** Thrown (rejected) by {@link CircuitBreaker.fire} while the breaker is open. */
export class CircuitOpenError extends Autom8Error {
  /** Status a server would answer with when it passes this on. */
  readonly status = 503;
  constructor(
    readonly breaker: string,
    /** Epoch ms at which probes will be let through. */
    readonly retryAt: number,
  ) {
    super('AUTOM8_ERR_CIRCUIT_OPEN', `autom8: circuit breaker ${breaker} is open`);
    this.name = 'CircuitOpenError';
  }
}

const SLOTS = 10;
const P99_SLOW_SHARE = 0.01;

/**
 * A circuit breaker for calls to a downstream service. Closed: calls run and are measured (errors,
 * and duration in the core's log-linear histograms). When the window's error rate or p99 latency
 * crosses its limit, it opens: calls fail fast with {@link CircuitOpenError}. After `halfOpenAfter`
 * it lets `halfOpenProbes` probe calls through; if they succeed (without error and within
 * latencyP99) it closes, otherwise it opens again. No timers: transitions happen on calls.
 */
export class CircuitBreaker {
  private state_: BreakerState = 'closed';
  private openedAt = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private readonly ring: CountRing;
  private readonly series: WindowedSeries;
  private readonly clock: Clock;
  private readonly instance: string;
  private readonly errorRate: number;
  private readonly latencyP99: number;
  private readonly halfOpenAfter: number;
  private readonly minCalls: number;
  private readonly halfOpenProbes: number;
  private readonly isFailure: (err: unknown) => boolean;
  private readonly windowName = 'window';
  private readonly registry: BreakerRegistry | undefined;
  rejected = 0;
  opened = 0;

  constructor(
    readonly name: string,
    options: CircuitBreakerOptions = {},
  ) {
    const o = v.optionalObject('options', options) ?? {};
    v.knownKeys('', o, ['errorRate', 'latencyP99', 'window', 'halfOpenAfter', 'minCalls', 'halfOpenProbes', 'isFailure', 'engine', 'clock']);
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'a non-empty string', name);
    this.errorRate = v.numberInRange('errorRate', o.errorRate, 0.5, 0, 1);
    this.latencyP99 = o.latencyP99 === undefined ? Infinity : v.positiveNumber('latencyP99', o.latencyP99, 0);
    const windowMs = v.positiveInteger('window', o.window, 10_000);
    if (windowMs < SLOTS) throw new InvalidOptionError('window', `at least ${SLOTS} ms`, windowMs);
    this.halfOpenAfter = v.positiveNumber('halfOpenAfter', o.halfOpenAfter, 5000);
    this.minCalls = v.positiveInteger('minCalls', o.minCalls, 10);
    this.halfOpenProbes = v.positiveInteger('halfOpenProbes', o.halfOpenProbes, 1);
    this.isFailure = v.optionalFunction<(err: unknown) => boolean>('isFailure', o.isFailure) ?? (() => true);
    const engine = engineOf(o.engine);
    if (o.clock !== undefined && typeof (o.clock as Clock).now !== 'function') throw new InvalidOptionError('clock', 'an object with now()', o.clock);
    this.clock = engine?.options.clock ?? (o.clock as Clock | undefined) ?? systemClock;
    this.instance = engine?.options.name ?? 'autom8';
    const now = this.clock.now();
    const intervalMs = Math.ceil(windowMs / SLOTS);
    this.ring = new CountRing(intervalMs, SLOTS, now);
    this.series = new WindowedSeries([{ name: this.windowName, intervalMs, slots: SLOTS }], now);
    if (engine !== undefined) {
      this.registry = registryOf(engine);
      this.registry.add(this);
    }
  }

  /** The current state (an open breaker whose wait is over reports `half-open` on its next call). */
  get state(): BreakerState {
    return this.state_;
  }

  /**
   * Runs `call` through the breaker. Rejects with {@link CircuitOpenError} without calling it while
   * the breaker is open; otherwise returns (or rejects with) what `call` does.
   */
  async fire<T>(call: () => T | Promise<T>): Promise<T> {
    if (this.registry !== undefined && !this.registry.instrumented) this.registry.instrument();
    const probe = this.admit();
    const start = this.clock.now();
    let value: T;
    try {
      value = await call();
    } catch (err) {
      this.settle(probe, start, this.isFailure(err));
      throw err;
    }
    this.settle(probe, start, false);
    return value;
  }

  /** Decides whether a call may run; true when it runs as a half-open probe. Throws when open. */
  private admit(): boolean {
    if (this.state_ === 'closed') return false;
    const now = this.clock.now();
    if (this.state_ === 'open') {
      if (now - this.openedAt < this.halfOpenAfter) return this.reject();
      this.state_ = 'half-open';
      this.probeSuccesses = 0;
      publish('breaker.half-opened', this.instance, { breaker: this.name, openForMs: Math.round(now - this.openedAt) });
    }
    if (this.probesInFlight >= this.halfOpenProbes) return this.reject();
    this.probesInFlight++;
    return true;
  }

  private reject(): never {
    this.rejected++;
    throw new CircuitOpenError(this.name, this.openedAt + this.halfOpenAfter);
  }

  private settle(probe: boolean, start: number, failed: boolean): void {
    const now = this.clock.now();
    const ms = now - start;
    const slow = ms > this.latencyP99;
    this.ring.record(now, failed, slow);
    this.series.record(ms * 1000, failed ? 4 : 1, now);
    if (probe) {
      this.probesInFlight--;
      if (this.state_ !== 'half-open') return;
      if (failed || slow) {
        this.open(now, 'probe-failed');
      } else if (++this.probeSuccesses >= this.halfOpenProbes) {
        const openForMs = Math.round(now - this.openedAt);
        this.state_ = 'closed';
        this.ring.clear(); // the failures that opened it are history now
        publish('breaker.closed', this.instance, { breaker: this.name, openForMs });
      }
      return;
    }
    if (this.state_ !== 'closed') return; // a call started before the breaker opened
    const { sumTotal: calls, sumA: failures, sumB: slowCalls } = this.ring;
    if (calls < this.minCalls) return;
    if (failures > this.errorRate * calls) this.open(now, 'error-rate');
    else if (slowCalls > P99_SLOW_SHARE * calls) this.open(now, 'latency');
  }

  private open(now: number, reason: 'error-rate' | 'latency' | 'probe-failed'): void {
    this.state_ = 'open';
    this.openedAt = now;
    this.opened++;
    const { sumTotal: calls, sumA: failures, sumB: slowCalls } = this.ring;
    publish('breaker.opened', this.instance, {
      breaker: this.name,
      reason,
      errorRate: calls === 0 ? 0 : round(failures / calls),
      slowRate: calls === 0 ? 0 : round(slowCalls / calls),
      calls,
    });
  }

  /** The breaker's figures now. */
  snapshot(): BreakerSnapshot {
    const now = this.clock.now();
    this.ring.rotate(now);
    const w = this.series.snapshot(now).windows[this.windowName]!;
    const { sumTotal: calls, sumA: failures, sumB: slow } = this.ring;
    return {
      state: this.state_,
      calls,
      failures,
      slow,
      errorRate: calls === 0 ? 0 : round(failures / calls),
      p50Ms: w.p50Ms,
      p99Ms: w.p99Ms,
      rejected: this.rejected,
      opened: this.opened,
      halfOpenAt: this.state_ === 'open' ? new Date(this.openedAt + this.halfOpenAfter).toISOString() : null,
      config: {
        errorRate: this.errorRate,
        latencyP99: Number.isFinite(this.latencyP99) ? this.latencyP99 : null,
        windowMs: this.ring.windowMs,
        halfOpenAfterMs: this.halfOpenAfter,
        minCalls: this.minCalls,
      },
    };
  }
}

/**
 * Creates a circuit breaker for calls to a downstream service.
 *
 * @example
 * ```ts
 * const payments = createCircuitBreaker('payments', { errorRate: 0.5, latencyP99: 800, window: 10_000, halfOpenAfter: 5_000, engine: mw });
 * const receipt = await payments.fire(() => fetch('http://payments/charge', { method: 'POST', body }));
 * ```
 */
export function createCircuitBreaker(name: string, options?: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(name, options);
}

function engineOf(e: unknown): Autom8 | undefined {
  if (e === undefined) return undefined;
  const engine = e instanceof Autom8 ? e : engineBehind(e);
  if (engine === undefined) throw new InvalidOptionError('engine', 'the middleware autom8Express/autom8Koa returned (or createAutom8 did)', e);
  return engine;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
