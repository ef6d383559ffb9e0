import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** What {@link profileEventLoop} observed. Delays in ms. */
export interface EventLoopProfile {
  durationMs: number;
  /** Event-loop delay (how late timers ran) over the window. */
  delay: { min: number; mean: number; stddev: number; p50: number; p90: number; p99: number; max: number };
  /** Share of the window the loop was busy (0–1). */
  utilization: number;
  /** Handles and requests keeping the loop alive, counted by type (`TCPSocketWrap`, `Timeout`, `FSReqCallback`…). */
  activeResources: Record<string, number>;
  memory: NodeJS.MemoryUsage;
}

/**
 * Watches the event loop for `ms` milliseconds: the delay histogram (`monitorEventLoopDelay`), the
 * utilisation (`performance.eventLoopUtilization`), and the active handles and requests.
 */
export async function profileEventLoop(ms = 1000, resolutionMs = 10): Promise<EventLoopProfile> {
  if (!(ms > 0)) throw new TypeError(`autom8: expected ms to be a positive number, got ${String(ms)}`);
  const h = monitorEventLoopDelay({ resolution: Math.max(1, Math.round(resolutionMs)) });
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  h.enable();
  await new Promise((resolve) => setTimeout(resolve, ms));
  h.disable();
  const elu = performance.eventLoopUtilization(elu0);
  const toMs = (ns: number) => Math.round(ns / 1e3) / 1e3;
  const activeResources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) activeResources[r] = (activeResources[r] ?? 0) + 1;
  return {
    durationMs: Math.round(performance.now() - t0),
    delay: {
      min: toMs(h.min),
      mean: toMs(h.mean),
      stddev: toMs(h.stddev),
      p50: toMs(h.percentile(50)),
      p90: toMs(h.percentile(90)),
      p99: toMs(h.percentile(99)),
      max: toMs(h.max),
    },
    utilization: Math.round(elu.utilization * 10000) / 10000,
    activeResources,
    memory: process.memoryUsage(),
  };
}
