import { formatTable } from '../util/table.js';
import type { LoadReport } from './load-test.js';
import { kneeCaveat, refusalNote } from './report-notes.js';

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The report as a plain-text table plus a verdict line, for a terminal. */
export function formatLoadReport(r: LoadReport): string {
  const open = r.mode === 'open';
  const header = [open ? 'offered/s' : 'clients', 'achieved/s', 'sent', 'ok', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  if (r.slo !== null) header.push('SLO');
  const rows = r.steps.map((s) => {
    const errs =
      Object.entries(s.errors)
        .map(([k, n]) => `${k}×${n}`)
        .join(' ') || '0';
    const row: (string | number)[] = [
      s.level,
      s.achievedRate.toFixed(1),
      s.sent,
      s.ok,
      errs,
      ms(s.latency.p50),
      ms(s.latency.p95),
      ms(s.latency.p99),
      ms(s.latency.max),
    ];
    if (r.slo !== null) row.push(s.slo === undefined ? 'partial' : s.slo.pass ? 'pass' : `FAIL (${s.slo.reason ?? ''})`);
    return row;
  });
  const refused = refusalNote(r);
  const lines = [
    ...(refused === undefined ? [] : [`warning: ${refused}`]),
    `${r.mode === 'open' ? 'open model (constant arrival rate)' : 'closed model (fixed concurrency)'}: ${r.url}${r.ids > 0 ? ` over ${r.ids} IDs` : ''}, ${r.stepDurationMs / 1000}s per step`,
    formatTable(header, rows),
  ];
  if (r.slo !== null) {
    const caveat = kneeCaveat(r);
    lines.push(
      r.knee === null
        ? `knee: none. The first step already missed the SLO ${r.slo.text} (errors ≤ ${(r.maxErrorRate * 100).toFixed(1)}%)`
        : `knee: ${r.knee.level}${open ? ' req/s offered' : ' clients'} (${r.knee.achievedRate} req/s achieved) is the highest level meeting ${r.slo.text} (errors ≤ ${(r.maxErrorRate * 100).toFixed(1)}%)${caveat === undefined ? '' : `; ${caveat}`}`,
    );
  }
  if (r.interrupted) lines.push('interrupted: the last step is partial');
  const saturated = r.steps.filter((s) => s.maxInFlight >= r.connections);
  if (open && saturated.length > 0)
    lines.push(
      `note: at ${saturated.map((s) => s.level).join(', ')} req/s all ${r.connections} connections were busy and requests waited in the client (counted in their latency); raise --connections if the server can take more concurrency`,
    );
  const lag = Math.max(...r.steps.map((s) => s.maxSendLagMs));
  if (open && lag > 50)
    lines.push(
      `warning: the load generator fell up to ${lag.toFixed(0)} ms behind its schedule; the client may be the bottleneck (latencies still count from the schedule)`,
    );
  return lines.join('\n');
}
