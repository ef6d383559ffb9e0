// The Lua the peer rate limiters run per check, read from their installed sources (neither exports
// it): rate-limiter-flexible's RateLimiterRedis (`consume`) and rate-limit-redis (express-rate-limit's
// Redis store, `increment`). Both count fixed windows in a plain string key with an expiry.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A JS template literal's text (no substitutions) as the JS engine reads it: `\` + newline joins lines. */
function templateText(file, re) {
  const src = readFileSync(file, 'utf8');
  const m = re.exec(src);
  if (!m) throw new Error(`script not found in ${file}: the package changed`);
  return new Function(`return \`${m[1]}\`;`)();
}

/**
 * Each peer's script and how to call it the way the lease bench does (limit far above the load,
 * a 60 s window): `argv(windowMs, limit)` gives ARGV after the key.
 */
export function peerScripts() {
  const rlfFile = join(dirname(require.resolve('rate-limiter-flexible')), 'lib', 'RateLimiterRedis.js');
  const rlf = templateText(rlfFile, /const incrTtlLuaScript = `([\s\S]*?)`;/);
  const erlFile = join(dirname(require.resolve('rate-limit-redis')), 'index.mjs');
  // rate-limit-redis strips each line's indentation before loading it.
  const erl = templateText(erlFile, /increment: `([\s\S]*?)`\.replaceAll/)
    .replaceAll(/^\s+/gm, '')
    .trim();
  return {
    // consume(key, 1): points, secDuration, then the limiter's points and duration.
    rlf: { lua: rlf, argv: (windowMs, limit) => ['1', String(windowMs / 1000), String(limit), String(windowMs / 1000)] },
    // increment(key): windowMs.
    erl: { lua: erl, argv: (windowMs) => [String(windowMs)] },
  };
}
