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
    if (event.type === 'test:pass' && event.data.details?.type !== 'suite') {
      if (event.data.skip || event.data.todo) {
        skipped++;
        const reason = event.data.skip ?? event.data.todo;
        skips.push({ name: event.data.name, file: event.data.file ?? '', reason: typeof reason === 'string' ? reason : 'no reason given' });
      } else passed++;
    } else if (event.type === 'test:fail' && event.data.details?.type !== 'suite') {
      failed++;
    }
  }
  const file = process.env.AUTOM8_TEST_COUNTS;
  if (file) appendFileSync(file, `${JSON.stringify({ passed, failed, skipped, skips })}\n`);
  else {
    for (const s of skips) yield `skipped: ${s.name} (${s.file}): ${s.reason}\n`;
    yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
  }
}
