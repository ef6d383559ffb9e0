import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { ELD_RESOLUTION_MS, eventLoopDelayMs } from '../system/event-loop-delay.js';

/** What the load signal compares against; a limit of 0 leaves that signal out. */
export interface LoadLimits {
  /** Smoothed event-loop delay that counts as full load, ms. */
  maxEventLoopDelayMs: number;
  /**
   * Event-loop utilisation at which event-loop delay counts in full (0 = always in full). ELU is not
   * a load term of its own (a busy but responsive process, ELU near 1 with little delay, is not
   * overloaded); it corroborates delay: below this utilisation the delay ratio is scaled by
   * ELU / maxEventLoopUtilization, so timers that ran late while the loop was mostly idle (one
   * stall, a paused VM) count less.
   */
  maxEventLoopUtilization: number;
  /** V8 heap used that counts as full load, bytes. */
  maxHeapUsedBytes: number;
  /** Resident set size that counts as full load, bytes. */
  maxRssBytes: number;
  /** Requests in flight that count as full load. */
  maxInFlight: number;
}

/** One raw reading of the signals, before smoothing. */
export interface LoadReading {
  eventLoopDelayMs: number;
  eventLoopUtilization: number;
  heapUsedBytes: number;
  rssBytes: number;
  inFlight: number;
}

/** The smoothed signals and the load they add up to, as `/metrics` shows them. */
export interface LoadSnapshot extends LoadReading {
  /** max of the per-signal ratios, clamped to [0, 1]. */
  load: number;
  /** The signal that sets the load. */
  dominant: keyof LoadReading | 'none';
  samples: number;
}

export interface LoadSamplerOptions {
  limits: LoadLimits;
  /** How often the signals are read, ms; 0: never on a timer (tests feed {@link LoadSampler.observe}). */
  sampleIntervalMs: number;
  /** Time constant of the exponential smoothing, ms. */
  smoothingMs: number;
  /** Requests in flight right now. */
  inFlight?: () => number;
  /** Called after each sample (the shed feature recomputes its probabilities there). */
  onSample?: (sampler: LoadSampler) => void;
}

/**
 * The load signal in [0, 1]: each signal is smoothed (EWMA with time constant `smoothingMs`, so one
 * busy sample moves it only a little), divided by its limit, and the largest ratio is the load.
 * Sampling runs on an unref'd timer, so reading {@link load} on the request path costs nothing.
 *
 * Event-loop delay is the mean of a native `monitorEventLoopDelay` histogram over the interval, or
 * the sampler's own timer lateness when that is larger (a loop blocked for a whole interval records
 * no histogram entries, but makes the timer late).
 */
export class LoadSampler {
  /** The current load, 0..1. */
  load = 0;
  /**
   * The smoothed event-loop delay weighted by utilisation as the load counts it, ms (0 when the
   * delay signal is off): the lag the delay term of {@link load} stands for.
   */
  lagMs = 0;
  /** Event-loop utilisation of the last interval, unsmoothed (0 when utilisation is not read). */
  lastUtilization = 0;
  private readonly limits: LoadLimits;
  private readonly smoothingMs: number;
  private readonly intervalMs: number;
  private readonly eld: IntervalHistogram | undefined;
  private readonly inFlightOf: (() => number) | undefined;
  private readonly onSample: ((s: LoadSampler) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastElu: EventLoopUtilization | undefined;
  private expectedAt = 0;
  private eldCount = 0;
  private eldSum = 0;
  private samples = 0;
  private readonly smoothed: LoadReading = { eventLoopDelayMs: 0, eventLoopUtilization: 0, heapUsedBytes: 0, rssBytes: 0, inFlight: 0 };
  private dominant: LoadSnapshot['dominant'] = 'none';

  constructor(options: LoadSamplerOptions) {
    this.limits = options.limits;
    this.smoothingMs = options.smoothingMs;
    this.intervalMs = options.sampleIntervalMs;
    this.inFlightOf = options.inFlight;
    this.onSample = options.onSample;
    if (this.intervalMs > 0) {
      this.eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
      this.eld.enable();
      this.lastElu = performance.eventLoopUtilization();
      // First reading now (memory and in-flight are meaningful at once; delay starts at 0).
      this.observe(this.read(0), 0);
      this.schedule();
    }
  }

  private schedule(): void {
    this.expectedAt = performance.now() + this.intervalMs;
    this.timer = setTimeout(this.tick, this.intervalMs);
    this.timer.unref();
  }

  private readonly tick = (): void => {
    const now = performance.now();
    const lateMs = Math.max(0, now - this.expectedAt);
    // Weighted by the nominal interval, not the (possibly much longer) real one: a late tick is one
    // sample, not a long stretch of evidence.
    this.observe(this.read(lateMs), this.intervalMs);
    this.schedule();
  };

  private read(lateMs: number): LoadReading {
    const eld = this.eld!;
    let delayMs = lateMs;
    // The histogram is cumulative: the interval's mean comes from the change in count and sum.
    // (Resetting it every interval would lose data: after reset() Node skips the next delay, which
    // under load is often the interval's only one.)
    const count = eld.count;
    const sum = count > 0 ? eld.mean * count : 0;
    if (count > this.eldCount) {
      const mean = eventLoopDelayMs((sum - this.eldSum) / (count - this.eldCount));
      if (mean > delayMs) delayMs = mean;
    }
    this.eldCount = count;
    this.eldSum = sum;
    if (count > 1e6) {
      // keep the sums exact; losing one delay every few hours is fine
      eld.reset();
      this.eldCount = 0;
      this.eldSum = 0;
    }
    let utilization = 0;
    if (this.limits.maxEventLoopUtilization > 0) {
      const current = performance.eventLoopUtilization();
      utilization = performance.eventLoopUtilization(current, this.lastElu).utilization;
      this.lastElu = current;
    }
    return {
      eventLoopDelayMs: delayMs,
      eventLoopUtilization: utilization,
      heapUsedBytes: this.limits.maxHeapUsedBytes > 0 ? getHeapStatistics().used_heap_size : 0,
      rssBytes: this.limits.maxRssBytes > 0 ? process.memoryUsage.rss() : 0,
      inFlight: this.inFlightOf?.() ?? 0,
    };
  }

  /**
   * Folds one reading taken `elapsedMs` after the previous one into the smoothed signals and
   * recomputes the load. The first reading is taken as is.
   */
  observe(r: LoadReading, elapsedMs: number): void {
    const s = this.smoothed;
    const a = this.samples === 0 ? 1 : 1 - Math.exp(-Math.max(0, elapsedMs) / this.smoothingMs);
    // One stall counts at most twice the limit, so a single GC pause or slow task cannot push the
    // smoothed delay past the soft threshold on its own; sustained lag still does within a few samples.
    const maxDelay = this.limits.maxEventLoopDelayMs;
    const delay = maxDelay > 0 && r.eventLoopDelayMs > 2 * maxDelay ? 2 * maxDelay : r.eventLoopDelayMs;
    s.eventLoopDelayMs += a * (delay - s.eventLoopDelayMs);
    s.eventLoopUtilization += a * (r.eventLoopUtilization - s.eventLoopUtilization);
    s.heapUsedBytes += a * (r.heapUsedBytes - s.heapUsedBytes);
    s.rssBytes += a * (r.rssBytes - s.rssBytes);
    s.inFlight += a * (r.inFlight - s.inFlight);
    this.lastUtilization = r.eventLoopUtilization;
    this.samples++;
    this.load = this.compute();
    this.onSample?.(this);
  }

  private compute(): number {
    const l = this.limits;
    const s = this.smoothed;
    let load = 0;
    let dominant: LoadSnapshot['dominant'] = 'none';
    const consider = (ratio: number, name: keyof LoadReading) => {
      if (ratio > load) {
        load = ratio;
        dominant = name;
      }
    };
    if (l.maxEventLoopDelayMs > 0) {
      let delayRatio = s.eventLoopDelayMs / l.maxEventLoopDelayMs;
      // Corroborated by utilisation (see LoadLimits.maxEventLoopUtilization).
      if (l.maxEventLoopUtilization > 0) delayRatio *= Math.min(1, s.eventLoopUtilization / l.maxEventLoopUtilization);
      this.lagMs = delayRatio * l.maxEventLoopDelayMs;
      consider(delayRatio, 'eventLoopDelayMs');
    }
    if (l.maxHeapUsedBytes > 0) consider(s.heapUsedBytes / l.maxHeapUsedBytes, 'heapUsedBytes');
    if (l.maxRssBytes > 0) consider(s.rssBytes / l.maxRssBytes, 'rssBytes');
    if (l.maxInFlight > 0) consider(s.inFlight / l.maxInFlight, 'inFlight');
    this.dominant = dominant;
    return load > 1 ? 1 : load;
  }

  /** The smoothed signals and the load. */
  snapshot(): LoadSnapshot {
    const s = this.smoothed;
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    return {
      load: r3(this.load),
      dominant: this.dominant,
      eventLoopDelayMs: r3(s.eventLoopDelayMs),
      eventLoopUtilization: r3(s.eventLoopUtilization),
      heapUsedBytes: Math.round(s.heapUsedBytes),
      rssBytes: Math.round(s.rssBytes),
      inFlight: r3(s.inFlight),
      samples: this.samples,
    };
  }

  /** Stops sampling. Idempotent. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.eld?.disable();
  }
}
