#!/usr/bin/env node
// Runs every test file (packages/*/test, test/) with node's test runner and tsx, then prints the
// closing line CI reads: "N passed, N failed, N skipped", after a line per skipped test with its reason.
// Two phases: most files run two at a time; files that measure latency under load (test/e2e/overload*,
// *.serial.test.ts) run afterwards one at a time, so no other test steals their CPU.
// Usage: node scripts/run-tests.mjs [path-filter ...]   e.g. `node scripts/run-tests.mjs packages/core`
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatFailure } from './summary-reporter.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (/\.test\.(ts|mts|js|mjs)$/.test(name)) out.push(relative(root, full));
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) walk(join(root, 'packages', pkg, 'test'), files);
walk(join(root, 'test'), files);
const selected = files.sort().filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));
if (selected.length === 0) {
  console.error('no test files matched');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const isSerial = (f) => f.includes('e2e/overload') || f.endsWith('.serial.test.ts');
const phases = [
  { files: selected.filter((f) => !isSerial(f)), concurrency: 2 },
  { files: selected.filter(isSerial), concurrency: 1 },
].filter((p) => p.files.length > 0);

const countsFile = join(mkdtempSync(join(tmpdir(), 'autom8-tests-')), 'counts.jsonl');
let exitCode = 0;
for (const phase of phases) {
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${phase.concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...phase.files,
  ];
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'test', AUTOM8_TEST_COUNTS: countsFile },
    });
    child.on('exit', (c, signal) => resolve(signal ? 1 : (c ?? 1)));
  });
  if (code !== 0) exitCode = code;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const skips = [];
const failures = [];
try {
  for (const line of readFileSync(countsFile, 'utf8').split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    passed += c.passed;
    failed += c.failed;
    skipped += c.skipped;
    skips.push(...(c.skips ?? []));
    failures.push(...(c.failures ?? []));
  }
} catch {
  failed += 1; // the runner died before reporting
}
if (exitCode !== 0 && failed === 0) failed = 1; // a file that crashed outside any test
// Every skip named with its reason, so a skip never hides in the count.
if (skips.length > 0) console.log('');
for (const s of skips) console.log(`skipped: ${s.name} (${relative(root, s.file)}): ${s.reason}`);
// And every failure with its message, so the last lines of a log say what failed and why.
for (const f of failures) process.stdout.write(formatFailure(f, relative(root, f.file)));
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(exitCode !== 0 || failed > 0 ? 1 : 0);
