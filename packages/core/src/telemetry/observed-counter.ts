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
