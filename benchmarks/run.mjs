// `npm run bench`: runs every benchmarks/*.bench.mjs in its own process, one after another, so
// one scenario's garbage and JIT state never leak into the next. Pass names to run a subset:
// `npm run bench -- metrics ratelimit`. Then report.mjs rewrites BENCHMARKS.md from results/*.json.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', f], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
// Regenerate BENCHMARKS.md and its plot from whatever results/*.json now hold.
if (files.length > 0) {
  console.log('\n=== report.mjs ===');
  if (spawnSync(process.execPath, ['report.mjs'], { cwd: dir, stdio: 'inherit' }).status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
