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
  const what =
    limited >= shed
      ? { status: '429', doing: 'rate limiting', fix: 'exempt the load generator from the limit or raise it' }
      : { status: '503', doing: 'shedding load from', fix: 'look at its load-shedding thresholds' };
  return (
    `${limited + shed} of ${failures} failures were HTTP ${limited > 0 && shed > 0 ? '429/503' : what.status}: ` +
    `the server is ${what.doing} this client, so ${r.slo === null ? 'the figures below show' : 'the knee below is'} that limit, not capacity ` +
    `(to measure capacity, ${what.fix})`
  );
}

/** Where the knee sits: the run stopped past it, or every step met the SLO (it is above the range). */
export function kneeCaveat(r: LoadReport): string | undefined {
  if (r.slo === null || r.knee === null) return undefined;
  if (r.stoppedEarly) return 'stopped at the first step that missed it';
  if (r.steps.length > 0 && r.steps.every((s) => s.slo?.pass === true))
    return 'every step met it, so the knee is at or above the top of the tested range: test higher to find it';
  return undefined;
}
