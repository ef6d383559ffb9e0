/**
 * Service-level objectives: latency-percentile, error-rate and CPU objectives per route or global,
 * with compliance, error budget and burn rate in `/metrics`, `/metrics/slo`, OTel gauges and
 * `slo.breached` / `slo.recovered` events.
 * @module
 */
export { SloFeature, createSloFeature } from './slo-feature.js';
export type { SloStatus, SloReport } from './slo-feature.js';
export { resolveSloOptions } from './slo-options.js';
export type { SloObjective, SloOptions, ResolvedObjective } from './slo-options.js';
export { CountRing } from './count-ring.js';
