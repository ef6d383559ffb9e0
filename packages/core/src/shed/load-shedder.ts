import { getHeapStatistics } from 'node:v8';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { LoadSampler, type LoadLimits, type LoadSnapshot } from './load-signal.js';
import { priorityIndex, shedProbabilities, type ShedPriority } from './priority.js';

/** Options of the load signal and its thresholds (`createLoadShedder` and the `shed` option). */
export interface LoadShedderOptions {
  /** Hard threshold: at this load every non-critical request is shed. 0..1, default 0.8. */
  maxLoad?: number;
  /** Soft threshold: shedding starts here and ramps up to `maxLoad`. Default 0.75 × maxLoad. */
  softLoad?: number;
  /** What counts as full load, per signal (0 turns a signal off). */
  limits?: {
    /** Default 50 ms. */
    maxEventLoopDelayMs?: number;
    /** ELU at which event-loop delay counts in full; default 0.9; 0: delay always counts in full. */
    maxEventLoopUtilization?: number;
    /** Default V8's heap size limit (so shedding starts at softLoad × that, 60% by default). */
    maxHeapUsedBytes?: number;
    /** Default 0 (off): RSS limits depend on the container. */
    maxRssBytes?: number;
    /** Default 0 (off). */
    maxInFlight?: number;
  };
  /** How often signals are read, ms. Default 50. */
  sampleIntervalMs?: number;
  /** Smoothing time constant, ms. Default 250. */
  smoothingMs?: number;
}

/** Validated {@link LoadShedderOptions}. */
export interface ResolvedLoadOptions {
  maxLoad: number;
  softLoad: number;
  limits: LoadLimits;
  sampleIntervalMs: number;
  smoothingMs: number;
}

const LOAD_KEYS = ['maxLoad', 'softLoad', 'limits', 'sampleIntervalMs', 'smoothingMs'];

/** Validates the load options found in `o` (paths prefixed with `path`). */
export function resolveLoadOptions(path: string, o: Record<string, unknown>): ResolvedLoadOptions {
  const p = (k: string) => (path ? `${path}.${k}` : k);
  const maxLoad = v.numberInRange(p('maxLoad'), o.maxLoad, 0.8, 0.01, 1);
  const softLoad = v.numberInRange(p('softLoad'), o.softLoad, maxLoad * 0.75, 0, 1);
  if (softLoad >= maxLoad) throw new InvalidOptionError(p('softLoad'), `a number below maxLoad (${maxLoad})`, o.softLoad);
  const l = v.optionalObject(p('limits'), o.limits) ?? {};
  v.knownKeys(p('limits'), l, ['maxEventLoopDelayMs', 'maxEventLoopUtilization', 'maxHeapUsedBytes', 'maxRssBytes', 'maxInFlight']);
  const limits: LoadLimits = {
    maxEventLoopDelayMs: v.nonNegativeNumber(p('limits.maxEventLoopDelayMs'), l.maxEventLoopDelayMs, 50),
    maxEventLoopUtilization: v.numberInRange(p('limits.maxEventLoopUtilization'), l.maxEventLoopUtilization, 0.9, 0, 1),
    maxHeapUsedBytes: v.nonNegativeNumber(p('limits.maxHeapUsedBytes'), l.maxHeapUsedBytes, getHeapStatistics().heap_size_limit),
    maxRssBytes: v.nonNegativeNumber(p('limits.maxRssBytes'), l.maxRssBytes, 0),
    maxInFlight: v.nonNegativeNumber(p('limits.maxInFlight'), l.maxInFlight, 0),
  };
  return {
    maxLoad,
    softLoad,
    limits,
    sampleIntervalMs: v.timerMs(p('sampleIntervalMs'), o.sampleIntervalMs, 50, { allowZero: true }),
    smoothingMs: v.positiveNumber(p('smoothingMs'), o.smoothingMs, 250),
  };
}

export { LOAD_KEYS };

/**
 * Guards a downstream service (or any work) by the process's load: ask {@link shouldProcess}
 * before the work and skip or degrade it when the answer is false.
 */
export class LoadShedder {
  /** Per-priority shedding probabilities at the current load (critical, high, normal, low). */
  readonly probabilities = [0, 0, 0, 0];
  private readonly credit = [0, 0, 0, 0];
  private readonly sampler: LoadSampler;
  private readonly soft: number;
  private readonly hard: number;
  private rejected = 0;
  private accepted = 0;

  constructor(
    readonly name: string,
    options: ResolvedLoadOptions,
    inFlight?: () => number,
    onSample?: (sampler: LoadSampler) => void,
  ) {
    this.soft = options.softLoad;
    this.hard = options.maxLoad;
    this.sampler = new LoadSampler({
      limits: options.limits,
      sampleIntervalMs: options.sampleIntervalMs,
      smoothingMs: options.smoothingMs,
      ...(inFlight ? { inFlight } : {}),
      onSample: (s) => {
        shedProbabilities(s.load, this.soft, this.hard, this.probabilities);
        onSample?.(s);
      },
    });
  }

  /** The current load, 0..1. */
  get load(): number {
    return this.sampler.load;
  }

  /** The sampler (tests feed it readings with `observe`). */
  get signal(): LoadSampler {
    return this.sampler;
  }

  /** Probability that work of `priority` is refused at the current load. */
  shedProbability(priority: ShedPriority = 'normal'): number {
    return this.probabilities[priorityIndex(priority)]!;
  }

  /**
   * True when work of `priority` should go ahead. Between the soft and hard thresholds the answer
   * is false for the ramp's share of calls, so callers back off gradually rather than all at once.
   */
  shouldProcess(priority: ShedPriority = 'normal'): boolean {
    return this.decide(priorityIndex(priority));
  }

  /**
   * @internal {@link shouldProcess} by priority index, for the middleware's hot path.
   *
   * Randomised error diffusion rather than an independent coin per request: each request adds
   * (1 − p) to its priority's credit and is admitted when the credit reaches a random threshold in
   * [0, 1) (admission costs 1). The credit stays within (−1, 2), so over any stretch the admitted
   * share is within a request or two of 1 − p, and admissions are spread out instead of clumping
   * by chance: clumps are what turn into queueing delay when the process runs near capacity. The
   * random threshold keeps a periodic request pattern from being shed always at the same place.
   */
  decide(index: number): boolean {
    const p = this.probabilities[index]!;
    if (p <= 0) {
      this.accepted++;
      return true;
    }
    if (p < 1) {
      const credit = this.credit[index]! + (1 - p);
      if (credit >= Math.random()) {
        this.credit[index] = credit - 1;
        this.accepted++;
        return true;
      }
      this.credit[index] = credit;
    }
    this.rejected++;
    return false;
  }

  /** Load, signals, thresholds and counts. */
  snapshot(): LoadSnapshot & { name: string; softLoad: number; maxLoad: number; accepted: number; rejected: number } {
    return { name: this.name, ...this.sampler.snapshot(), softLoad: this.soft, maxLoad: this.hard, accepted: this.accepted, rejected: this.rejected };
  }

  /** Stops sampling. */
  close(): void {
    this.sampler.close();
  }
}

/**
 * Creates a {@link LoadShedder} named `name` (for logs and snapshots), e.g.
 * `createLoadShedder('payments-api', { maxLoad: 0.8 })`. Throws naming a bad option.
 */
export function createLoadShedder(name: string, options?: LoadShedderOptions): LoadShedder {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'a non-empty string', name);
  const o = v.optionalObject('options', options) ?? {};
  v.knownKeys('', o, LOAD_KEYS);
  return new LoadShedder(name, resolveLoadOptions('', o));
}
