/**
 * CPU profiling of the running process through `node:inspector`: the primitive
 * ({@link captureCpuProfile}), a self-time summary, and the opt-in `profiler` feature serving
 * `GET {prefix}/profile`. `@autom8/toolkit` builds its profiler on these.
 */
export { captureCpuProfile, captureCpuProfileFor, isCpuProfiling, summarizeCpuProfile } from './cpu-profile.js';
export type { CpuProfile, CpuProfileNode, CpuProfileOptions, CpuProfileEntry, CpuProfileSummary } from './cpu-profile.js';
export { createProfilerFeature } from './profiler-feature.js';
export type { ProfilerOptions } from './profiler-feature.js';
