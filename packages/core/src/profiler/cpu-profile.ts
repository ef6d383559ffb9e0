import { Session } from 'node:inspector/promises';
import { Autom8Error } from '../util/errors.js';

/** A V8 CPU profile as Chrome DevTools reads it (the content of a `.cpuprofile` file). */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds (V8's monotonic clock). */
  startTime: number;
  endTime: number;
  /** Node id sampled at each tick. */
  samples?: number[];
  /** Microseconds since the previous sample (the first: since `startTime`). */
  timeDeltas?: number[];
}

/** One call-tree node of a {@link CpuProfile}. */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Options of {@link captureCpuProfile}. */
export interface CpuProfileOptions {
  /** Sampling interval in microseconds. Default 1000 (V8's own default). */
  samplingIntervalUs?: number;
}

// One CPU profile at a time per process: V8 would accept overlapping ones, but two of them double
// the sampling cost and an endpoint must not let callers stack up profilers.
let running = false;

/** True while a CPU profile is being recorded in this process. */
export function isCpuProfiling(): boolean {
  return running;
}

/**
 * Records a CPU profile of this process through `node:inspector` while `work` runs (sync or async),
 * and returns it with `work`'s result. Throws `AUTOM8_ERR_PROFILER_BUSY` when another profile is
 * being recorded. Errors of `work` are rethrown after the profiler stopped.
 */
export async function captureCpuProfile<T>(work: () => T | Promise<T>, options: CpuProfileOptions = {}): Promise<{ profile: CpuProfile; result: T }> {
  if (running) throw new Autom8Error('AUTOM8_ERR_PROFILER_BUSY', 'autom8: a CPU profile is already being recorded');
  running = true;
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: options.samplingIntervalUs ?? 1000 });
    await session.post('Profiler.start');
    let result: T | undefined;
    let failed = false;
    let failure: unknown;
    try {
      result = await work();
    } catch (err) {
      failed = true;
      failure = err;
    }
    // Stopped even when `work` threw, so the process is never left sampling.
    const stopped = await session.post('Profiler.stop');
    if (failed) throw failure;
    return { profile: stopped.profile, result: result as T };
  } finally {
    session.disconnect();
    running = false;
  }
}

/** Records a CPU profile of whatever the process does during the next `ms` milliseconds. */
export async function captureCpuProfileFor(ms: number, options?: CpuProfileOptions): Promise<CpuProfile> {
  const { profile } = await captureCpuProfile(() => new Promise<void>((resolve) => setTimeout(resolve, ms)), options);
  return profile;
}

/** One function in a {@link CpuProfileSummary}. */
export interface CpuProfileEntry {
  /** Function name; `(anonymous)` when V8 has none, `(program)`, `(idle)`, `(garbage collector)` for V8's own. */
  functionName: string;
  url: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** Time the sampler found this function on top of the stack, ms. */
  selfMs: number;
  /** `selfMs` as a percentage of the profile's duration. */
  selfPercent: number;
}

/** The top self-time functions of a profile. */
export interface CpuProfileSummary {
  durationMs: number;
  samples: number;
  top: CpuProfileEntry[];
}

/**
 * Aggregates a profile's self time per function (name + script + line, as DevTools' "Bottom-Up"
 * view does) and returns the `topN` largest. A sample lasts until the next one; the last one until
 * the profile's end.
 */
export function summarizeCpuProfile(profile: CpuProfile, topN = 10): CpuProfileSummary {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    const next = i + 1 < samples.length ? t + (deltas[i + 1] ?? 0) : profile.endTime;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, next - t));
  }
  const byFunction = new Map<string, CpuProfileEntry>();
  const durationUs = Math.max(1, profile.endTime - profile.startTime);
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const functionName = frame.functionName || '(anonymous)';
    const line = frame.lineNumber >= 0 ? frame.lineNumber + 1 : 0;
    const key = `${functionName}\u0000${frame.url}\u0000${line}`;
    let e = byFunction.get(key);
    if (e === undefined) byFunction.set(key, (e = { functionName, url: frame.url, line, selfMs: 0, selfPercent: 0 }));
    e.selfMs += us / 1000;
  }
  const top = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, topN);
  for (const e of top) {
    e.selfPercent = Math.round(((e.selfMs * 1000) / durationUs) * 10000) / 100;
    e.selfMs = Math.round(e.selfMs * 1000) / 1000;
  }
  return { durationMs: Math.round(durationUs) / 1000, samples: samples.length, top };
}
