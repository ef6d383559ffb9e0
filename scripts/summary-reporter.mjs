// A node:test reporter that counts tests (not suites). It prints "N passed, N failed, N skipped"
// and each skipped test with its reason at the end, or, when AUTOM8_TEST_COUNTS names a file,
// appends the counts, the skips and the failures there as JSON for scripts/run-tests.mjs to add up
// across phases. Each failure is listed at the end with its message; a file that failed outside
// any test (an error after its tests ended, a crash) also with its exit code or signal and the last
// lines its process wrote to stderr or reported as diagnostics, so the closing lines of a CI log
// say why without the rest of it.
import { appendFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';

const TAIL = 12;
const UNNAMED = '(a diagnostic naming no file, perhaps another file’s)';
// Events name a file absolutely or as given on the command line: one key for both.
const keyOf = (file) => (isAbsolute(file) ? relative(process.cwd(), file) : file);

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skips = [];
  const failures = [];
  // Per file: the last lines written to stderr and the diagnostics that are not the counts.
  const tails = new Map();
  const remember = (file, text) => {
    if (!file) return;
    let t = tails.get(keyOf(file));
    if (t === undefined) tails.set(keyOf(file), (t = []));
    for (const line of String(text).split('\n')) if (line.trim() !== '') t.push(line);
    if (t.length > TAIL) t.splice(0, t.length - TAIL);
  };
  for await (const event of source) {
    if (event.type === 'test:stderr') {
      remember(event.data.file, event.data.message);
      continue;
    }
    if (event.type === 'test:diagnostic') {
      // Node 20 names no file on these; they are kept apart and shown as possibly another file's.
      if (/^(Error|Warning)\b/.test(event.data.message ?? '')) remember(event.data.file ?? UNNAMED, event.data.message);
      continue;
    }
    if (event.data?.details?.type === 'suite') continue;
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, todo } = event.data;
    // A todo test runs and reports but, as node:test itself has it, does not fail the run, whatever
    // its outcome: it counts as skipped and is listed with its reason and its outcome.
    if (skip || todo) {
      skipped++;
      const reason = typeof (skip ?? todo) === 'string' ? (skip ?? todo) : 'no reason given';
      const outcome = todo ? ` (todo; ${event.type === 'test:pass' ? 'passed' : 'failed'} this run)` : '';
      skips.push({ name: event.data.name, file: event.data.file ?? '', reason: `${reason}${outcome}` });
    } else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      failures.push(failureOf(event.data, tails));
    }
  }
  const file = process.env.AUTOM8_TEST_COUNTS;
  if (file) appendFileSync(file, `${JSON.stringify({ passed, failed, skipped, skips, failures })}\n`);
  else {
    for (const s of skips) yield `skipped: ${s.name} (${s.file}): ${s.reason}\n`;
    for (const f of failures) yield formatFailure(f);
    yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
  }
}

function failureOf(data, tails) {
  const error = data.details?.error;
  const cause = error?.cause;
  let message = String((cause instanceof Error ? cause.message : cause) ?? error?.message ?? 'no message');
  if (error?.failureType === 'testCodeFailure' && (error.exitCode != null || error.signal != null)) {
    message += ` (its process exited with ${error.signal ? `signal ${error.signal}` : `code ${error.exitCode}`})`;
  }
  const f = { name: data.name, file: data.file ?? '', message: message.split('\n').slice(0, 8).join('\n') };
  // A file-level failure: what its process said last (the tests' own failures say it themselves).
  if (data.nesting === 0) {
    const tail = [...(tails.get(keyOf(data.file ?? data.name)) ?? [])];
    const unnamed = tails.get(UNNAMED);
    if (unnamed !== undefined) tail.push(UNNAMED, ...unnamed.slice(-3));
    if (tail.length > 0) f.tail = tail;
  }
  return f;
}

/** One failure as the closing lines print it. */
export function formatFailure(f, file = f.file) {
  let out = `failed: ${f.name} (${file}): ${f.message.replace(/\n/g, '\n    ')}\n`;
  for (const line of f.tail ?? []) out += `    | ${line}\n`;
  return out;
}
