// Redis's cost of one rate-limit check, script by script: autom8's exact scripts per algorithm (the
// work tree's, and an older revision's with --before), the peers' (rate-limiter-flexible,
// rate-limit-redis), ablations of ours (a part taken out) and micro scripts (one part alone), each
// run as N EVALSHA calls at a fixed concurrency on a redis-server of its own, interleaved, several
// rounds, on one hot key and on a new key per call (cold).
//
// Per script: commandstats usec per call (the script's own time, commands inside it included; the
// inner commands' share from their own commandstats rows), and redis-server CPU per call: the main
// thread's run time from /proc/<pid>/schedstat (ns) and the process's utime+stime from
// /proc/<pid>/stat (clock ticks). Medians over the rounds.
//
// With --callgrind, redis-server runs under valgrind's callgrind and each script's cost is also
// counted in instructions per call (Ir, zeroed before and dumped after each script's calls): the
// timings on a loaded 2-core machine vary by half from round to round, instruction counts do not.
//
// Usage: chrt -i 0 nice -n 19 node benchmarks/tools/lua-cost.mjs [--before <git rev>] [--calls N]
//          [--rounds R] [--concurrency C] [--only <regex>] [--json <file>] [--callgrind]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { accepting, freePort, startRedis } from '../lib/redis.mjs';
import { loadScripts } from '../lib/lua-scripts.mjs';
import { peerScripts } from '../lib/peer-lua.mjs';

const require = createRequire(import.meta.url);
const Redis = require('ioredis');
const { values: opt } = parseArgs({
  options: {
    before: { type: 'string' },
    calls: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    only: { type: 'string' },
    json: { type: 'string' },
    callgrind: { type: 'boolean', default: false },
  },
});
const CALLS = Number(opt.calls);
const ROUNDS = Number(opt.rounds);
const CONC = Number(opt.concurrency);
const WARM = Math.min(2000, CALLS);

// The lease bench's load phase: a limit far above the load, a 60 s window, cost 1.
const LIMIT = 1e9;
const WINDOW = 60_000;
const OURS_ARGV = [String(LIMIT), String(WINDOW), String(LIMIT), '1', '0'];

/** @type {{ name: string, group: string, lua: string, argv: () => string[] }[]} */
const variants = [];
const add = (group, name, lua, argv = () => OURS_ARGV) => variants.push({ group, name, lua, argv });

const now = await loadScripts();
const before = opt.before !== undefined ? await loadScripts(opt.before) : undefined;
for (const alg of Object.keys(now.exact)) {
  if (before) add('ours', `before ${alg}`, before.exact[alg]);
  add('ours', `${before ? 'after ' : ''}${alg}`, now.exact[alg]);
}
const peers = peerScripts();
add('peers', 'rlf (RateLimiterRedis)', peers.rlf.lua, () => peers.rlf.argv(WINDOW, LIMIT));
add('peers', 'erl (rate-limit-redis)', peers.erl.lua, () => peers.erl.argv(WINDOW));

// Ablations: the (before, else current) token-bucket and fixed-window scripts with one part taken
// out. They do not compute the same thing: they say what that part costs. An ablation whose part the
// script does not have (written another way) is left out, with a note.
const base = before ?? now;
const T0 = Math.floor(Date.now() / 1000);
const fakeTime = () => [...OURS_ARGV, String(T0), '123456'];
const ABLATIONS = [
  ['no TIME (time from ARGV)', (l) => l.replaceAll("redis.call('TIME')", '{ARGV[6], ARGV[7]}'), fakeTime],
  ['no PEXPIRE', (l) => l.replace(/redis\.call\('PEXPIRE', key, [^\n]*\)/g, '')],
  ['no %.17g (raw numbers)', (l) => l.replaceAll("string.format('%.17g', ", '(')],
  ['no HMGET (as if empty)', (l) => l.replace(/redis\.call\('HMGET', key, ('[a-c]', )*'[a-c]'\)/, '{}')],
  ['no HSET', (l) => l.replace(/^redis\.call\('HSET'.*$/m, '')],
];
for (const alg of ['token-bucket', 'fixed-window']) {
  for (const [what, edit, argv] of ABLATIONS) {
    const lua = edit(base.exact[alg]);
    if (lua === base.exact[alg]) console.error(`ablation "${alg} ${what}" left out: the script has no such part`);
    else add(`ablate ${alg}`, `${alg} ${what}`, lua, argv);
  }
}
// Fixed window kept in a string "start:count" with SET PX (one write instead of HSET + PEXPIRE).
add(
  'ablate fixed-window',
  'fixed-window as GET + SET PX string',
  `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local start = math.floor(now / window) * window
local v = redis.call('GET', key)
local count = 0
if v then
  local i = string.find(v, ':', 1, true)
  if tonumber(string.sub(v, 1, i - 1)) == start then count = tonumber(string.sub(v, i + 1)) end
end
local allowed = 0
if count + cost <= limit then count = count + cost allowed = 1 end
local reset = start + window - now
redis.call('SET', key, string.format('%.17g', start) .. ':' .. count, 'PX', math.ceil(reset) + 1)
local retry = 0
if allowed == 0 then if cost > limit then retry = -1 else retry = math.ceil(reset) end end
return {allowed, math.max(0, limit - count), limit, math.ceil(reset), retry, 0}
`,
);

// Micro scripts: one part alone, ARGV as ours unless said.
const PRE = 'local key = KEYS[1]\n';
const micro = (name, lua, argv) => add('micro', name, PRE + lua, argv);
micro('return 1 (1 ARGV)', 'return 1', () => ['1']);
micro('return 1 (5 ARGV)', 'return 1');
micro('return 1 (10 ARGV)', 'return 1', () => [...OURS_ARGV, ...OURS_ARGV]);
micro('5× tonumber(ARGV)', 'local a, b, c, d, e = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\nreturn 1');
micro('return {6 integers}', 'return {1, 2, 3, 4, 5, 6}');
micro(
  '4 local functions',
  `local EPS = 1e-9
local function f(x) return string.format('%.17g', x) end
local function fl(x) if x <= 0 then return 0 end return math.floor(x + EPS) end
local function ms(x) if x <= 0 then return 0 end return math.ceil(x) end
local function keep(ttl) redis.call('PEXPIRE', key, math.ceil(ttl) + 1) end
return 1`,
);
micro('2× %.17g', "local x = tonumber(ARGV[1]) + 0.123456789\nlocal a = string.format('%.17g', x * 1764)\nlocal b = string.format('%.17g', x * 1.5)\nreturn 1");
micro('2× tostring', 'local x = tonumber(ARGV[1]) + 0.123456789\nlocal a = tostring(x * 1764)\nlocal b = tostring(x * 1.5)\nreturn 1');
micro('2× %d', "local x = tonumber(ARGV[1]) + 0.123456789\nlocal a = string.format('%d', x * 1764)\nlocal b = string.format('%d', x * 1.5)\nreturn 1");
micro('2× tonumber(13-digit integer)', "local a = tonumber('1764777600000')\nlocal b = tonumber('1764777660000')\nreturn 1");
micro('2× tonumber(17 digits, fraction)', "local a = tonumber('999999999.99998331')\nlocal b = tonumber('1764777600123.4561')\nreturn 1");
micro('redis.replicate_commands()', 'redis.replicate_commands()\nreturn 1');
micro('TIME', "local t = redis.call('TIME')\nreturn 1");
micro('TIME + now', "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\nreturn 1");
micro('PTTL', "redis.call('PTTL', key)\nreturn 1");
micro('HMGET 2 fields', "redis.call('HMGET', key, 'a', 'b')\nreturn 1");
micro('GET', "redis.call('GET', key)\nreturn 1");
micro('HSET 2 fields', "redis.call('HSET', key, 'a', '1764777600000', 'b', '12345')\nreturn 1");
micro('HSET 2 fields + PEXPIRE', "redis.call('HSET', key, 'a', '1764777600000', 'b', '12345')\nredis.call('PEXPIRE', key, 60000)\nreturn 1");
micro(
  'HSET 2 fields + PEXPIRE %d string',
  "redis.call('HSET', key, 'a', '1764777600000', 'b', '12345')\nredis.call('PEXPIRE', key, string.format('%d', 60000))\nreturn 1",
);
micro('HSET 1 field', "redis.call('HSET', key, 'b', '12345')\nreturn 1");
micro('HSET 1 field, number', "redis.call('HSET', key, 'b', 12345)\nreturn 1");
micro('SET PX', "redis.call('SET', key, '1764777600000:12345', 'PX', 60000)\nreturn 1");
micro('INCR', "redis.call('INCR', key)\nreturn 1");

const selected = opt.only ? variants.filter((v) => new RegExp(opt.only).test(`${v.group} ${v.name}`)) : variants;

// ---------------------------------------------------------------------------------------------

/** Main-thread run time (ns) from schedstat, and process utime+stime (ticks) from stat. */
function cpu(pid) {
  const sched = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ns: sched, ticks: Number(f[11]) + Number(f[12]) };
}
const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux

/** commandstats as { command: { calls, usec } }. */
async function commandstats(c) {
  const out = {};
  for (const m of (await c.info('commandstats')).matchAll(/cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/g))
    out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

/** `n` EVALSHA calls of `sha`, CONC in flight, keys from `keyOf(i)`. */
async function drive(client, sha, argv, n, keyOf) {
  let next = 0;
  const args = argv();
  const one = async () => {
    for (let i = next++; i < n; i = next++) await client.evalsha(sha, 1, keyOf(i), ...args);
  };
  await Promise.all(Array.from({ length: CONC }, one));
}

/** redis-server under callgrind; `instructions(fn)` = Ir the server ran during `fn`. */
async function startCallgrind() {
  const dir = mkdtempSync(join(tmpdir(), 'autom8-lua-cg-'));
  const port = await freePort();
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dir}/cg.%p`,
      '--dump-line=no',
      '--compress-strings=no',
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  if (!(await accepting(port, child, 600, 100))) throw new Error('redis-server under callgrind did not start');
  const control = (flag) => execFileSync('callgrind_control', [flag, String(child.pid)], { stdio: 'ignore' });
  let dumps = 0;
  return {
    port,
    pid: child.pid,
    async instructions(fn) {
      control('-z');
      await fn();
      control('-d');
      dumps++;
      const file = readdirSync(dir).find((f) => f === `cg.${child.pid}.${dumps}`);
      if (!file) throw new Error(`callgrind dump ${dumps} not found in ${dir}`);
      const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
      return Number(m[1]);
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => (rmSync(dir, { recursive: true, force: true }), resolve()));
        child.kill('SIGTERM');
      }),
  };
}

const redis = opt.callgrind ? await startCallgrind() : await startRedis();
const client = new Redis(redis.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
const admin = new Redis(redis.port, '127.0.0.1');
await new Promise((r) => client.once('ready', r));
const results = new Map(); // name -> population -> [per-round]
try {
  for (const v of selected) v.sha = await admin.script('LOAD', v.lua);
  for (let round = 0; round < ROUNDS; round++) {
    for (const population of ['hot', 'cold']) {
      const order = round % 2 === 0 ? selected : [...selected].reverse();
      for (const v of order) {
        const tag = `${v.name}:${population}:${round}`;
        const keyOf = population === 'hot' ? () => `hot:${v.name}` : (i) => `cold:${tag}:${i}`;
        await drive(client, v.sha, v.argv, WARM, population === 'hot' ? keyOf : (i) => `warm:${tag}:${i}`);
        const s0 = await commandstats(admin);
        const c0 = cpu(redis.pid);
        const t0 = performance.now();
        const ir = opt.callgrind ? await redis.instructions(() => drive(client, v.sha, v.argv, CALLS, keyOf)) : NaN;
        if (!opt.callgrind) await drive(client, v.sha, v.argv, CALLS, keyOf);
        const t1 = performance.now();
        const c1 = cpu(redis.pid);
        const s1 = await commandstats(admin);
        const calls = s1.evalsha.calls - s0.evalsha.calls;
        let inner = 0;
        for (const [cmd, s] of Object.entries(s1)) {
          if (cmd === 'evalsha' || cmd === 'info') continue;
          inner += s.usec - (s0[cmd]?.usec ?? 0);
        }
        const per = (cmd) => ((s1[cmd]?.calls ?? 0) - (s0[cmd]?.calls ?? 0)) / calls;
        const r = {
          calls,
          scriptUs: (s1.evalsha.usec - s0.evalsha.usec) / calls,
          innerUs: inner / calls,
          mainCpuUs: (c1.ns - c0.ns) / 1e3 / calls,
          procCpuUs: ((c1.ticks - c0.ticks) * TICK_US) / calls,
          perSec: (calls / (t1 - t0)) * 1e3,
          irPerCall: ir / calls,
          pexpirePerCall: per('pexpire'),
          pttlPerCall: per('pttl'),
        };
        if (!results.has(v.name)) results.set(v.name, { hot: [], cold: [] });
        results.get(v.name)[population].push(r);
        if (population === 'cold') await admin.flushall();
        process.stderr.write('.');
      }
    }
    process.stderr.write(` round ${round + 1}/${ROUNDS}\n`);
  }
} finally {
  client.disconnect();
  admin.disconnect();
  await redis.stop();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rows = selected.map((v) => {
  const r = results.get(v.name);
  const m = (pop, k) => median(r[pop].map((x) => x[k]));
  const row = { group: v.group, name: v.name };
  for (const pop of ['hot', 'cold'])
    for (const k of ['scriptUs', 'innerUs', 'mainCpuUs', 'procCpuUs', 'perSec', 'irPerCall', 'pexpirePerCall', 'pttlPerCall']) row[`${pop}.${k}`] = m(pop, k);
  return row;
});
const f = (x, d = 2) => x.toFixed(d);
if (opt.callgrind) {
  console.log(
    `\nredis-server instructions per EVALSHA under callgrind (Ir, the whole server: network, parsing, script): median of ${ROUNDS} rounds of ${CALLS} calls, ${CONC} in flight\n`,
  );
  console.log('| group | script | hot Ir/call | hot PEXPIRE/call | cold Ir/call |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(`| ${r.group} | ${r.name} | ${f(r['hot.irPerCall'], 0)} | ${f(r['hot.pexpirePerCall'], 3)} | ${f(r['cold.irPerCall'], 0)} |`);
}
console.log(`\nRedis cost per EVALSHA: median of ${ROUNDS} rounds of ${CALLS} calls, ${CONC} in flight; µs per call`);
console.log("script = commandstats usec (inner = its commands' share); main CPU = main thread (schedstat); proc CPU = /proc/stat\n");
console.log(
  '| group | script | hot script | hot inner | hot main CPU | hot proc CPU | hot PEXPIRE/call | cold script | cold inner | cold main CPU | cold proc CPU |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.group} | ${r.name} | ${f(r['hot.scriptUs'])} | ${f(r['hot.innerUs'])} | ${f(r['hot.mainCpuUs'])} | ${f(r['hot.procCpuUs'], 1)} | ${f(r['hot.pexpirePerCall'], 3)} | ${f(r['cold.scriptUs'])} | ${f(r['cold.innerUs'])} | ${f(r['cold.mainCpuUs'])} | ${f(r['cold.procCpuUs'], 1)} |`,
  );
}
if (opt.json)
  writeFileSync(
    opt.json,
    JSON.stringify({ calls: CALLS, rounds: ROUNDS, concurrency: CONC, before: opt.before, rows, raw: Object.fromEntries(results) }, null, 2),
  );
