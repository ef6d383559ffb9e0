import type { Attributes } from '@opentelemetry/api';
import { WindowedSeries, type ExemplarTrace, type SeriesWindowSnapshot, type WindowSpec } from './windowed-series.js';

/** Route name of requests that no router matched (404s, scans): they all share one series per method. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Route name of the series that collects requests once `maxSeries` distinct routes exist. */
export const OVERFLOW_ROUTE = 'overflow';

/** One METHOD + route template series and what is cached with it. */
export class RouteSeries {
  readonly series: WindowedSeries;
  /** OTel metric attributes per status code, built once per (route, status). */
  readonly otelAttributes = new Map<number, Attributes>();
  constructor(
    readonly method: string,
    readonly route: string,
    /** False for `unmatched` and `overflow`: no real template to report as http.route. */
    readonly isTemplate: boolean,
    windows: readonly WindowSpec[],
    now: number,
  ) {
    this.series = new WindowedSeries(windows, now);
  }
}

/** JSON figures of one route. */
export interface RouteSnapshot {
  method: string;
  route: string;
  total: SeriesWindowSnapshot;
  windows: Record<string, SeriesWindowSnapshot>;
}

/**
 * Per-route latency series keyed by METHOD + route template, never the raw URL. Bounded: at most
 * `maxSeries` template series; the rest fold into one `overflow` series and are counted.
 */
export class RouteMetrics {
  private readonly byMethod = new Map<string, Map<string, RouteSeries>>();
  private readonly special = new Map<string, RouteSeries>();
  private templateSeries = 0;
  /** Requests recorded into the overflow series because the cap was reached. */
  folded = 0;
  /** Called once for each new template series (the engine learns the route for early ends). */
  onNewRoute: ((method: string, route: string) => void) | undefined;

  constructor(
    readonly windows: readonly WindowSpec[],
    readonly maxSeries: number,
  ) {}

  /** The series for `method` + `route` (`undefined` route = unmatched), creating it within the cap. */
  seriesFor(method: string, route: string | undefined, now: number): RouteSeries {
    if (route === undefined) return this.specialSeries(method, UNMATCHED_ROUTE, now);
    let routes = this.byMethod.get(method);
    if (routes === undefined) this.byMethod.set(method, (routes = new Map<string, RouteSeries>()));
    let s = routes.get(route);
    if (s !== undefined) return s;
    if (this.templateSeries >= this.maxSeries) {
      this.folded++;
      return this.specialSeries('*', OVERFLOW_ROUTE, now);
    }
    s = new RouteSeries(method, route, true, this.windows, now);
    routes.set(route, s);
    this.templateSeries++;
    this.onNewRoute?.(method, route);
    return s;
  }

  private specialSeries(method: string, route: string, now: number): RouteSeries {
    const key = `${method} ${route}`;
    let s = this.special.get(key);
    if (s === undefined) this.special.set(key, (s = new RouteSeries(method, route, false, this.windows, now)));
    return s;
  }

  /** Records one finished request. */
  record(s: RouteSeries, durationMs: number, status: number, now: number, trace: ExemplarTrace | undefined): void {
    let cls = ((status / 100) | 0) - 1;
    if (cls < 0) cls = 0;
    else if (cls > 4) cls = 4;
    s.series.record(durationMs * 1000, cls, now, trace, status);
  }

  /** Number of series (templates plus unmatched and overflow). */
  get seriesCount(): number {
    return this.templateSeries + this.special.size;
  }

  /** Every series (templates, then unmatched and overflow). */
  all(): RouteSeries[] {
    const out: RouteSeries[] = [];
    for (const routes of this.byMethod.values()) for (const s of routes.values()) out.push(s);
    for (const s of this.special.values()) out.push(s);
    return out;
  }

  /** Every series' figures, keyed `METHOD route`. */
  snapshot(now: number): Record<string, RouteSnapshot> {
    const out: Record<string, RouteSnapshot> = {};
    const add = (s: RouteSeries) => {
      out[`${s.method} ${s.route}`] = { method: s.method, route: s.route, ...s.series.snapshot(now) };
    };
    for (const routes of this.byMethod.values()) for (const s of routes.values()) add(s);
    for (const s of this.special.values()) add(s);
    return out;
  }
}
