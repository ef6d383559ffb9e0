/**
 * Event-loop delay, one definition for every figure autom8 reports (`/api/v1/metrics/system`, the
 * shedding section's load signal): how late the loop ran a timer that was due, in ms, so an idle
 * loop reads about 0.
 *
 * `monitorEventLoopDelay` samples with a timer every `resolution` ms and records the time between
 * two samples, which includes the resolution itself: an idle loop records about 10 ms at the
 * default. The recorded values, and so their percentiles and mean, are the delay plus the
 * resolution; subtracting it gives the delay.
 */

/** The sampling resolution autom8 gives `monitorEventLoopDelay`, ms. */
export const ELD_RESOLUTION_MS = 10;

/** A value (or percentile, or mean) of the histogram, in ns, as a delay in ms (never below 0). */
export function eventLoopDelayMs(recordedNs: number): number {
  return Number.isFinite(recordedNs) ? Math.max(0, recordedNs / 1e6 - ELD_RESOLUTION_MS) : 0;
}
