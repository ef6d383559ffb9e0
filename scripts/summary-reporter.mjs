// A node:test reporter that counts tests (not suites). It prints "N passed, N failed" at the end,
// or, when AUTOM8_TEST_COUNTS names a file, appends the counts there as JSON for
// scripts/run-tests.mjs to add up across phases.
import { appendFileSync } from 'node:fs';

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type === 'test:pass' && event.data.details?.type !== 'suite') {
      if (event.data.skip || event.data.todo) skipped++;
      else passed++;
    } else if (event.type === 'test:fail' && event.data.details?.type !== 'suite') {
      failed++;
    }
  }
  const file = process.env.AUTOM8_TEST_COUNTS;
  if (file) appendFileSync(file, `${JSON.stringify({ passed, failed, skipped })}\n`);
  else yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
