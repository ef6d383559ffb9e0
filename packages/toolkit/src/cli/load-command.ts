import { writeFileSync } from 'node:fs';
import { checkWritable } from './check-writable.js';
import { HttpTarget } from '../load/http-target.js';
import { describeNetworkError } from '../load/ids.js';
import { runLoadTest, type LoadTestOptions } from '../load/load-test.js';
import { parseDuration, parseRange, parseSlo, parseTargetUrl, rampLevels, UsageError } from '../load/parse.js';
import { parseCommand } from './parse-command.js';
import { renderLoadReportHtml } from '../load/report-html.js';
import { formatLoadReport } from '../load/report-text.js';
import { progressPrinter } from './progress.js';

/** Usage text of `autom8 load`. */
export const LOAD_USAGE = `Usage: autom8 load <url> [options]

  <url>                    e.g. http://127.0.0.1:3000/users/:id (:id is filled from --ids-from)
  --rate <r|from..to>      open model: arrival rate(s) in req/s, e.g. 100..2000 (default 100)
  --concurrency <c|a..b>   closed model instead: concurrent clients, each waiting for its answer
  --steps <n>              number of ramp steps between from and to (default 10)
  --step <n>               or: the increment between steps
  --duration <time>        sending time per step, e.g. 5s, 500ms (default 5s)
  --warmup <time>          load at the first level this long before measuring (default 0)
  --slo <objective>        e.g. 'p99<150ms'; the knee is the highest level meeting it
  --max-errors <pct>       highest error rate a step may have and meet the SLO (default 1%)
  --keep-going             do not stop at the first step that misses the SLO
  --ids-from <url|path>    JSON list endpoint whose IDs fill the URL's placeholders
  --ids-path <path>        where the IDs are in that JSON, e.g. 'items.*.id' (default: auto)
  --ids <a,b,c>            or: the IDs themselves
  --method <m>             HTTP method (default GET)
  --header <k: v>          request header (repeatable)
  --body <text>            request body
  --timeout <time>         a request idle this long is a 'timeout' error (default 10s)
  --connections <n>        most sockets at once (default 128)
  --json                   print the report as JSON on stdout
  --html <file>            write a self-contained HTML report with a chart
  -q, --quiet              no live progress`;

/** Runs `autom8 load …`; returns the exit status. */
export async function loadCommand(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const parsed = parseCommand(
    'load',
    LOAD_USAGE,
    argv,
    {
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      steps: { type: 'string' },
      step: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      slo: { type: 'string' },
      'max-errors': { type: 'string' },
      'keep-going': { type: 'boolean' },
      'ids-from': { type: 'string' },
      'ids-path': { type: 'string' },
      ids: { type: 'string' },
      method: { type: 'string' },
      header: { type: 'string', multiple: true },
      body: { type: 'string' },
      timeout: { type: 'string' },
      connections: { type: 'string' },
      json: { type: 'boolean' },
      html: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
    out,
  );
  if (parsed === undefined) return 0;
  const v = parsed.values;
  const url = parsed.url;
  const origin = parseTargetUrl(url).origin;
  if (v.html !== undefined) checkWritable(v.html, '--html');
  if (v.rate !== undefined && v.concurrency !== undefined) throw new UsageError('give --rate or --concurrency, not both');
  const steps = v.steps === undefined ? undefined : Number(v.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1 && steps <= 1000))
    throw new UsageError(`bad --steps '${v.steps}': expected a whole number from 1 to 1000`);
  const step = v.step === undefined ? undefined : Number(v.step);
  if (step !== undefined && !(step > 0)) throw new UsageError(`bad --step '${v.step}': expected a positive number`);
  const closed = v.concurrency !== undefined;
  const range = closed ? parseRange(v.concurrency!, '--concurrency', true, 'concurrency level') : parseRange(v.rate ?? '100', '--rate', false, 'rate');
  if (!closed && range.to > 100_000) throw new UsageError(`bad --rate '${v.rate}': at most 100000 req/s`);
  const levels = rampLevels(range, steps, step, closed);
  const maxErrors = v['max-errors'] === undefined ? 0.01 : parsePercent(v['max-errors']);
  const headers: Record<string, string> = {};
  for (const h of v.header ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`bad --header '${h}': expected 'name: value'`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const connections = v.connections === undefined ? undefined : Number(v.connections);
  if (connections !== undefined && !(Number.isInteger(connections) && connections > 0))
    throw new UsageError(`bad --connections '${v.connections}': expected a positive whole number`);
  const options: LoadTestOptions = {
    url,
    ...(closed ? { concurrency: levels } : { rates: levels }),
    stepDurationMs: v.duration === undefined ? 5000 : parseDuration(v.duration, '--duration'),
    ...(v.warmup !== undefined && { warmupMs: parseDuration(v.warmup, '--warmup') }),
    maxErrorRate: maxErrors,
    stopOnFail: !v['keep-going'],
    headers,
    ...(v.slo !== undefined && { slo: parseSlo(v.slo) }),
    ...(v['ids-from'] !== undefined && { idsFrom: v['ids-from'] }),
    ...(v['ids-path'] !== undefined && { idsPath: v['ids-path'] }),
    ...(v.ids !== undefined && {
      ids: v.ids
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    }),
    ...(v.method !== undefined && { method: v.method }),
    ...(v.body !== undefined && { body: v.body }),
    ...(v.timeout !== undefined && { timeoutMs: parseDuration(v.timeout, '--timeout') }),
    ...(connections !== undefined && { connections }),
  };
  // Fail fast, in one line, on a URL nothing answers at (before any discovery or ramp).
  await probe(origin);

  const progress = v.quiet || v.json ? undefined : progressPrinter(err);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let report;
  try {
    report = await runLoadTest({ ...options, signal: abort.signal, ...(progress && { onProgress: progress.update }) });
  } finally {
    process.off('SIGINT', onSigint);
    progress?.clear();
  }
  // The results go out first: a report file that cannot be written must not cost a finished run.
  if (v.json) out.write(`${JSON.stringify(report, null, 2)}\n`);
  else out.write(`${formatLoadReport(report)}\n`);
  if (v.html !== undefined) {
    try {
      writeFileSync(v.html, renderLoadReportHtml(report));
    } catch (e) {
      throw new Error(`cannot write the HTML report to ${v.html}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (the results are above)`);
    }
    if (!v.json) out.write(`HTML report: ${v.html}\n`);
  }
  return 0;
}

function parsePercent(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%)?\s*$/.exec(text);
  const n = m === null ? NaN : m[2] === '%' ? Number(m[1]) / 100 : Number(m[1]) > 1 ? Number(m[1]) / 100 : Number(m[1]);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`bad --max-errors '${text}': expected a percentage like 1%`);
  return n;
}

/** Connects to the origin once; throws a one-line UsageError when nothing answers. */
async function probe(origin: string): Promise<void> {
  const target = new HttpTarget(`${origin}/`, { timeoutMs: 5000, connections: 1 });
  try {
    const error = await new Promise<string | undefined>((resolve) => target.send(0, (_status, e) => resolve(e)));
    if (error !== undefined) throw new UsageError(`cannot reach ${origin}: ${describeNetworkError({ code: error })}`);
  } finally {
    target.close();
  }
}
