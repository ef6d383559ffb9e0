import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { formatTable } from '../util/table.js';

/** Options of {@link profileMemory}. */
export interface MemoryProfileOptions {
  /** Allocation sites listed. Default 10. */
  topN?: number;
  /** Record while this runs (sync or async)… */
  run?: () => unknown;
  /** …or for this many ms. Default 1000 when `run` is not given. */
  durationMs?: number;
  /** Average bytes between samples. Default 32 768 (V8's default). */
  samplingInterval?: number;
  /**
   * Count objects already collected by GC too, so the top sites are where memory is *allocated*
   * (churn); false: only what is still live at the end (retention). Default true.
   */
  includeCollected?: boolean;
}

/** A heap space (new, old, code, large object…). Sizes in bytes. */
export interface HeapSpace {
  name: string;
  size: number;
  used: number;
  available: number;
}

/** An allocation site of the sampling heap profile. */
export interface AllocationSite {
  functionName: string;
  url: string;
  line: number;
  /** Sampled bytes allocated here (an estimate, scaled by the sampler). */
  bytes: number;
  percent: number;
}

/** What {@link profileMemory} found. */
export interface MemoryProfile {
  heap: v8.HeapInfo;
  spaces: HeapSpace[];
  top: AllocationSite[];
  /** Everything as text tables. */
  text: string;
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/**
 * Heap statistics per space plus the top allocation sites from V8's sampling heap profiler
 * (cheap enough for production: one sample every `samplingInterval` bytes on average).
 */
export async function profileMemory(options: MemoryProfileOptions = {}): Promise<MemoryProfile> {
  const topN = options.topN ?? 10;
  const session = new Session();
  session.connect();
  let root: SamplingNode;
  try {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: options.samplingInterval ?? 32768,
      includeObjectsCollectedByMajorGC: options.includeCollected ?? true,
      includeObjectsCollectedByMinorGC: options.includeCollected ?? true,
    } as never);
    try {
      if (options.run !== undefined) await options.run();
      else await new Promise((resolve) => setTimeout(resolve, options.durationMs ?? 1000));
    } finally {
      root = ((await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SamplingNode } }).profile.head;
    }
  } finally {
    session.disconnect();
  }
  const sites = new Map<string, AllocationSite>();
  let total = 0;
  const stack: SamplingNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const c of n.children) stack.push(c);
    if (n.selfSize === 0) continue;
    total += n.selfSize;
    const name = n.callFrame.functionName || '(anonymous)';
    const line = n.callFrame.lineNumber + 1;
    const key = `${name}\u0000${n.callFrame.url}\u0000${line}`;
    const s = sites.get(key);
    if (s === undefined) sites.set(key, { functionName: name, url: n.callFrame.url, line, bytes: n.selfSize, percent: 0 });
    else s.bytes += n.selfSize;
  }
  const top = [...sites.values()].sort((a, b) => b.bytes - a.bytes).slice(0, topN);
  for (const s of top) s.percent = total === 0 ? 0 : Math.round((s.bytes / total) * 10000) / 100;
  const spaces = v8
    .getHeapSpaceStatistics()
    .map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size, available: s.space_available_size }));
  const mb = (b: number) => `${(b / 1048576).toFixed(2)} MB`;
  const text = [
    'Heap spaces:',
    formatTable(
      ['space', 'size', 'used', 'available'],
      spaces.map((s) => [s.name, mb(s.size), mb(s.used), mb(s.available)]),
    ),
    '',
    `Top allocation sites (sampled, ${mb(total)} in all):`,
    formatTable(
      ['bytes', '%', 'function', 'location'],
      top.map((s) => [mb(s.bytes), `${s.percent.toFixed(1)}%`, s.functionName, s.url === '' ? '' : `${s.url}:${s.line}`]),
    ),
  ].join('\n');
  return { heap: v8.getHeapStatistics(), spaces, top, text };
}
