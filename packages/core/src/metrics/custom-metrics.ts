import { WindowedSeries, type SeriesWindowSnapshot, type WindowSpec } from './windowed-series.js';

/** Attribute values accepted by the custom-metrics API. */
export type MetricAttributes = Record<string, string | number | boolean>;

/** JSON figures of one custom series. */
export interface CustomSeriesSnapshot {
  name: string;
  attributes: MetricAttributes;
  total: SeriesWindowSnapshot;
  windows: Record<string, SeriesWindowSnapshot>;
}

interface Entry {
  name: string;
  attributes: MetricAttributes;
  series: WindowedSeries;
}

/**
 * Custom latency and throughput series (`recordLatency`, `recordThroughput`), keyed by name plus
 * attributes and capped like the route series: past `maxSeries`, values fold into one
 * `overflow` series per kind.
 */
export class CustomMetrics {
  private readonly latency = new Map<string, Entry>();
  private readonly throughput = new Map<string, Entry>();
  /** Records folded into an overflow series because the cap was reached. */
  folded = 0;

  constructor(
    private readonly windows: readonly WindowSpec[],
    private readonly maxSeries: number,
  ) {}

  /** Records one duration (nanoseconds) for `name` with `attributes`. */
  recordLatency(name: string, durationNs: number, attributes: MetricAttributes | undefined, now: number): void {
    if (!(durationNs >= 0)) return; // NaN or negative: dropped, never thrown on a hot path
    this.entry(this.latency, name, attributes, now).series.record(durationNs / 1000, -1, now);
  }

  /** Adds `count` events for `name` with `attributes` (e.g. messages processed). */
  recordThroughput(name: string, count: number, attributes: MetricAttributes | undefined, now: number): void {
    if (!(count > 0) || !Number.isFinite(count)) return;
    // Throughput series only use counts; the recorded value is a placeholder of 1 µs.
    this.entry(this.throughput, name, attributes, now).series.recordMany(1, Math.round(count), now);
  }

  private entry(map: Map<string, Entry>, name: string, attributes: MetricAttributes | undefined, now: number): Entry {
    const key = attributes === undefined ? name : seriesKey(name, attributes);
    let e = map.get(key);
    if (e !== undefined) return e;
    if (map.size >= this.maxSeries) {
      this.folded++;
      const k = '\u0000overflow';
      e = map.get(k);
      if (e === undefined) map.set(k, (e = { name: 'overflow', attributes: {}, series: new WindowedSeries(this.windows, now) }));
      return e;
    }
    e = { name, attributes: { ...attributes }, series: new WindowedSeries(this.windows, now) };
    map.set(key, e);
    return e;
  }

  snapshot(now: number): { latency: CustomSeriesSnapshot[]; throughput: CustomThroughputSnapshot[] } {
    return {
      latency: [...this.latency.values()].map((e) => ({ name: e.name, attributes: e.attributes, ...e.series.snapshot(now) })),
      throughput: [...this.throughput.values()].map((e) => {
        const s = e.series.snapshot(now);
        const windows: Record<string, { count: number; ratePerSec: number }> = {};
        for (const [w, v] of Object.entries(s.windows)) windows[w] = { count: v.count, ratePerSec: v.ratePerSec };
        return { name: e.name, attributes: e.attributes, total: { count: s.total.count, ratePerSec: s.total.ratePerSec }, windows };
      }),
    };
  }
}

/** JSON figures of one throughput series. */
export interface CustomThroughputSnapshot {
  name: string;
  attributes: MetricAttributes;
  total: { count: number; ratePerSec: number };
  windows: Record<string, { count: number; ratePerSec: number }>;
}

function seriesKey(name: string, attributes: MetricAttributes): string {
  const keys = Object.keys(attributes).sort();
  let key = name;
  for (const k of keys) key += `\u0000${k}=${String(attributes[k])}`;
  return key;
}
