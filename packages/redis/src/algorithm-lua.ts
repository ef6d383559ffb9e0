import type { RateLimitAlgorithm } from '@autom8/core';

/**
 * The Lua each rate-limit script is built from, each algorithm written once: the exact scripts
 * (`rate-limit-scripts.ts`) and the lease scripts (`lease-scripts.ts`) are this prelude, their own
 * arguments, and the algorithm's body in its exact or lease variant. Each stays one script, run
 * atomically by one EVALSHA on one key.
 *
 * State is written with %.17g: Lua's tostring keeps 14 digits, too few for epoch ms with fractions.
 *
 * What a call costs Redis (`benchmarks/tools/lua-cost.mjs`, instructions under callgrind) is mostly
 * conversions and calls, not arithmetic: each ARGV parsed ~1.7k instructions, each number written
 * with %.17g ~2.5k (an integer) to ~6k (a fraction), each `redis.call` 3k to 7k, each closure
 * created ~0.8k. So a body parses only the arguments it uses, the helpers below are spliced in as
 * expressions (a `local function` is a new closure on every call), and a write leaves out what it
 * would only write again unchanged.
 */
export const PRELUDE = `
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local EPS = 1e-9
`;

/** ARGV index of each script argument (the lease scripts' five after the exact scripts' five). */
const ARGV_INDEX = { limit: 1, window: 2, burst: 3, cost: 4, maxDelay: 5, want: 6, share: 7, back: 8, backAt: 9, ttl: 10 } as const;

/** Lua: the named arguments parsed into locals of the same names (only those a body uses). */
export const args = (...names: (keyof typeof ARGV_INDEX)[]): string => names.map((n) => `local ${n} = tonumber(ARGV[${ARGV_INDEX[n]}])`).join('\n');

/** Lua expression: x as stored state (%.17g). */
export const f = (x: string): string => `string.format('%.17g', ${x})`;
/** Lua expression: x floored, 0 below 0 (a count shown to the caller). */
export const fl = (x: string): string => `((${x}) <= 0 and 0 or math.floor((${x}) + EPS))`;
/** Lua expression: x ms rounded up, 0 below 0. */
export const ms = (x: string): string => `((${x}) <= 0 and 0 or math.ceil(${x}))`;
/** Lua statement: the key expires `ttl` ms from now (rounded up, +1). */
export const keep = (ttl: string): string => `redis.call('PEXPIRE', key, math.ceil(${ttl}) + 1)`;

/** The algorithms that lease (the others are served exactly in leased mode). */
export type LeasingAlgorithm = Exclude<RateLimitAlgorithm, 'sliding-log'>;

/**
 * The variant a body is written for. In the exact variant `granted` is always the cost, so the
 * arithmetic is the exact scripts'; the lease variant adds the lease's extra units and the units
 * given back (names from the lease scripts' arguments: want, share, back, backAt, ttl).
 */
interface Variant {
  /** Lua only the lease scripts run. */
  lease(lua: string): string;
  /** Lua only the exact scripts run. */
  exact(lua: string): string;
  /** The lease reply's fields after the exact six: granted, validMs (a Lua expression), Redis's now. */
  reply(validMs: string): string;
  /** Lua expression: the lease's units beyond the cost, given the room left after it (lease variant only). */
  extraOf(room: string): string;
}

const EXACT: Variant = { lease: () => '', exact: (lua) => lua, reply: () => '', extraOf: () => '0' };
const LEASE: Variant = {
  lease: (lua) => lua,
  exact: () => '',
  reply: (validMs) => `, granted, ${validMs}, math.floor(now)`,
  extraOf: (room) => `math.max(0, math.min(want - cost, math.floor((${room}) * share + EPS)))`,
};

/** The lease scripts' own arguments a body uses (`backAt` only where a window can have turned). */
const leaseArgs = (v: Variant, backAt = false) => v.lease(backAt ? args('want', 'share', 'back', 'backAt', 'ttl') : args('want', 'share', 'back', 'ttl'));

const tokenBucket = (v: Variant) => `
${args('limit', 'window', 'burst', 'cost')}
${leaseArgs(v)}
local cap = burst
local T = window / limit
local s = redis.call('HMGET', key, 'a', 'b')
local tokens = tonumber(s[1])
local last = tonumber(s[2])
if tokens == nil then tokens = cap elseif now > last then tokens = math.min(cap, tokens + (now - last) / T) end
${v.lease('if back > 0 then tokens = math.min(cap, tokens + back) end')}
local allowed = 0
local granted = 0
if cost <= tokens + EPS then
  granted = cost${v.lease(` + ${v.extraOf('tokens - cost')}`)}
  tokens = math.max(0, tokens - granted)
  allowed = 1
end
local reset = (cap - tokens) * T
redis.call('HSET', key, 'a', ${f('tokens')}, 'b', ${f('math.max(now, last or now)')})
${keep('reset')}
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ${ms('(cost - tokens) * T')} end end
return {allowed, ${fl('tokens')}, ${fl('cap')}, ${ms('reset')}, retry, 0${v.reply('ttl')}}
`;

// The shaper (maxDelay > 0) delays instead of refusing, one delay per request: exact only.
const LEAKY_SHAPER = `
if maxDelay > 0 then
  local tat = tonumber(redis.call('HGET', key, 'a'))
  local start = now
  if tat ~= nil and tat > now then start = tat end
  local delay = start - now
  local cap = math.floor(maxDelay / T + EPS) + 1
  if delay > maxDelay + EPS then return {0, 0, cap, ${ms('delay')}, ${ms('delay - maxDelay')}, 0} end
  tat = start + cost * T
  redis.call('HSET', key, 'a', ${f('tat')})
  ${keep('tat - now')}
  local ahead = tat - now
  local remaining = 0
  if ahead <= maxDelay + EPS then remaining = ${fl('(maxDelay - ahead) / T')} + 1 end
  return {1, remaining, cap, ${ms('ahead')}, 0, ${ms('delay')}}
end`;

const leakyBucket = (v: Variant) => `
${args('limit', 'window', 'burst', 'cost')}
${v.exact(args('maxDelay'))}
${leaseArgs(v)}
local T = window / limit
${v.exact(LEAKY_SHAPER)}
local cap = burst
local s = redis.call('HMGET', key, 'a', 'b')
local level = tonumber(s[1])
local last = tonumber(s[2])
if level == nil then level = 0 elseif now > last then level = math.max(0, level - (now - last) / T) end
${v.lease('if back > 0 then level = math.max(0, level - back) end')}
local allowed = 0
local granted = 0
if level + cost <= cap + EPS then
  granted = cost${v.lease(` + ${v.extraOf('cap - level - cost')}`)}
  level = level + granted
  allowed = 1
end
redis.call('HSET', key, 'a', ${f('level')}, 'b', ${f('math.max(now, last or now)')})
${keep('level * T')}
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ${ms('(level + cost - cap) * T')} end end
return {allowed, ${fl('cap - level')}, ${fl('cap')}, ${ms('level * T')}, retry, 0${v.reply('ttl')}}
`;

// The window algorithms write only the fields that change: within one window the start ('a') is
// what is stored already, and a refused request changes no count.
const fixedWindow = (v: Variant) => `
${args('limit', 'window', 'cost')}
${leaseArgs(v, true)}
local start = math.floor(now / window) * window
local s = redis.call('HMGET', key, 'a', 'b')
local stored = tonumber(s[2])
local same = tonumber(s[1]) == start and stored ~= nil
local count = 0
if same then count = stored end
${v.lease('if back > 0 and math.floor(backAt / window) * window == start then count = math.max(0, count - back) end')}
local allowed = 0
local granted = 0
if count + cost <= limit then
  granted = cost${v.lease(` + ${v.extraOf('limit - count - cost')}`)}
  count = count + granted
  allowed = 1
end
local reset = start + window - now
if not same then redis.call('HSET', key, 'a', ${f('start')}, 'b', count)
elseif count ~= stored then redis.call('HSET', key, 'b', count) end
${keep('reset')}
local retry = 0
if allowed == 0 then if cost > limit then retry = -1 else retry = ${ms('reset')} end end
return {allowed, math.max(0, limit - count), limit, ${ms('reset')}, retry, 0${v.reply('math.floor(math.min(ttl, reset))')}}
`;

const slidingWindow = (v: Variant) => `
${args('limit', 'window', 'cost')}
${leaseArgs(v, true)}
local start = math.floor(now / window) * window
local s = redis.call('HMGET', key, 'a', 'b', 'c')
local a = tonumber(s[1])
local b = tonumber(s[2])
local c = tonumber(s[3])
local same = a == start and b ~= nil and c ~= nil
local cur = b or 0
local prev = c or 0
if a ~= start then
  if a == start - window then prev = cur else prev = 0 end
  cur = 0
end
${v.lease(`if back > 0 then
  local backStart = math.floor(backAt / window) * window
  if backStart == start then cur = math.max(0, cur - back)
  elseif backStart == start - window then prev = math.max(0, prev - back) end
end`)}
local weight = (window - (now - start)) / window
local allowed = 0
local granted = 0
if prev * weight + cur + cost <= limit + EPS then
  granted = cost${v.lease(` + ${v.extraOf('limit - prev * weight - cur - cost')}`)}
  cur = cur + granted
  allowed = 1
end
if not same then redis.call('HSET', key, 'a', ${f('start')}, 'b', cur, 'c', prev)
elseif cur ~= b then
  if prev ~= c then redis.call('HSET', key, 'b', cur, 'c', prev) else redis.call('HSET', key, 'b', cur) end
elseif prev ~= c then redis.call('HSET', key, 'c', prev) end
${keep('start + 2 * window - now')}
local reset = start + window - now
if cur > 0 then reset = start + 2 * window - now end
local retry = 0
if allowed == 0 then
  local room = limit - cost - cur
  if room >= 0 and prev > 0 then retry = ${ms('start + window * (1 - room / prev) - now')}
  elseif cost > limit then retry = -1
  elseif cur == 0 then retry = ${ms('start + window - now')}
  else retry = ${ms('start + window + window * (1 - math.min(1, (limit - cost) / cur)) - now')} end
end
return {allowed, ${fl('limit - (prev * weight + cur)')}, limit, ${ms('reset')}, retry, 0${v.reply('math.floor(math.min(ttl, start + window - now))')}}
`;

const gcra = (v: Variant) => `
${args('limit', 'window', 'burst', 'cost')}
${leaseArgs(v)}
local cap = burst
local T = window / limit
local tolerance = cap * T
local tat = tonumber(redis.call('HGET', key, 'a'))
if tat == nil or tat < now then tat = now end
${v.lease('if back > 0 then tat = math.max(now, tat - back * T) end')}
local newTat = tat + cost * T
local allowAt = newTat - tolerance
local allowed = 0
local granted = 0
local current = tat
if now >= allowAt - EPS then
  granted = cost${v.lease(` + ${v.extraOf('(now - allowAt) / T')}`)}
  newTat = tat + granted * T
  allowed = 1
  current = newTat
end
if allowed == 1${v.lease(' or back > 0')} then
  redis.call('HSET', key, 'a', ${f('current')})
  ${keep('current - now')}
end
local retry = 0
if allowed == 0 then if cost > cap then retry = -1 else retry = ${ms('allowAt - now')} end end
return {allowed, math.min(${fl('cap')}, ${fl('(now - (current - tolerance)) / T')}), ${fl('cap')}, ${ms('current - now')}, retry, 0${v.reply('ttl')}}
`;

const BODIES: Record<LeasingAlgorithm, (v: Variant) => string> = {
  'token-bucket': tokenBucket,
  'leaky-bucket': leakyBucket,
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  gcra,
};

/** The Lua body of each leasing algorithm, in the exact scripts' variant or the lease scripts'. */
export function algorithmBodies(variant: 'exact' | 'lease'): Record<LeasingAlgorithm, string> {
  const v = variant === 'lease' ? LEASE : EXACT;
  const bodies = {} as Record<LeasingAlgorithm, string>;
  // A part the variant leaves out leaves an empty line behind; drop it.
  for (const name of Object.keys(BODIES) as LeasingAlgorithm[]) bodies[name] = BODIES[name](v).replace(/\n\n+/g, '\n');
  return bodies;
}
