/**
 * Circuit breakers for calls to downstream services, opening on error rate or p99 latency
 * measured with the core's histograms; state in `/metrics`, OTel and events.
 * @module
 */
export { CircuitBreaker, CircuitOpenError, createCircuitBreaker } from './circuit-breaker.js';
export type { CircuitBreakerOptions, BreakerState, BreakerSnapshot } from './circuit-breaker.js';
export { BreakerRegistry } from './breaker-registry.js';
