#!/usr/bin/env node
// npm "version" lifecycle of a package (run by `lerna version` after it bumps package.json, before
// its release commit): copies the new version into src/version.ts, which the package reports at
// runtime (OTel scope version, `autom8 --help`), and stages the file so the release commit has it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const file = 'src/version.ts';
const before = readFileSync(file, 'utf8');
const after = before.replace(/(export const VERSION = ')[^']*(';)/, `$1${version}$2`);
if (after === before && !before.includes(`'${version}'`)) {
  console.error(`sync-version: no "export const VERSION = '…';" in ${file}`);
  process.exit(1);
}
writeFileSync(file, after);
execFileSync('git', ['add', file], { stdio: 'inherit' });
