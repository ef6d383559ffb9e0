import type { ObservableGauge } from '@opentelemetry/api';
import type { Autom8 } from '../pipeline/autom8.js';
import type { Feature } from '../pipeline/feature.js';
import { InvalidOptionError } from '../util/errors.js';
import type { BreakerSnapshot, BreakerState } from './breaker-state.js';

/** What the registry needs of a breaker. */
interface RegisteredBreaker {
  readonly name: string;
  readonly state: BreakerState;
  snapshot(): BreakerSnapshot;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * The breakers attached to one engine, plugged in as a feature so that their state shows under
 * `features.breakers` in `/metrics` and as the `autom8.breaker.state` gauge (0 closed,
 * 1 half-open, 2 open).
 */
export class BreakerRegistry implements Feature {
  readonly name = 'breakers';
  readonly stage = 0;
  private readonly breakers = new Map<string, RegisteredBreaker>();
  private gauge: ObservableGauge | undefined;
  /** True once the gauge was created (or there is no telemetry). */
  instrumented = false;

  constructor(private readonly engine: Autom8) {}

  add(breaker: RegisteredBreaker): void {
    if (this.breakers.has(breaker.name)) throw new InvalidOptionError('name', 'a breaker name unique per engine', breaker.name);
    this.breakers.set(breaker.name, breaker);
  }

  /**
   * Creates the gauge on the first call through any breaker, not at construction: the app usually
   * starts the OTel SDK after building its breakers, and a meter taken before that stays a no-op.
   */
  instrument(): void {
    if (this.instrumented) return;
    this.instrumented = true;
    const meter = this.engine.telemetry?.getMeter();
    if (meter === undefined) return;
    this.gauge = meter.createObservableGauge('autom8.breaker.state', { description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', unit: '1' });
    this.gauge.addCallback((result) => {
      for (const b of this.breakers.values()) result.observe(STATE_VALUE[b.state], { 'autom8.breaker.name': b.name });
    });
  }

  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [name, b] of this.breakers) out[name] = b.snapshot();
    return out;
  }
}

const registries = new WeakMap<Autom8, BreakerRegistry>();

/** The engine's breaker registry, plugged into the engine on first use. */
export function registryOf(engine: Autom8): BreakerRegistry {
  let r = registries.get(engine);
  if (r === undefined) {
    registries.set(engine, (r = new BreakerRegistry(engine)));
    engine.use(r);
  }
  return r;
}
