import type { Exchange } from '../pipeline/exchange.js';
import type { RequestView } from '../pipeline/request-view.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import type { ConcurrencySettings } from './concurrency-limiter.js';
import { LOAD_KEYS, resolveLoadOptions, type LoadShedderOptions, type ResolvedLoadOptions } from './load-shedder.js';
import type { ShedPriority } from './priority.js';

/** The adaptive concurrency limit (`shed.concurrency`). */
export interface ConcurrencyOptions {
  /** `'gradient'` (default) or `'aimd'`. */
  algorithm?: 'gradient' | 'aimd';
  /** One limit for the whole app (`'global'`, default) or one per route (`'route'`). */
  scope?: 'global' | 'route';
  /** Most per-route limiters; later routes share one. Default 100. */
  maxRoutes?: number;
  /** Starting limit. Default 20. */
  initialLimit?: number;
  /** Default 1. */
  minLimit?: number;
  /** Default 1000. */
  maxLimit?: number;
  /** Weight of each new estimate (gradient) / additive step factor (AIMD), (0, 1]. Default 0.2. */
  learningRate?: number;
  /** How often the limit is re-tuned, ms. Default 1000. */
  tuneIntervalMs?: number;
  /** Finished requests needed to re-tune. Default 10. */
  minSamples?: number;
  /** Latency over `rttTolerance ×` the baseline counts as congestion. Default 1.5. */
  rttTolerance?: number;
  /** Multiplicative decrease on congestion, (0, 1). Default 0.9. */
  backoffRatio?: number;
  /** Most requests waiting for a slot. Default 50; 0 rejects at once. */
  queueSize?: number;
  /** Longest wait for a slot before the request is shed, ms. Default 1000. */
  queueTimeoutMs?: number;
  /** Guaranteed shares of the limit per class, summing to 1, e.g. `{ interactive: 0.9, batch: 0.1 }`. */
  partitions?: Record<string, number>;
  /** The partition of a request (unknown names go to the largest partition). */
  partition?: (req: RequestView, ex: Exchange) => string | undefined;
}

/** The `shed` option: load shedding and adaptive concurrency. */
export interface ShedOptions extends LoadShedderOptions {
  /** Default true (when the section is given). */
  enabled?: boolean;
  /** Shed by the load signal. Default true. */
  load?: boolean;
  /**
   * Stale-request shedding: a request that has provably waited longer than the target in the event
   * loop's queue before autom8 saw it is shed at once (low priority after half, high after twice
   * the target, critical never), while the queue is a standing one: from when the smoothed
   * event-loop delay (as the load signal weighs it) reaches this value until neither that delay
   * (over half this value) nor the batches being shed show the queue any more; without the delay
   * signal, two over-target batches within 100 ms.
   *
   * Not set, the target adapts: 2× the measured synchronous cost of an admitted request (at
   * least 2 ms), at most half of `limits.maxEventLoopDelayMs` (25 ms), which is also the lag
   * that arms it. Set, it is the fixed target. 0 turns stale shedding off.
   */
  maxQueueDelayMs?: number;
  /** Route patterns shed last (`'POST /checkout'`); they also bypass the concurrency limit. */
  critical?: string[];
  /** Decides a request's priority (default `'normal'`); critical routes win over it. */
  priority?: (req: RequestView, ex: Exchange) => ShedPriority | undefined;
  /** Status of the rejection. Default 503. */
  status?: number;
  /** Body of the rejection: a string, or an object sent as JSON. Default `{"error":"overloaded"}`. */
  body?: string | Record<string, unknown>;
  /** `Retry-After` seconds. Default 1. */
  retryAfterSec?: number;
  /** Adaptive concurrency limit: true for defaults, or its options. Default off. */
  concurrency?: boolean | ConcurrencyOptions;
}

/** Validated `shed` options. */
export interface ResolvedShedOptions {
  load: ResolvedLoadOptions | undefined;
  maxQueueDelayMs: number;
  /** maxQueueDelayMs was not given: the target adapts to the service time, up to it. */
  adaptiveQueueDelay: boolean;
  critical: readonly string[];
  priority: ShedOptions['priority'];
  status: number;
  body: string;
  contentType: string;
  retryAfterSec: number;
  concurrency: (ConcurrencySettings & { scope: 'global' | 'route'; maxRoutes: number; partition: ConcurrencyOptions['partition'] }) | undefined;
}

const SHED_KEYS = ['enabled', 'load', 'maxQueueDelayMs', 'critical', 'priority', 'status', 'body', 'retryAfterSec', 'concurrency', ...LOAD_KEYS];
const CONCURRENCY_KEYS = [
  'algorithm',
  'scope',
  'maxRoutes',
  'initialLimit',
  'minLimit',
  'maxLimit',
  'learningRate',
  'tuneIntervalMs',
  'minSamples',
  'rttTolerance',
  'backoffRatio',
  'queueSize',
  'queueTimeoutMs',
  'partitions',
  'partition',
];

/** Validates the `shed` section; undefined when it is absent or disabled. Throws naming the option. */
export function resolveShedOptions(section: unknown): ResolvedShedOptions | undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : v.optionalObject('shed', section)!;
  v.knownKeys('shed', o, SHED_KEYS);
  if (!v.boolean('shed.enabled', o.enabled, true)) return undefined;
  const load = v.boolean('shed.load', o.load, true) ? resolveLoadOptions('shed', o) : undefined;
  const status = v.positiveInteger('shed.status', o.status, 503);
  if (status < 400 || status > 599) throw new InvalidOptionError('shed.status', 'an HTTP error status (400-599)', o.status);
  let body = '{"error":"overloaded"}';
  let contentType = 'application/json; charset=utf-8';
  if (typeof o.body === 'string') {
    body = o.body;
    contentType = 'text/plain; charset=utf-8';
  } else if (o.body !== undefined) {
    body = JSON.stringify(v.optionalObject('shed.body', o.body));
  }
  const concurrency = o.concurrency === undefined || o.concurrency === false ? undefined : resolveConcurrency(o.concurrency);
  // Half the event-loop delay limit by default (25 ms; 50 ms without the load signal): stale
  // shedding bounds latency tightly, which lets the smoothed ramp sit higher and waste less capacity.
  const maxQueueDelayMs = v.nonNegativeNumber('shed.maxQueueDelayMs', o.maxQueueDelayMs, load ? load.limits.maxEventLoopDelayMs / 2 : 50);
  if (load === undefined && concurrency === undefined && maxQueueDelayMs === 0) {
    throw new InvalidOptionError('shed.load', 'true unless shed.concurrency or shed.maxQueueDelayMs is on (nothing would be shed)', o.load);
  }
  return {
    load,
    maxQueueDelayMs,
    adaptiveQueueDelay: o.maxQueueDelayMs === undefined,
    critical: v.stringArray('shed.critical', o.critical, []),
    priority: v.optionalFunction('shed.priority', o.priority),
    status,
    body,
    contentType,
    retryAfterSec: v.nonNegativeNumber('shed.retryAfterSec', o.retryAfterSec, 1),
    concurrency,
  };
}

function resolveConcurrency(input: unknown): ResolvedShedOptions['concurrency'] {
  const c = input === true ? {} : v.optionalObject('shed.concurrency', input)!;
  v.knownKeys('shed.concurrency', c, CONCURRENCY_KEYS);
  const p = (k: string) => `shed.concurrency.${k}`;
  const minLimit = v.positiveInteger(p('minLimit'), c.minLimit, 1);
  const maxLimit = v.positiveInteger(p('maxLimit'), c.maxLimit, 1000);
  if (maxLimit < minLimit) throw new InvalidOptionError(p('maxLimit'), `an integer ≥ minLimit (${minLimit})`, c.maxLimit);
  const initialLimit = v.positiveInteger(p('initialLimit'), c.initialLimit, Math.min(maxLimit, Math.max(minLimit, 20)));
  if (initialLimit < minLimit || initialLimit > maxLimit) {
    throw new InvalidOptionError(p('initialLimit'), `an integer from minLimit (${minLimit}) to maxLimit (${maxLimit})`, c.initialLimit);
  }
  const queueSize = c.queueSize === 0 ? 0 : v.positiveInteger(p('queueSize'), c.queueSize, 50);
  return {
    algorithm: v.oneOf(p('algorithm'), c.algorithm, ['gradient', 'aimd'] as const, 'gradient'),
    scope: v.oneOf(p('scope'), c.scope, ['global', 'route'] as const, 'global'),
    maxRoutes: v.positiveInteger(p('maxRoutes'), c.maxRoutes, 100),
    initialLimit,
    minLimit,
    maxLimit,
    learningRate: v.numberInRange(p('learningRate'), c.learningRate, 0.2, 0.001, 1),
    tuneIntervalMs: v.timerMs(p('tuneIntervalMs'), c.tuneIntervalMs, 1000),
    minSamples: v.positiveInteger(p('minSamples'), c.minSamples, 10),
    rttTolerance: v.numberInRange(p('rttTolerance'), c.rttTolerance, 1.5, 1, 100),
    backoffRatio: v.numberInRange(p('backoffRatio'), c.backoffRatio, 0.9, 0.01, 0.99),
    queueSize,
    queueTimeoutMs: v.timerMs(p('queueTimeoutMs'), c.queueTimeoutMs, 1000),
    partitions: resolvePartitions(c.partitions),
    partition: v.optionalFunction(p('partition'), c.partition),
  };
}

function resolvePartitions(input: unknown): { name: string; share: number }[] {
  if (input === undefined) return [{ name: 'default', share: 1 }];
  const o = v.optionalObject('shed.concurrency.partitions', input)!;
  const entries = Object.entries(o);
  if (entries.length === 0) throw new InvalidOptionError('shed.concurrency.partitions', 'at least one partition', input);
  let sum = 0;
  const out = entries.map(([name, share]) => {
    const s = v.numberInRange(`shed.concurrency.partitions.${name}`, share, 0, 0.000001, 1);
    sum += s;
    return { name, share: s };
  });
  if (Math.abs(sum - 1) > 1e-6) throw new InvalidOptionError('shed.concurrency.partitions', `shares summing to 1 (got ${sum})`, input);
  // Largest first: unknown partition names fall into it.
  return out.sort((a, b) => b.share - a.share);
}
