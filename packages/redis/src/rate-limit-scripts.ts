import type { RateLimitAlgorithm } from '@autom8/core';
import { PRELUDE, algorithmBodies, args, f, keep, ms } from './algorithm-lua.js';

/**
 * One Lua script per rate-limit algorithm: the same arithmetic as core's memory store
 * (`packages/core/src/ratelimit/algorithms.ts`), run atomically inside Redis on Redis's own clock
 * (`TIME`), so instances with skewed clocks still agree. The bodies are in `algorithm-lua.ts`,
 * shared with the lease scripts.
 *
 * KEYS[1] = the key. ARGV = limit, windowMs, burst, cost, maxDelayMs.
 * Returns {allowed 0|1, remaining, capacity, resetMs, retryAfterMs (-1 = never), delayMs}, all
 * integers (Redis truncates Lua numbers), times rounded up.
 */

// One timestamped entry per request: a reservation does not map onto it, so it has no lease variant.
const SLIDING_LOG = `
${args('limit', 'window', 'cost')}
redis.call('ZREMRANGEBYSCORE', key, '-inf', ${f('now - window')})
local count = redis.call('ZCARD', key)
local allowed = 0
if count + cost <= limit then
  local stamp = ${f('now')}
  for i = 1, cost do redis.call('ZADD', key, stamp, stamp .. ':' .. (count + i)) end
  count = count + cost
  allowed = 1
  ${keep('window')}
end
local retry = 0
if allowed == 0 then
  if cost > limit then retry = -1 else
    local e = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
    local wait = tonumber(e[2]) + window - now
    retry = ${ms('wait')}
  end
end
local reset = 0
if count > 0 then
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local left = tonumber(last[2]) + window - now
  reset = ${ms('left')}
end
return {allowed, math.max(0, limit - count), limit, reset, retry, 0}
`;

const BODIES: Record<RateLimitAlgorithm, string> = { ...algorithmBodies('exact'), 'sliding-log': SLIDING_LOG };

/** The ioredis command name and Lua source of each algorithm's script. */
export const RATE_LIMIT_SCRIPTS: Readonly<Record<RateLimitAlgorithm, { command: string; lua: string }>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(BODIES) as RateLimitAlgorithm[]).map((name) => [name, { command: `autom8rl_${name.replace('-', '_')}`, lua: PRELUDE + BODIES[name] }]),
  ) as Record<RateLimitAlgorithm, { command: string; lua: string }>,
);
