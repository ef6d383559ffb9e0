import type { Counter, Meter } from '@opentelemetry/api';
import type { OutagePolicy, StoreState } from './outage-guard.js';

/**
 * An `OutageGuard` `onTransition` that counts each change of state in the OTel counter
 * `autom8.store.transitions` (the store's name, the new state, its outage policy). One definition
 * for every store, so one query and one alert cover them all. `meterOf` is asked at the first
 * transition; undefined (telemetry off) counts nothing.
 */
export function countStoreTransitions(meterOf: () => Meter | undefined, store: string, policy: OutagePolicy): (state: StoreState) => void {
  let counter: Counter | undefined;
  return (state) => {
    if (counter === undefined) {
      const meter = meterOf();
      if (meter === undefined) return;
      counter = meter.createCounter('autom8.store.transitions', { description: 'Store outage-state transitions (degraded, recovered).', unit: '{transition}' });
    }
    counter.add(1, { 'autom8.store': store, 'autom8.store.state': state, 'autom8.store.policy': policy });
  };
}
