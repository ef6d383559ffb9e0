import type { RateLimitAlgorithm } from '@autom8/core';

/**
 * One Lua script per rate-limit algorithm: the same arithmetic as core's memory store
 * (`packages/core/src/ratelimit/algorithms.ts`), run atomically inside Redis on Redis's own clock
 * (`TIME`), so instances with skewed clocks still agree.
 *
 * KEYS[1] = the key. ARGV = limit, windowMs, burst, cost, maxDelayMs.
 * Returns {allowed 0|1, remaining, capacity, resetMs, retryAfterMs (-1 = never), delayMs}, all
 * integers (Redis truncates Lua numbers), times rounded up.
 *
 * State is written with %.17g: Lua's tostring keeps 14 digits, too few for epoch ms with fractions.
 */
export const PRELUDE = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local maxDelay = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local EPS = 1e-9
local function f(x) return string.format('%.17g', x) end
local function fl(x) if x <= 0 then return 0 end return math.floor(x + EPS) end
local function ms(x) if x <= 0 then return 0 end return math.ceil(x) end
local function keep(ttl) redis.call('PEXPIRE', key, math.ceil(ttl) + 1) end
`;

const TOKEN_BUCKET = `
local cap = burst
local T = window / limit
local s = redis.call('HMGET', key, 'a', 'b')
local tokens = tonumber(s[1])
local last = tonumber(s[2])
if tokens == nil then tokens = cap elseif now > last then tokens = math.min(cap, tokens + (now - last) / T) end
local allowed = 0
if cost <= tokens + EPS then tokens = math.max(0, tokens - cost); allowed = 1 end
local reset = (cap - tokens) * T
redis.call('HSET', key, 'a', f(tokens), 'b', f(math.max(now, last or now)))
keep(reset)
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms((cost - tokens) * T) end end
return {allowed, fl(tokens), fl(cap), ms(reset), retry, 0}
`;

const LEAKY_BUCKET = `
local T = window / limit
if maxDelay > 0 then
  local tat = tonumber(redis.call('HGET', key, 'a'))
  local start = now
  if tat ~= nil and tat > now then start = tat end
  local delay = start - now
  local cap = math.floor(maxDelay / T + EPS) + 1
  if delay > maxDelay + EPS then return {0, 0, cap, ms(delay), ms(delay - maxDelay), 0} end
  tat = start + cost * T
  redis.call('HSET', key, 'a', f(tat))
  keep(tat - now)
  local ahead = tat - now
  local remaining = 0
  if ahead <= maxDelay + EPS then remaining = fl((maxDelay - ahead) / T) + 1 end
  return {1, remaining, cap, ms(ahead), 0, ms(delay)}
end
local cap = burst
local s = redis.call('HMGET', key, 'a', 'b')
local level = tonumber(s[1])
local last = tonumber(s[2])
if level == nil then level = 0 elseif now > last then level = math.max(0, level - (now - last) / T) end
local allowed = 0
if level + cost <= cap + EPS then level = level + cost; allowed = 1 end
redis.call('HSET', key, 'a', f(level), 'b', f(math.max(now, last or now)))
keep(level * T)
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms((level + cost - cap) * T) end end
return {allowed, fl(cap - level), fl(cap), ms(level * T), retry, 0}
`;

const FIXED_WINDOW = `
local start = math.floor(now / window) * window
local s = redis.call('HMGET', key, 'a', 'b')
local count = tonumber(s[2])
if tonumber(s[1]) ~= start or count == nil then count = 0 end
local allowed = 0
if count + cost <= limit then count = count + cost; allowed = 1 end
local reset = start + window - now
redis.call('HSET', key, 'a', f(start), 'b', count)
keep(reset)
local retry = 0
if allowed == 0 then if cost > limit then retry = -1 else retry = ms(reset) end end
return {allowed, math.max(0, limit - count), limit, ms(reset), retry, 0}
`;

const SLIDING_WINDOW = `
local start = math.floor(now / window) * window
local s = redis.call('HMGET', key, 'a', 'b', 'c')
local a = tonumber(s[1])
local cur = tonumber(s[2]) or 0
local prev = tonumber(s[3]) or 0
if a ~= start then
  if a == start - window then prev = cur else prev = 0 end
  cur = 0
end
local weight = (window - (now - start)) / window
local allowed = 0
if prev * weight + cur + cost <= limit + EPS then cur = cur + cost; allowed = 1 end
redis.call('HSET', key, 'a', f(start), 'b', cur, 'c', prev)
keep(start + 2 * window - now)
local reset = start + window - now
if cur > 0 then reset = start + 2 * window - now end
local retry = 0
if allowed == 0 then
  local room = limit - cost - cur
  if room >= 0 and prev > 0 then retry = ms(start + window * (1 - room / prev) - now)
  elseif cost > limit then retry = -1
  elseif cur == 0 then retry = ms(start + window - now)
  else retry = ms(start + window + window * (1 - math.min(1, (limit - cost) / cur)) - now) end
end
return {allowed, fl(limit - (prev * weight + cur)), limit, ms(reset), retry, 0}
`;

const SLIDING_LOG = `
redis.call('ZREMRANGEBYSCORE', key, '-inf', f(now - window))
local count = redis.call('ZCARD', key)
local allowed = 0
if count + cost <= limit then
  local stamp = f(now)
  for i = 1, cost do redis.call('ZADD', key, stamp, stamp .. ':' .. (count + i)) end
  count = count + cost
  allowed = 1
  keep(window)
end
local retry = 0
if allowed == 0 then
  if cost > limit then retry = -1 else
    local e = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
    retry = ms(tonumber(e[2]) + window - now)
  end
end
local reset = 0
if count > 0 then
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  reset = ms(tonumber(last[2]) + window - now)
end
return {allowed, math.max(0, limit - count), limit, reset, retry, 0}
`;

const GCRA = `
local cap = burst
local T = window / limit
local tolerance = cap * T
local tat = tonumber(redis.call('HGET', key, 'a'))
if tat == nil or tat < now then tat = now end
local newTat = tat + cost * T
local allowAt = newTat - tolerance
local allowed = 0
local current = tat
if now >= allowAt - EPS then
  allowed = 1
  current = newTat
  redis.call('HSET', key, 'a', f(newTat))
  keep(newTat - now)
end
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms(allowAt - now) end end
return {allowed, math.min(fl(cap), fl((now - (current - tolerance)) / T)), fl(cap), ms(current - now), retry, 0}
`;

const BODIES: Record<RateLimitAlgorithm, string> = {
  'token-bucket': TOKEN_BUCKET,
  'leaky-bucket': LEAKY_BUCKET,
  'fixed-window': FIXED_WINDOW,
  'sliding-window': SLIDING_WINDOW,
  'sliding-log': SLIDING_LOG,
  gcra: GCRA,
};

/** The ioredis command name and Lua source of each algorithm's script. */
export const RATE_LIMIT_SCRIPTS: Readonly<Record<RateLimitAlgorithm, { command: string; lua: string }>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(BODIES) as RateLimitAlgorithm[]).map((name) => [name, { command: `autom8rl_${name.replace('-', '_')}`, lua: PRELUDE + BODIES[name] }]),
  ) as Record<RateLimitAlgorithm, { command: string; lua: string }>,
);
