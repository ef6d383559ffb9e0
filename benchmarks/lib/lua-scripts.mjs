// The Redis store's Lua, as the source (not the build) writes it, from the work tree or from any git
// revision: the tools that compare scripts (lua-cost.mjs: Redis CPU per call; lua-diff.mjs: old and
// new on the same random calls) take an old revision's scripts and the work tree's side by side.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = 'packages/redis/src';
// The files the scripts are built from (older revisions lack algorithm-lua.ts: it is skipped).
const FILES = ['algorithm-lua.ts', 'rate-limit-scripts.ts', 'lease-scripts.ts'];

/**
 * The exact scripts (`RATE_LIMIT_SCRIPTS`) and lease scripts (`LEASE_SCRIPTS`) of `rev`, or of the
 * work tree when `rev` is undefined: `{ exact: { [algorithm]: lua }, lease: { [algorithm]: lua } }`.
 */
export async function loadScripts(rev) {
  let dir = join(ROOT, SRC);
  let tmp;
  if (rev !== undefined) {
    tmp = dir = mkdtempSync(join(tmpdir(), 'autom8-lua-'));
    for (const f of FILES) {
      let text;
      try {
        text = execFileSync('git', ['show', `${rev}:${SRC}/${f}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        continue;
      }
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
  }
  try {
    const url = (f) => pathToFileURL(join(dir, f)).href;
    const exact = (await tsImport(url('rate-limit-scripts.ts'), import.meta.url)).RATE_LIMIT_SCRIPTS;
    const lease = (await tsImport(url('lease-scripts.ts'), import.meta.url)).LEASE_SCRIPTS;
    const luaOf = (scripts) => Object.fromEntries(Object.entries(scripts).map(([name, s]) => [name, s.lua]));
    return { exact: luaOf(exact), lease: luaOf(lease) };
  } finally {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
}
