import type { Attributes, Meter, MetricOptions, ObservableResult } from '@opentelemetry/api';

/** The running total of one attribute set of an {@link ObservedCounter}. */
export interface Tally {
  readonly attributes: Attributes;
  n: number;
}

/**
 * A monotonic OTel counter whose sums autom8 keeps itself and reports through an ObservableCounter
 * when the SDK collects. For counters bumped on every request: `Counter.add` makes the SDK hash the
 * attribute set on each call (it sorts and JSON-encodes it), where a tally is one increment. The
 * export is the same cumulative sum; tallies still at zero are not reported, as an unused
 * `Counter` attribute set would not be.
 *
 * The caller creates each attribute set's tally once and keeps it, within its own bound: tallies
 * live as long as the counter.
 */
export class ObservedCounter {
  private readonly tallies: Tally[] = [];

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result: ObservableResult) => {
      for (const t of this.tallies) if (t.n > 0) result.observe(t.n, t.attributes);
    });
  }

  /** A new tally for `attributes`; count with `tally.n++`. */
  tally(attributes: Attributes): Tally {
    const t: Tally = { attributes, n: 0 };
    this.tallies.push(t);
    return t;
  }
}

/**
 * One {@link ObservedCounter} tally per outcome for each route, the attribute sets built once per
 * route by `outcomes` (given `''`: without a route). Bounded: past `maxRoutes` routes, the rest are
 * counted under `''`.
 */
export class RouteTallies {
  private readonly byRoute = new Map<string, Tally[]>();

  constructor(
    private readonly counter: ObservedCounter,
    private readonly outcomes: (route: string) => Attributes[],
    private readonly maxRoutes = 1000,
  ) {}

  /** The route's tallies, in the order `outcomes` gave their attribute sets. */
  of(route: string): Tally[] {
    const found = this.byRoute.get(route);
    if (found !== undefined) return found;
    const key = this.byRoute.size >= this.maxRoutes ? '' : route;
    let tallies = this.byRoute.get(key);
    if (tallies === undefined) this.byRoute.set(key, (tallies = this.outcomes(key).map((a) => this.counter.tally(a))));
    return tallies;
  }
}
