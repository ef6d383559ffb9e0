// `npm run bench`: runs every benchmarks/*.bench.mjs in its own process, one after another, so
// one scenario's garbage and JIT state never leak into the next. Pass names to run a subset:
// `npm run bench -- metrics ratelimit`. Then report.mjs rewrites BENCHMARKS.md from results/*.json.
// BENCH_NODE=<version> runs the benchmarks on that Node.js release instead of this one (fetched
// once by scripts/fetch-node.sh from the npm registry), e.g. `BENCH_NODE=24.21.0 npm run bench -- stacks`.
import { readdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const node = process.env.BENCH_NODE
  ? execFileSync('bash', [fileURLToPath(new URL('../scripts/fetch-node.sh', import.meta.url)), process.env.BENCH_NODE], { encoding: 'utf8' }).trim()
  : process.execPath;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(node, ['--expose-gc', f], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
// Regenerate BENCHMARKS.md and its plot from whatever results/*.json now hold.
if (files.length > 0) {
  console.log('\n=== report.mjs ===');
  if (spawnSync(process.execPath, ['report.mjs'], { cwd: dir, stdio: 'inherit' }).status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
