import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { statfs } from 'node:fs';
import * as os from 'node:os';
import { ELD_RESOLUTION_MS, eventLoopDelayMs } from './event-loop-delay.js';

/** Process and host gauges, as `/api/v1/metrics/system` shows them. */
export interface SystemSnapshot {
  /** Process CPU (user + system) over the last sample interval, in % of one core. */
  cpuPercent: number;
  /** The same as a share of all cores (0..1). */
  cpuShare: number;
  cores: number;
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number };
  host: { freeMemoryBytes: number; totalMemoryBytes: number; loadAverage1m: number };
  /**
   * Free and total bytes of the volume holding the working directory (undefined until sampled).
   * The path itself is left out: the answer would tell any reader where the app is installed.
   */
  disk: { freeBytes: number; totalBytes: number } | undefined;
  /**
   * Event-loop delay over the last sample interval, ms: how late the loop ran a due timer, with
   * the sampler's resolution subtracted (an idle loop reads about 0; see `event-loop-delay.ts`).
   */
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  /** Event-loop utilisation over the last sample interval (0..1). */
  eventLoopUtilization: number;
  uptimeSec: number;
  sampledAt: number;
  sampleIntervalMs: number;
}

/**
 * Samples process gauges on an unref'd timer, so reads are free and nothing keeps the process alive.
 * CPU %, event-loop delay and utilisation are figures of the last interval, not since start.
 */
export class SystemMetrics {
  private readonly eld: IntervalHistogram;
  private timer: NodeJS.Timeout | undefined;
  // The first read (in the constructor) counts from the process's start: over the microseconds
  // since these fields were set, one tick of CPU accounting read as 1,950% of a core.
  private lastCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  private lastCpuAt = 0;
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private latest: SystemSnapshot;
  private readonly cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

  constructor(
    readonly intervalMs: number,
    private readonly diskPath = process.cwd(),
  ) {
    this.eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    this.eld.enable();
    this.latest = this.read();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sampleDisk();
  }

  /** The latest sample. */
  snapshot(): SystemSnapshot {
    return this.latest;
  }

  /** Takes a sample now (also used by the timer). */
  sample(): SystemSnapshot {
    this.latest = this.read();
    this.eld.reset();
    this.sampleDisk();
    return this.latest;
  }

  private read(): SystemSnapshot {
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedUs = Math.max(1, (now - this.lastCpuAt) * 1000);
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    const mem = process.memoryUsage();
    const cpuPercent = ((cpu.user + cpu.system) / elapsedUs) * 100;
    const ms = (ns: number) => Math.round(eventLoopDelayMs(ns) * 1000) / 1000;
    return {
      cpuPercent: Math.round(cpuPercent * 100) / 100,
      cpuShare: Math.round((cpuPercent / 100 / this.cores) * 10000) / 10000,
      cores: this.cores,
      memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, heapTotalBytes: mem.heapTotal, externalBytes: mem.external },
      host: { freeMemoryBytes: os.freemem(), totalMemoryBytes: os.totalmem(), loadAverage1m: os.loadavg()[0]! },
      disk: this.latest?.disk,
      eventLoopDelay: {
        p50Ms: this.eld.count > 0 ? ms(this.eld.percentile(50)) : 0,
        p99Ms: this.eld.count > 0 ? ms(this.eld.percentile(99)) : 0,
        maxMs: this.eld.count > 0 ? ms(this.eld.max) : 0,
        meanMs: this.eld.count > 0 ? ms(this.eld.mean) : 0,
      },
      eventLoopUtilization: Math.round(elu.utilization * 10000) / 10000,
      uptimeSec: Math.round(process.uptime()),
      sampledAt: Math.round(performance.timeOrigin + now),
      sampleIntervalMs: this.intervalMs,
    };
  }

  private sampleDisk(): void {
    statfs(this.diskPath, (err, s) => {
      if (err || this.timer === undefined) return; // unknown volume: leave the figure out
      this.latest.disk = { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    });
  }

  /** Stops sampling. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.eld.disable();
  }
}
