import { publish } from '../events/events.js';
import { UNMATCHED_ROUTE } from '../metrics/route-metrics.js';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Feature } from '../pipeline/feature.js';
import { RouteKeyMap } from '../slo/finished-request.js';
import { InvalidOptionError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import * as v from '../util/validate.js';

/** The `slowLog` option. */
export interface SlowLogOptions {
  /** Requests slower than this (ms) are slow. Default 1000. */
  thresholdMs?: number;
  /** Per-route thresholds (ms) overriding `thresholdMs`: `{ 'GET /search': 300, '/report': 5000 }`. */
  routes?: Record<string, number>;
  /** Share of slow requests that are logged (0..1], taken deterministically (every 1/rate-th). Default 1. */
  sampleRate?: number;
  /** Most lines written per minute; the rest are counted and reported on the next line. Default 60. */
  maxPerMinute?: number;
  /** Where lines go (pino-compatible; `warn` is used). Default: the engine's `logger`. */
  logger?: Logger;
}

/** One slow-request log line (the object passed to `logger.warn`). */
export interface SlowRequestLine {
  event: 'autom8.slow_request';
  instance: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  thresholdMs: number;
  traceId: string | undefined;
  spanId: string | undefined;
  /** Slow requests not logged (cap) since the previous line. */
  suppressed: number;
}

const MINUTE = 60_000;

/**
 * Logs requests over a threshold as structured lines, sampled and capped per minute so that a
 * flood of slow requests writes at most `maxPerMinute` lines (and says how many it dropped).
 * Publishes `request.slow` for every slow request (free without subscribers).
 */
export class SlowLogFeature implements Feature {
  readonly name = 'slowLog';
  readonly stage = 0;
  private sampleAcc = 0;
  private minuteStart = 0;
  private writtenThisMinute = 0;
  private suppressedSinceLine = 0;
  /** Slow requests seen. */
  slow = 0;
  /** Lines written. */
  logged = 0;
  /** Slow requests skipped by sampling. */
  unsampled = 0;
  /** Slow requests dropped by the per-minute cap. */
  capped = 0;

  constructor(
    private readonly engine: FeatureHost,
    private readonly thresholdMs: number,
    private readonly routes: RouteKeyMap<number>,
    private readonly sampleRate: number,
    private readonly maxPerMinute: number,
    private readonly logger: Logger,
    /** The lowest threshold of all (global and per route), for the fast exit. */
    private readonly minThreshold: number,
  ) {}

  onResponse(ex: Exchange): void {
    if (ex.monitoring) return;
    const ms = ex.endTime - ex.startTime;
    // Fast exit: faster than every threshold (the common case costs one comparison).
    if (ms <= this.minThreshold) return;
    const status = ex.status;
    const route = ex.finalRoute;
    let threshold = this.thresholdMs;
    if (route !== undefined && this.routes.size > 0) threshold = this.routes.get(ex.method, route) ?? threshold;
    if (ms <= threshold) return;
    this.slow++;
    const trace = ex.span?.spanContext();
    const traceId = trace !== undefined && trace.traceFlags & 1 ? trace.traceId : undefined;
    const routeName = route ?? UNMATCHED_ROUTE;
    const durationMs = Math.round(ms * 1000) / 1000;
    publish('request.slow', this.engine.name, { method: ex.method, route: routeName, durationMs, status, thresholdMs: threshold, traceId });

    this.sampleAcc += this.sampleRate;
    if (this.sampleAcc < 1) {
      this.unsampled++;
      return;
    }
    this.sampleAcc -= 1;
    const now = ex.endTime;
    if (now - this.minuteStart >= MINUTE) {
      this.minuteStart = now;
      this.writtenThisMinute = 0;
    }
    if (this.writtenThisMinute >= this.maxPerMinute) {
      this.capped++;
      this.suppressedSinceLine++;
      return;
    }
    this.writtenThisMinute++;
    this.logged++;
    const line: SlowRequestLine = {
      event: 'autom8.slow_request',
      instance: this.engine.name,
      method: ex.method,
      route: routeName,
      status,
      durationMs,
      thresholdMs: threshold,
      traceId,
      spanId: traceId === undefined ? undefined : trace!.spanId,
      suppressed: this.suppressedSinceLine,
    };
    this.suppressedSinceLine = 0;
    this.logger.warn(line, `autom8: slow request ${ex.method} ${routeName} ${durationMs} ms`);
  }

  snapshot(): { slow: number; logged: number; unsampled: number; capped: number; thresholdMs: number; maxPerMinute: number } {
    return {
      slow: this.slow,
      logged: this.logged,
      unsampled: this.unsampled,
      capped: this.capped,
      thresholdMs: this.thresholdMs,
      maxPerMinute: this.maxPerMinute,
    };
  }
}

/** Builds the slow-request log from the `slowLog` option (undefined or false: off). */
export function createSlowLogFeature(section: unknown, engine: FeatureHost): SlowLogFeature | undefined {
  if (section === undefined || section === false) return undefined;
  const o = section === true ? {} : v.optionalObject('slowLog', section)!;
  v.knownKeys('slowLog', o, ['thresholdMs', 'routes', 'sampleRate', 'maxPerMinute', 'logger']);
  const thresholdMs = v.nonNegativeNumber('slowLog.thresholdMs', o.thresholdMs, 1000);
  const routes = new RouteKeyMap<number>();
  const values: number[] = [];
  const r = v.optionalObject('slowLog.routes', o.routes) ?? {};
  for (const pattern of Object.keys(r)) {
    const ms = v.nonNegativeNumber(`slowLog.routes['${pattern}']`, r[pattern], 0);
    if (r[pattern] === undefined) throw new InvalidOptionError(`slowLog.routes['${pattern}']`, 'a threshold in ms', undefined);
    routes.set(pattern, ms, `slowLog.routes['${pattern}']`);
    values.push(ms);
  }
  const sampleRate = v.numberInRange('slowLog.sampleRate', o.sampleRate, 1, 0, 1);
  if (sampleRate === 0) throw new InvalidOptionError('slowLog.sampleRate', 'a share in (0, 1]', 0);
  const maxPerMinute = v.positiveInteger('slowLog.maxPerMinute', o.maxPerMinute, 60);
  let logger = engine.logger;
  if (o.logger !== undefined) {
    const l = o.logger as Logger;
    if (typeof l !== 'object' || l === null || typeof l.warn !== 'function')
      throw new InvalidOptionError('slowLog.logger', 'a logger with a warn method', o.logger);
    logger = l;
  }
  return new SlowLogFeature(engine, thresholdMs, routes, sampleRate, maxPerMinute, logger, Math.min(thresholdMs, ...values));
}
