import { writeFile } from 'node:fs/promises';
import { captureCpuProfile, isCpuProfiling, summarizeCpuProfile, type CpuProfile, type CpuProfileSummary } from '@autom8/core';
import { formatTable } from '../util/table.js';

/** Options of {@link profile}. */
export interface ProfileOptions {
  /** Write the profile here (open it in Chrome DevTools → Performance, or VS Code). */
  outputFile?: string;
  /** Functions listed in the summary. Default 10. */
  topN?: number;
  /** Sampling interval, µs. Default 1000; lower it for short runs. */
  samplingIntervalUs?: number;
}

/** What {@link profile} recorded. */
export interface ProfileResult<T> {
  /** `fn`'s return value (awaited). */
  result: T;
  profile: CpuProfile;
  /** The top self-time functions. */
  summary: CpuProfileSummary;
  /** `summary` as a text table. */
  text: string;
  /** The file written, when `outputFile` was given. */
  file?: string;
}

/**
 * Runs `fn` (sync or async) under the V8 CPU profiler (`node:inspector`), optionally writes the
 * `.cpuprofile`, and summarises the top self-time functions. One profile at a time per process.
 *
 * @example
 * ```ts
 * const { summary, text } = await profile(() => render(page), { outputFile: 'render.cpuprofile' });
 * console.log(text);
 * ```
 */
export async function profile<T>(fn: () => T | Promise<T>, options: ProfileOptions = {}): Promise<ProfileResult<Awaited<T>>> {
  if (typeof fn !== 'function') throw new TypeError('autom8: expected fn of profile() to be a function');
  const captured = await captureCpuProfile(fn, { samplingIntervalUs: options.samplingIntervalUs ?? 1000 });
  const p = captured.profile;
  const result = captured.result as Awaited<T>;
  const summary = summarizeCpuProfile(p, options.topN ?? 10);
  if (options.outputFile !== undefined) await writeFile(options.outputFile, JSON.stringify(p));
  return { result, profile: p, summary, text: formatCpuSummary(summary), ...(options.outputFile !== undefined && { file: options.outputFile }) };
}

/** A {@link CpuProfileSummary} as a text table. */
export function formatCpuSummary(s: CpuProfileSummary): string {
  const rows = s.top.map((e) => [
    `${e.selfMs.toFixed(1)} ms`,
    `${e.selfPercent.toFixed(1)}%`,
    e.functionName,
    e.url === '' ? '' : `${shortUrl(e.url)}:${e.line}`,
  ]);
  return `CPU profile: ${s.durationMs.toFixed(0)} ms, ${s.samples} samples. Top self time:\n${formatTable(['self', '%', 'function', 'location'], rows)}`;
}

function shortUrl(url: string): string {
  const u = url.startsWith('file://') ? url.slice(7) : url;
  const cwd = `${process.cwd()}/`;
  return u.startsWith(cwd) ? u.slice(cwd.length) : u;
}

/**
 * Wraps `fn` so each call is profiled into `options.outputFile` (overwritten per call). A call made
 * while another profile runs is not profiled (it runs plainly), so nested or concurrent calls work.
 */
export function withProfile<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: ProfileOptions & { onProfile?: (r: ProfileResult<Awaited<R>>) => void } = {},
): (...args: A) => Promise<Awaited<R>> {
  return async function profiledCall(this: unknown, ...args: A): Promise<Awaited<R>> {
    if (isCpuProfiling()) return await fn.apply(this, args);
    const r = await profile(() => fn.apply(this, args), options);
    options.onProfile?.(r);
    return r.result;
  };
}

/**
 * Method decorator (TypeScript 5 / TC39 decorators) profiling each call of an async method into
 * `options.outputFile`.
 *
 * @example
 * ```ts
 * class Report {
 *   @profiled({ outputFile: 'build.cpuprofile' })
 *   async build() { ... }
 * }
 * ```
 */
export function profiled(options: ProfileOptions & { onProfile?: (r: ProfileResult<unknown>) => void } = {}) {
  return function decorate<This, A extends unknown[], R>(
    method: (this: This, ...args: A) => R,
    _context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    return withProfile(method, options);
  };
}
