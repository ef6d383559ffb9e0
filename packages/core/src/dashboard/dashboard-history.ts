import type { RouteSeries } from '../metrics/route-metrics.js';
import { collectionIntervalMs, type WindowedSeries } from '../metrics/windowed-series.js';
import type { FeatureHost } from '../pipeline/feature-host.js';
import { forEachLeaf } from './feature-leaves.js';

/** Figures kept per interval of a latency series: 1xx..5xx counts, p50, p95, p99, max (ms). */
const FIELDS = 9;
const P50 = 5;
const P95 = 6;
const P99 = 7;
const MAX = 8;

/** Most feature figures kept over time; past it new ones are not charted (see {@link forEachLeaf}). */
export const MAX_FEATURE_SERIES = 256;

/** A series' figures of one interval, as the history endpoint sends them. */
export interface LatencyHistory {
  /** Requests per interval. */
  count: number[];
  /** 5xx responses per interval. */
  errors: number[];
  p99: number[];
  p50?: number[];
  p95?: number[];
  max?: number[];
  /** Responses per status class and interval. */
  status?: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number[]>;
}

/**
 * A ring of per-interval figures of one latency series. Allocated on the first interval with
 * traffic: idle series cost a pointer.
 */
class LatencyRing {
  data: Float32Array | undefined;
  constructor(private readonly capacity: number) {}

  write(index: number, series: WindowedSeries, start: number, now: number): void {
    const slot = series.intervalAt(start, now);
    const count = slot === undefined ? 0 : slot.hist.count;
    if (count === 0 && this.data === undefined) return;
    const d = (this.data ??= new Float32Array(this.capacity * FIELDS));
    const at = index * FIELDS;
    if (slot === undefined || count === 0) {
      d.fill(0, at, at + FIELDS);
      return;
    }
    for (let i = 0; i < 5; i++) d[at + i] = slot.status[i]!;
    const h = slot.hist;
    d[at + P50] = h.quantile(0.5) / 1000;
    d[at + P95] = h.quantile(0.95) / 1000;
    d[at + P99] = h.quantile(0.99) / 1000;
    d[at + MAX] = h.max / 1000;
  }
}

/**
 * The recent past the dashboard shows on load: for the last `capacity` collection intervals (the
 * shortest window interval, 10 s by default), each route's and the totals' request counts, status
 * classes and latency percentiles, read from the windowed series' finished interval slots, and each
 * feature's numeric figures sampled at the end of the interval. Fixed-size rings: memory grows with
 * routes only up to `metrics.maxSeries`, and with feature figures only up to
 * {@link MAX_FEATURE_SERIES}. A timer (unref'd) samples once per interval, off the request path.
 */
export class DashboardHistory {
  readonly intervalMs: number;
  /** Interval start of each point, epoch ms; a ring indexed like the series'. */
  private readonly starts: Float64Array;
  /** Points sampled since start; the next one goes to `written % capacity`. */
  private written = 0;
  /** Start of the next interval to sample. */
  private nextStart: number;
  private readonly totals: LatencyRing;
  private readonly routes = new Map<RouteSeries, LatencyRing>();
  private readonly features = new Map<string, Float64Array>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly engine: FeatureHost,
    readonly capacity: number,
  ) {
    this.intervalMs = collectionIntervalMs(engine.windows);
    this.starts = new Float64Array(capacity);
    this.totals = new LatencyRing(capacity);
    const now = engine.clock.now();
    this.nextStart = now - (now % this.intervalMs);
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.closed) return;
    // Shortly after the interval ends, so that the slot is complete when read.
    const lag = Math.min(250, this.intervalMs / 10);
    const delay = Math.max(1, this.nextStart + this.intervalMs + lag - now);
    this.timer = setTimeout(() => this.tick(), Math.min(delay, 2_147_483_647));
    this.timer.unref();
  }

  private tick(): void {
    const now = this.engine.clock.now();
    try {
      this.sample(now);
    } catch (err) {
      this.engine.reportFailure('dashboard history', err);
    }
    this.schedule(now);
  }

  /** Samples every interval that ended since the last call (the timer calls it; tests may too). */
  sample(now: number): void {
    const interval = this.intervalMs;
    // Asleep for longer than the ring holds: start again at the oldest interval worth keeping.
    const oldest = now - (now % interval) - this.capacity * interval;
    if (this.nextStart < oldest) this.nextStart = oldest;
    while (this.nextStart + interval <= now) {
      const start = this.nextStart;
      this.nextStart += interval;
      const index = this.written % this.capacity;
      this.written++;
      this.starts[index] = start;
      this.totals.write(index, this.engine.allRoutes, start, now);
      for (const s of this.engine.routeMetrics.all()) {
        let ring = this.routes.get(s);
        if (ring === undefined) this.routes.set(s, (ring = new LatencyRing(this.capacity)));
        ring.write(index, s.series, start, now);
      }
      // Feature figures are read now, so only the latest interval gets them; earlier ones missed
      // by a late timer stay empty (NaN) rather than show today's value as the past's.
      const latest = this.nextStart + interval > now;
      for (const column of this.features.values()) column[index] = NaN;
      if (latest) this.sampleFeatures(index);
    }
  }

  private sampleFeatures(index: number): void {
    const visit = (path: string, value: number) => {
      let column = this.features.get(path);
      if (column === undefined) {
        if (this.features.size >= MAX_FEATURE_SERIES) return;
        this.features.set(path, (column = new Float64Array(this.capacity).fill(NaN)));
      }
      column[index] = value;
    };
    const features = this.engine.featureSnapshots();
    for (const [name, value] of Object.entries(features)) forEachLeaf(name, value, MAX_FEATURE_SERIES, visit);
    const sys = this.engine.systemSnapshot();
    if (sys !== undefined) {
      visit('system.cpuPercent', sys.cpuPercent);
      visit('system.eventLoopUtilization', sys.eventLoopUtilization);
      visit('system.eventLoopDelayP99Ms', sys.eventLoopDelay.p99Ms);
      visit('system.rssBytes', sys.memory.rssBytes);
      visit('system.heapUsedBytes', sys.memory.heapUsedBytes);
    }
  }

  /** Ring indexes of the points whose interval starts after `since`, oldest first. */
  private indexes(since: number): number[] {
    const n = Math.min(this.written, this.capacity);
    const out: number[] = [];
    for (let k = n; k >= 1; k--) {
      const index = (this.written - k) % this.capacity;
      if (this.starts[index]! > since) out.push(index);
    }
    return out;
  }

  /** Interval starts (epoch ms) of the points after `since`, oldest first. */
  times(since: number): { indexes: number[]; t: number[] } {
    const indexes = this.indexes(since);
    return { indexes, t: indexes.map((i) => this.starts[i]!) };
  }

  /** The totals' figures at `indexes`, in full. */
  totalsAt(indexes: number[]): LatencyHistory {
    return latencyAt(this.totals.data, indexes, true);
  }

  /** One series' figures at `indexes`: full, or just what a sparkline row needs. */
  routeAt(series: RouteSeries, indexes: number[], full: boolean): LatencyHistory {
    return latencyAt(this.routes.get(series)?.data, indexes, full);
  }

  /** Every feature figure at `indexes` (null where not sampled). */
  featuresAt(indexes: number[]): Record<string, (number | null)[]> {
    const out: Record<string, (number | null)[]> = {};
    for (const [path, column] of this.features) out[path] = indexes.map((i) => (Number.isNaN(column[i]!) ? null : round(column[i]!)));
    return out;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

function latencyAt(data: Float32Array | undefined, indexes: number[], full: boolean): LatencyHistory {
  const col = (field: number, r: (v: number) => number): number[] => indexes.map((i) => (data === undefined ? 0 : r(data[i * FIELDS + field]!)));
  const count = indexes.map((i) => {
    if (data === undefined) return 0;
    let n = 0;
    for (let f = 0; f < 5; f++) n += data[i * FIELDS + f]!;
    return n;
  });
  const out: LatencyHistory = { count, errors: col(4, Math.round), p99: col(P99, ms) };
  if (full) {
    out.p50 = col(P50, ms);
    out.p95 = col(P95, ms);
    out.max = col(MAX, ms);
    out.status = { '1xx': col(0, Math.round), '2xx': col(1, Math.round), '3xx': col(2, Math.round), '4xx': col(3, Math.round), '5xx': col(4, Math.round) };
  }
  return out;
}

/** Milliseconds to 3 significant digits (exact below 1 µs is noise). */
function ms(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(3));
}

/** Feature figures: integers stay exact, fractions get 4 significant digits. */
function round(v: number): number {
  return Number.isInteger(v) ? v : Number(v.toPrecision(4));
}
