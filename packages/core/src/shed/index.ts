/**
 * Load shedding and adaptive concurrency: the `shed` option of the middleware (a smoothed load
 * signal with a probabilistic ramp by priority, and an adaptive concurrency limit with a bounded
 * wait queue and priority partitions), `createLoadShedder` for guarding work in user code, and
 * `recommendProcessAllocation`.
 */
export { LoadSampler } from './load-signal.js';
export type { LoadLimits, LoadReading, LoadSnapshot, LoadSamplerOptions } from './load-signal.js';
export { LoadShedder, createLoadShedder } from './load-shedder.js';
export type { LoadShedderOptions, ResolvedLoadOptions } from './load-shedder.js';
export { PRIORITIES, shedProbabilities } from './priority.js';
export type { ShedPriority } from './priority.js';
export { ConcurrencyLimiter, Partition, Ticket } from './concurrency-limiter.js';
export type { ConcurrencySettings } from './concurrency-limiter.js';
export { GradientLimit, AimdLimit } from './limit-algorithm.js';
export type { LimitAlgorithm, LimitSettings, LimitWindow } from './limit-algorithm.js';
export { WaitQueue } from './wait-queue.js';
export type { Waiter } from './wait-queue.js';
export { ShedFeature, createShedFeature } from './shed-feature.js';
export { resolveShedOptions } from './shed-options.js';
export type { ShedOptions, ConcurrencyOptions, ResolvedShedOptions } from './shed-options.js';
export { recommendProcessAllocation } from './process-allocation.js';
export type { WorkloadKind, AllocationInputs, ProcessAllocation } from './process-allocation.js';
