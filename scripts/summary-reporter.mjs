// A node:test reporter that counts tests (not suites). It prints "N passed, N failed, N skipped"
// and each skipped test with its reason at the end, or, when AUTOM8_TEST_COUNTS names a file,
// appends the counts and the skips there as JSON for scripts/run-tests.mjs to add up across phases.
import { appendFileSync } from 'node:fs';

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skips = [];
  for await (const event of source) {
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
    else failed++;
  }
  const file = process.env.AUTOM8_TEST_COUNTS;
  if (file) appendFileSync(file, `${JSON.stringify({ passed, failed, skipped, skips })}\n`);
  else {
    for (const s of skips) yield `skipped: ${s.name} (${s.file}): ${s.reason}\n`;
    yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
  }
}
