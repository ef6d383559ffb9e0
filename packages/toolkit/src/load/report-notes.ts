import type { LoadReport } from './load-test.js';

/**
 * The sentences both reports (terminal and HTML) add to the figures, so that neither drops one:
 * what the knee means when the server refused the client, and where the knee sits in the range.
 */

/**
 * When most failures of the steps that failed on errors are 429 or 503, the server refused this
 * client (a rate limit, load shedding) rather than running out of capacity: says so, or undefined.
 */
export function refusalNote(r: LoadReport): string | undefined {
  let failures = 0;
  let limited = 0;
  let shed = 0;
  for (const s of r.steps) {
    if (!(s.errorRate > r.maxErrorRate)) continue;
    for (const [kind, n] of Object.entries(s.errors)) {
      failures += n;
      if (kind === 'http 429') limited += n;
      else if (kind === 'http 503') shed += n;
    }
  }
  if (failures === 0 || (limited + shed) * 2 <= failures) return undefined;
  const statuses = `${limited + shed} of ${failures} failures were HTTP ${limited > 0 && shed > 0 ? '429/503' : limited > 0 ? '429' : '503'}`;
  const below = r.slo === null ? 'the figures below show' : 'the knee below is';
  // A limit is a setting; shedding starts at thresholds that may lie below what the server could serve.
  return limited >= shed
    ? `${statuses}: the server is rate limiting this client, so ${below} that limit, not capacity (to measure capacity, exempt the load generator from the limit or raise it)`
    : `${statuses}: the server is shedding load from this client, so ${below} where shedding starts, not necessarily capacity (its load-shedding thresholds decide it)`;
}

/** Where the knee sits: the run stopped past it, or every step met the SLO (it is above the range). */
export function kneeCaveat(r: LoadReport): string | undefined {
  if (r.slo === null || r.knee === null) return undefined;
  if (r.stoppedEarly) return 'stopped at the first step that missed it';
  if (r.steps.length > 0 && r.steps.every((s) => s.slo?.pass === true))
    return 'every step met it, so the knee is at or above the top of the tested range: test higher to find it';
  return undefined;
}
