/**
 * @autom8/toolkit: tools for performance engineers, beside the middleware.
 * - Benchmarker: {@link bench}, {@link compare} (statistics, significance).
 * - Load tester: {@link runLoadTest} (open model, ramps, knee finding, ID discovery) and the
 *   `autom8 load` CLI with text, JSON and self-contained HTML reports.
 * - Profiler: {@link profile} / {@link profiled} (CPU, `.cpuprofile`), {@link profileMemory},
 *   {@link profileEventLoop}; built on `@autom8/core`'s CPU-profiling primitive.
 * - {@link batchProcess}: batches from any (async) iterable, with backpressure.
 *
 * @packageDocumentation
 */
export { bench } from './bench/bench.js';
export type { BenchFn, BenchOptions, BenchResult } from './bench/bench.js';
export { compare } from './bench/compare.js';
export type { CompareOptions, CompareEntry, CompareResult } from './bench/compare.js';
export { summarize, percentile, welchTest, studentTQuantile, studentTSurvival } from './bench/stats.js';
export type { SampleStats, WelchResult } from './bench/stats.js';

export { runLoadTest } from './load/load-test.js';
export type { LoadTestOptions, LoadProgress, LoadReport } from './load/load-test.js';
export type { LatencyFigures, StepResult } from './load/step-recorder.js';
export { HttpTarget } from './load/http-target.js';
export type { HttpTargetOptions, Outcome } from './load/http-target.js';
export { discoverIds, extractIds } from './load/ids.js';
export { parseSlo, parseRange, parseDuration, rampLevels, UsageError } from './load/parse.js';
export type { Slo, Range } from './load/parse.js';
export { formatLoadReport } from './load/report-text.js';
export { renderLoadReportHtml } from './load/report-html.js';

export { profile, profiled, withProfile, formatCpuSummary } from './profiler/profile.js';
export type { ProfileOptions, ProfileResult } from './profiler/profile.js';
export { profileMemory } from './profiler/memory.js';
export type { MemoryProfile, MemoryProfileOptions, HeapSpace, AllocationSite } from './profiler/memory.js';
export { profileEventLoop } from './profiler/event-loop.js';
export type { EventLoopProfile } from './profiler/event-loop.js';
export { captureCpuProfile, summarizeCpuProfile } from '@autom8/core';
export type { CpuProfile, CpuProfileSummary, CpuProfileEntry } from '@autom8/core';

export { batchProcess } from './batch/batch-process.js';
export type { BatchOptions, BatchProcessOptions } from './batch/batch-process.js';
export { VERSION } from './version.js';
