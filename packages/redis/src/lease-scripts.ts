import type { RateLimitAlgorithm } from '@autom8/core';
import { PRELUDE } from './rate-limit-scripts.js';

/**
 * Lease scripts: the same arithmetic as the exact scripts (`rate-limit-scripts.ts`), but one call
 * may take more than the request's own cost, a lease of units the caller then serves locally, and
 * may give back the unused units of the caller's previous lease. Atomic, on Redis's clock, one
 * hash-tagged key (Cluster-safe), like the exact scripts.
 *
 * ARGV = limit, windowMs, burst, cost, maxDelayMs (as the exact scripts), then
 * want (units asked for, cost included; 0 = only give back), share (most of what is left after
 * the cost that one lease may take), back (units given back), backAt (Redis ms of the lease they
 * came from), ttl (lease lifetime, ms).
 * Returns the exact scripts' six fields, then granted (units taken, cost included), validMs (how
 * long the lease may be served: the ttl, cut at the window's end for window algorithms, so a unit
 * is never spent in a window other than the one that counted it) and Redis's now (ms).
 *
 * Only the algorithms whose state a reservation maps onto lease: the sliding log (one timestamped
 * entry per request) and the leaky-bucket shaper (one delay per request) do not.
 */
const LEASE_ARGS = `
local want = tonumber(ARGV[6])
local share = tonumber(ARGV[7])
local back = tonumber(ARGV[8])
local backAt = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])
local function extraOf(room)
  local e = math.min(want - cost, math.floor(room * share + EPS))
  if e > 0 then return e end
  return 0
end
`;

const TOKEN_BUCKET = `
local cap = burst
local T = window / limit
local s = redis.call('HMGET', key, 'a', 'b')
local tokens = tonumber(s[1])
local last = tonumber(s[2])
if tokens == nil then tokens = cap elseif now > last then tokens = math.min(cap, tokens + (now - last) / T) end
if back > 0 then tokens = math.min(cap, tokens + back) end
local allowed = 0
local granted = 0
if cost <= tokens + EPS then
  granted = cost + extraOf(tokens - cost)
  tokens = math.max(0, tokens - granted)
  allowed = 1
end
local reset = (cap - tokens) * T
redis.call('HSET', key, 'a', f(tokens), 'b', f(math.max(now, last or now)))
keep(reset)
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms((cost - tokens) * T) end end
return {allowed, fl(tokens), fl(cap), ms(reset), retry, 0, granted, ttl, math.floor(now)}
`;

const LEAKY_BUCKET = `
local cap = burst
local T = window / limit
local s = redis.call('HMGET', key, 'a', 'b')
local level = tonumber(s[1])
local last = tonumber(s[2])
if level == nil then level = 0 elseif now > last then level = math.max(0, level - (now - last) / T) end
if back > 0 then level = math.max(0, level - back) end
local allowed = 0
local granted = 0
if level + cost <= cap + EPS then
  granted = cost + extraOf(cap - level - cost)
  level = level + granted
  allowed = 1
end
redis.call('HSET', key, 'a', f(level), 'b', f(math.max(now, last or now)))
keep(level * T)
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms((level + cost - cap) * T) end end
return {allowed, fl(cap - level), fl(cap), ms(level * T), retry, 0, granted, ttl, math.floor(now)}
`;

const FIXED_WINDOW = `
local start = math.floor(now / window) * window
local s = redis.call('HMGET', key, 'a', 'b')
local count = tonumber(s[2])
if tonumber(s[1]) ~= start or count == nil then count = 0 end
if back > 0 and math.floor(backAt / window) * window == start then count = math.max(0, count - back) end
local allowed = 0
local granted = 0
if count + cost <= limit then
  granted = cost + extraOf(limit - count - cost)
  count = count + granted
  allowed = 1
end
local reset = start + window - now
redis.call('HSET', key, 'a', f(start), 'b', count)
keep(reset)
local retry = 0
if allowed == 0 then if cost > limit then retry = -1 else retry = ms(reset) end end
return {allowed, math.max(0, limit - count), limit, ms(reset), retry, 0, granted, math.floor(math.min(ttl, reset)), math.floor(now)}
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
if back > 0 then
  local backStart = math.floor(backAt / window) * window
  if backStart == start then cur = math.max(0, cur - back)
  elseif backStart == start - window then prev = math.max(0, prev - back) end
end
local weight = (window - (now - start)) / window
local allowed = 0
local granted = 0
if prev * weight + cur + cost <= limit + EPS then
  granted = cost + extraOf(limit - prev * weight - cur - cost)
  cur = cur + granted
  allowed = 1
end
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
return {allowed, fl(limit - (prev * weight + cur)), limit, ms(reset), retry, 0, granted, math.floor(math.min(ttl, start + window - now)), math.floor(now)}
`;

const GCRA = `
local cap = burst
local T = window / limit
local tolerance = cap * T
local tat = tonumber(redis.call('HGET', key, 'a'))
if tat == nil or tat < now then tat = now end
if back > 0 then tat = math.max(now, tat - back * T) end
local newTat = tat + cost * T
local allowAt = newTat - tolerance
local allowed = 0
local granted = 0
local current = tat
if now >= allowAt - EPS then
  granted = cost + extraOf((now - allowAt) / T)
  newTat = tat + granted * T
  allowed = 1
  current = newTat
end
if allowed == 1 or back > 0 then
  redis.call('HSET', key, 'a', f(current))
  keep(current - now)
end
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ms(allowAt - now) end end
return {allowed, math.min(fl(cap), fl((now - (current - tolerance)) / T)), fl(cap), ms(current - now), retry, 0, granted, ttl, math.floor(now)}
`;

/** The algorithms that lease (the others are served exactly in leased mode). */
export type LeasingAlgorithm = Exclude<RateLimitAlgorithm, 'sliding-log'>;

const BODIES: Record<LeasingAlgorithm, string> = {
  'token-bucket': TOKEN_BUCKET,
  'leaky-bucket': LEAKY_BUCKET,
  'fixed-window': FIXED_WINDOW,
  'sliding-window': SLIDING_WINDOW,
  gcra: GCRA,
};

/** The ioredis command name and Lua source of each leasing algorithm's lease script. */
export const LEASE_SCRIPTS: Readonly<Record<LeasingAlgorithm, { command: string; lua: string }>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(BODIES) as LeasingAlgorithm[]).map((name) => [
      name,
      { command: `autom8lease_${name.replace('-', '_')}`, lua: PRELUDE + LEASE_ARGS + BODIES[name] },
    ]),
  ) as Record<LeasingAlgorithm, { command: string; lua: string }>,
);
