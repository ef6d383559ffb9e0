import { Histogram, type HistogramSummary } from './histogram.js';

/**
 * One rolling window: `slots` interval histograms of `intervalMs` each, kept in a ring and rotated
 * lazily when a record or a read finds that the current interval has passed (no timers).
 * A window named '1m' with 6 slots of 10 s covers the current partial interval and the 5 before it.
 */
export interface WindowSpec {
  /** Name used in the JSON output, e.g. `'1m'`. */
  name: string;
  /** Length of one interval (the collection interval) in ms. */
  intervalMs: number;
  /** Number of intervals kept; the window spans `intervalMs * slots`. */
  slots: number;
}

/** The shortest interval among `windows`: the resolution of the history kept for the dashboard. */
export function collectionIntervalMs(windows: readonly WindowSpec[]): number {
  return windows.reduce((min, w) => Math.min(min, w.intervalMs), Infinity);
}

/** Default windows: 1 min at 10 s resolution, 5 min at 1 min, 1 h at 10 min. */
export const DEFAULT_WINDOWS: readonly WindowSpec[] = Object.freeze([
  { name: '1m', intervalMs: 10_000, slots: 6 },
  { name: '5m', intervalMs: 60_000, slots: 5 },
  { name: '1h', intervalMs: 600_000, slots: 6 },
]);

/** Number of slow-request exemplars kept per interval. */
export const EXEMPLARS_PER_SLOT = 3;

/** A slow request that a percentile figure can be traced back to. */
export interface Exemplar {
  durationMs: number;
  traceId: string;
  spanId: string;
  /** Epoch milliseconds at which the request ended. */
  timestamp: number;
  status: number;
}

/** The ids an exemplar points at (an OTel SpanContext fits). */
export interface ExemplarTrace {
  traceId: string;
  spanId: string;
}

/** Counts of responses per status class: index 0 = 1xx … 4 = 5xx. */
export type StatusCounts = Uint32Array;

/** The data of one interval: a histogram, status classes, and the slowest requests. */
class Slot {
  readonly hist = new Histogram();
  readonly status: StatusCounts = new Uint32Array(5);
  /** Slowest requests of the interval, unsorted; `exemplarCount` are valid. */
  exemplars: Exemplar[] | undefined;

  reset(): void {
    this.hist.reset();
    this.status.fill(0);
    this.exemplars = undefined;
  }

  /** Keeps the request if it is among the slowest EXEMPLARS_PER_SLOT of the interval. */
  offerExemplar(durationMs: number, trace: ExemplarTrace, now: number, status: number): void {
    const list = this.exemplars ?? (this.exemplars = []);
    let slot = list.length;
    if (slot >= EXEMPLARS_PER_SLOT) {
      slot = 0;
      for (let i = 1; i < list.length; i++) if (list[i]!.durationMs < list[slot]!.durationMs) slot = i;
      if (durationMs <= list[slot]!.durationMs) return; // the common case: allocate nothing
    }
    list[slot] = { durationMs, traceId: trace.traceId, spanId: trace.spanId, timestamp: Math.round(now), status };
  }
}

/** A ring of interval slots for one window. */
class Ring {
  private readonly slots: Slot[];
  private head = 0;
  private headStart: number;

  constructor(
    readonly spec: WindowSpec,
    now: number,
  ) {
    this.slots = Array.from({ length: spec.slots }, () => new Slot());
    this.headStart = now - (now % spec.intervalMs);
  }

  /** The slot for time `now`, rotating (and clearing) slots whose interval has passed. */
  current(now: number): Slot {
    const interval = this.spec.intervalMs;
    if (now - this.headStart >= interval) {
      const steps = Math.floor((now - this.headStart) / interval);
      const n = steps < this.slots.length ? steps : this.slots.length;
      for (let k = 0; k < n; k++) {
        this.head = (this.head + 1) % this.slots.length;
        this.slots[this.head]!.reset();
      }
      this.headStart += steps * interval;
    }
    return this.slots[this.head]!;
  }

  /**
   * The slot of the interval starting at `start` (a multiple of the interval), or undefined when
   * the ring no longer holds it (or it has not begun).
   */
  slotStarting(start: number, now: number): Slot | undefined {
    this.current(now);
    const back = (this.headStart - start) / this.spec.intervalMs;
    if (!Number.isInteger(back) || back < 0 || back >= this.slots.length) return undefined;
    return this.slots[(this.head - back + this.slots.length) % this.slots.length];
  }

  /** Milliseconds the window really covers at `now` (the oldest slot start to now). */
  coveredMs(now: number, since: number): number {
    const start = this.headStart - (this.slots.length - 1) * this.spec.intervalMs;
    return Math.max(1, now - Math.max(start, since));
  }

  /** Merges the ring into one histogram, status counts and exemplars. */
  merge(now: number): { hist: Histogram; status: StatusCounts; exemplars: Exemplar[] } {
    this.current(now);
    const hist = new Histogram();
    const status = new Uint32Array(5);
    const exemplars: Exemplar[] = [];
    for (const slot of this.slots) {
      hist.add(slot.hist);
      for (let i = 0; i < 5; i++) status[i]! += slot.status[i]!;
      if (slot.exemplars) exemplars.push(...slot.exemplars);
    }
    exemplars.sort((a, b) => b.durationMs - a.durationMs);
    exemplars.length = Math.min(exemplars.length, EXEMPLARS_PER_SLOT);
    return { hist, status, exemplars };
  }
}

/** Figures of one window (or of the lifetime totals) in the JSON output. */
export interface SeriesWindowSnapshot extends HistogramSummary {
  /** Requests per second over the time the window covers. */
  ratePerSec: number;
  /** Share of responses with a 5xx status (0..1). */
  errorRate: number;
  /** Responses per status class. */
  status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Trace ids of the slowest recent requests, slowest first. */
  exemplars?: Exemplar[];
}

/**
 * A latency series: lifetime totals plus one ring per window. `record` is O(1): one bucket
 * increment per window, and a lazy rotation check.
 */
export class WindowedSeries {
  readonly lifetime = new Histogram();
  readonly lifetimeStatus: StatusCounts = new Uint32Array(5);
  private readonly rings: Ring[];
  private readonly createdAt: number;
  /** The ring with the shortest interval (the collection interval), for history. */
  private readonly finest: Ring;

  constructor(windows: readonly WindowSpec[], now: number) {
    this.rings = windows.map((w) => new Ring(w, now));
    this.createdAt = now;
    this.finest = this.rings.reduce((a, b) => (b.spec.intervalMs < a.spec.intervalMs ? b : a));
  }

  /**
   * The histogram and status counts of one past interval of the finest window (the one starting at
   * `start`, a multiple of {@link collectionIntervalMs}), or undefined once the ring has dropped it.
   * Read-only: the caller must not change what it gets.
   */
  intervalAt(start: number, now: number): { readonly hist: Histogram; readonly status: StatusCounts } | undefined {
    return this.finest.slotStarting(start, now);
  }

  /**
   * Records one observation.
   * @param us duration in microseconds
   * @param statusClass 0..4 for 1xx..5xx, or -1 when there is no status (custom latency)
   * @param now clock time in ms
   * @param trace the request's trace, making it an exemplar candidate; undefined when untraced
   * @param status the HTTP status, kept with an exemplar
   */
  record(us: number, statusClass: number, now: number, trace?: ExemplarTrace, status = 0): void {
    this.lifetime.record(us);
    if (statusClass >= 0) this.lifetimeStatus[statusClass]!++;
    const rings = this.rings;
    for (let i = 0; i < rings.length; i++) {
      const slot = rings[i]!.current(now);
      slot.hist.record(us);
      if (statusClass >= 0) slot.status[statusClass]!++;
      if (trace !== undefined) slot.offerExemplar(us / 1000, trace, now, status);
    }
  }

  /** Records `n` observations of the same value (no status). */
  recordMany(us: number, n: number, now: number): void {
    this.lifetime.recordMany(us, n);
    for (const ring of this.rings) ring.current(now).hist.recordMany(us, n);
  }

  /** Lifetime totals and each window's figures. */
  snapshot(now: number): { total: SeriesWindowSnapshot; windows: Record<string, SeriesWindowSnapshot> } {
    const windows: Record<string, SeriesWindowSnapshot> = {};
    for (const ring of this.rings) {
      const m = ring.merge(now);
      windows[ring.spec.name] = toSnapshot(m.hist, m.status, ring.coveredMs(now, this.createdAt), m.exemplars);
    }
    return {
      total: toSnapshot(this.lifetime, this.lifetimeStatus, Math.max(1, now - this.createdAt), undefined),
      windows,
    };
  }
}

function toSnapshot(hist: Histogram, status: StatusCounts, coveredMs: number, exemplars: Exemplar[] | undefined): SeriesWindowSnapshot {
  const summary = hist.summary();
  const out: SeriesWindowSnapshot = {
    ...summary,
    ratePerSec: Math.round((summary.count / coveredMs) * 1000 * 1000) / 1000,
    errorRate: summary.count === 0 ? 0 : Math.round((status[4]! / summary.count) * 10000) / 10000,
    status: { '1xx': status[0]!, '2xx': status[1]!, '3xx': status[2]!, '4xx': status[3]!, '5xx': status[4]! },
  };
  if (exemplars !== undefined) out.exemplars = exemplars;
  return out;
}
