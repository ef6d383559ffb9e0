// Store faults under steady load (issue #8): an app whose rate limit (RedisRateLimitStore) and
// response cache (RedisCacheStore) live in a real redis-server reached through a TCP proxy, while
// ~150 req/s of distinct clients hit a limited route and a cached route. Phases: healthy → Redis
// SIGKILLed → restarted → slowed past the store's time budget (proxy delay) → healed →
// blackholed (proxy holds every byte) → resumed; the default policy (`fallback`) on Express goes
// through all of them, `fail-closed` on Koa through kill and slow, `fail-open` on Express's front
// mode through kill. In every phase:
// - the documented outage policy holds, measured by 15 back-to-back requests of a fresh client:
//   10 allowed on Redis (10/min); while degraded, `fallback` with expectedInstances 2 allows 5
//   (the local limit, halved), `fail-open` 15, `fail-closed` none (429, Retry-After = the probe
//   interval); in the steady load, fresh clients are never refused except by `fail-closed`, which
//   refuses every one once degraded;
// - no request takes longer than the stores' time budgets + a margin (the proxy's delay is far
//   above it, so a request that waited for Redis would show), none fails or gets a 5xx;
// - store.degraded / store.recovered are published (node:diagnostics_channel, in the server),
//   with a warning log line each;
// - limiting on Redis resumes within a bound after Redis comes back;
// - the server process has no uncaught exception or unhandled rejection, and is alive at the end.
// Under load a store call can outlast its budget with Redis up, and the guard then rightly degrades
// for a while: checks that expect Redis's limit, and each fault, first wait for the guard to be back
// on Redis (from its store.* events) instead of assuming it is.
// Runs in the serial phase: it bounds latencies under load, and its steady load and process
// start-ups would otherwise take the CPU from tests running beside it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startDelayProxy, type DelayProxy } from '../support/delay-proxy';
import { startRedis, type TestRedis } from '../support/redis-server';
import { seededRandom } from '../support/seeded-random';

const APP = require.resolve('./apps/store-faults-app.mjs');
const RL_TIMEOUT_MS = 100; // RedisRateLimitStore's default budget (docs/rate-limiting.md)
const CACHE_TIMEOUT_MS = 50; // the response cache's default shared-tier budget (docs/caching.md)
const PROBE_MS = 200; // shorter than the 1 s default only to keep the test short
/**
 * Slowest acceptable request: the rate-limit and cache budgets can both be spent on one request,
 * plus 500 ms for a loaded 2-core host. A request that waited for Redis would take ≥ SLOW_MS.
 */
const MAX_LATENCY_MS = RL_TIMEOUT_MS + CACHE_TIMEOUT_MS + 500;
const SLOW_MS = 1500; // the proxy's reply delay in the "slowed" phase, far above every budget
/**
 * Redis is used again within: ioredis's reconnect backoff (50 ms × attempt, ~300 ms after a 1 s
 * outage) or the slowed phase's replies still queued in the proxy (≤ SLOW_MS), then 3 probes
 * PROBE_MS apart (recoverAfterSuccesses), plus 1.5 s for a loaded host.
 */
const RECOVERY_BOUND_MS = SLOW_MS + 3 * PROBE_MS + 1500;
const HOLD_MS = 800; // load held in each phase before the limit check
const CONNECTIONS = 6;
const RATE_PER_CONNECTION = 25; // req/s: ~150 req/s in all

type Policy = 'fallback' | 'fail-open' | 'fail-closed';
type Fault = 'kill' | 'slow' | 'blackhole';
/** Of 15 back-to-back requests from a fresh client, how many the documented policy allows. */
const ALLOWED = { redis: 10, fallback: 5, 'fail-open': 15, 'fail-closed': 0 } as const;
const SCENARIOS: { adapter: string; policy: Policy; faults: Fault[] }[] = [
  { adapter: 'express', policy: 'fallback', faults: ['kill', 'slow', 'blackhole'] },
  { adapter: 'koa', policy: 'fail-closed', faults: ['kill', 'slow'] },
  { adapter: 'express-front', policy: 'fail-open', faults: ['kill'] },
];

interface Sample {
  phase: string;
  /** When the request was sent (performance.now() of the test process). */
  at: number;
  kind: 'limited' | 'cached' | 'check';
  status: number;
  ms: number;
  xcache: string | undefined;
}
interface StoreEvent {
  type: 'store.degraded' | 'store.recovered';
  store: string;
  at: number;
  phase: string;
}

/** One GET; status 0 when the request failed or got no answer within 5 s. */
function get(
  agent: http.Agent,
  url: string,
  client: string,
): Promise<{ status: number; ms: number; xcache: string | undefined; retryAfter: string | undefined }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, h: http.IncomingHttpHeaders = {}) =>
      resolve({ status, ms: performance.now() - t0, xcache: h['x-cache'] as string | undefined, retryAfter: h['retry-after'] });
    const req = http.get(url, { agent, headers: { 'x-forwarded-for': client } }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0, res.headers));
      res.on('error', () => done(0));
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => done(0));
  });
}

let clientSeq = 0;
/** A client address never used before (10.0.0.0/8 holds 16 M of them). */
const freshClient = () => {
  const n = ++clientSeq;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** The app in its own process, and what it reported over IPC. */
interface Server {
  child: ChildProcess;
  base: string;
  events: StoreEvent[];
  fatal: string[];
  stderr: string[];
  phase: string;
}

async function startServer(adapter: string, proxyPort: number, outage: object, cacheOutage: object): Promise<Server> {
  const args = [adapter, String(proxyPort), JSON.stringify(outage), JSON.stringify(cacheOutage)];
  const child = fork(APP, args, { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const s: Server = { child, base: '', events: [], fatal: [], stderr: [], phase: 'startup' };
  child.stderr!.on('data', (d) => s.stderr.push(String(d)));
  child.on('message', (m: any) => {
    if (m.type === 'event') s.events.push({ type: m.event.type, store: m.event.store, at: performance.now(), phase: s.phase });
    if (m.type === 'fatal') s.fatal.push(`${m.kind}: ${m.message}`);
  });
  s.base = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: any) => m.type === 'listening' && resolve(`http://127.0.0.1:${m.port}`));
    child.once('exit', (code) => reject(new Error(`store-faults app exited with ${code}: ${s.stderr.join('')}`)));
  });
  return s;
}

/** Steady paced load on keep-alive connections until stopped; every answer is a sample. */
function startLoad(s: Server, samples: Sample[]): () => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const rand = seededRandom(8);
  let running = true;
  const loop = async () => {
    const start = performance.now();
    for (let i = 0; running; i++) {
      const wait = start + (i * 1000) / RATE_PER_CONNECTION - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const cached = rand() < 0.4;
      // Random ids: mostly local misses, so the cache keeps asking its shared tier.
      const path = cached ? `/cached/${Math.floor(rand() * 100_000)}` : '/limited';
      const phase = s.phase;
      const at = performance.now();
      const r = await get(agent, s.base + path, freshClient());
      samples.push({ phase, at, kind: cached ? 'cached' : 'limited', status: r.status, ms: r.ms, xcache: r.xcache });
    }
  };
  const loops = Array.from({ length: CONNECTIONS }, loop);
  return async () => {
    running = false;
    await Promise.all(loops);
    agent.destroy();
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** A scenario's Redis, proxy and server. */
interface Rig {
  redis: TestRedis;
  proxy: DelayProxy;
  server: Server;
}

async function startRig(adapter: string, policy: Policy): Promise<Rig> {
  const redis = await startRedis();
  const proxy = await startDelayProxy(redis.port);
  // fallback: the local limit is the Redis one ÷ expectedInstances, so fallback and Redis differ.
  const outage = { policy, probeIntervalMs: PROBE_MS, ...(policy === 'fallback' ? { expectedInstances: 2 } : {}) };
  const server = await startServer(adapter, proxy.port, outage, { probeIntervalMs: PROBE_MS });
  return { redis, proxy, server };
}

// Every scenario's processes start together (starting node processes is most of the setup time);
// idle until their turn, they cost nothing, and the scenarios then run one after the other.
const rigs = SCENARIOS.map(({ adapter, policy }) => startRig(adapter, policy));
for (const r of rigs) r.catch(() => {}); // reported by the test that awaits it
after(async () => {
  for (const r of await Promise.allSettled(rigs)) {
    if (r.status !== 'fulfilled') continue;
    r.value.server.child.kill('SIGKILL');
    await r.value.proxy.close();
    await r.value.redis.stop();
  }
});

SCENARIOS.forEach(({ adapter, policy, faults }, index) => {
  describe(`store faults on ${adapter}, outage policy ${policy} (${faults.join(', ')})`, () => {
    test('the policy holds through each fault; limiting resumes; nothing hangs or crashes', { timeout: 30_000 }, async (t) => {
      const { redis, proxy, server: s } = await rigs[index]!;
      const samples: Sample[] = [];
      const checkAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const degradedAllowed = ALLOWED[policy];
      const problems: string[] = [];
      const recoveries: Record<string, number> = {};

      /**
       * Whether the rate-limit store's guard is degraded, as its last transition says. On a loaded host
       * a store call can outlast its 100 ms budget while Redis is up, and the guard then rightly
       * degrades until probes bring it back: "Redis is up" does not mean "the guard is on Redis".
       */
      const rlDegraded = () => {
        for (let i = s.events.length - 1; i >= 0; i--) if (s.events[i]!.store === 'ratelimit:redis') return s.events[i]!.type === 'store.degraded';
        return false;
      };
      /** Waits (bounded) until the guard is back on Redis after such a transient; false if it is not. */
      const onRedis = async (what: string): Promise<boolean> => {
        const t0 = performance.now();
        while (rlDegraded()) {
          if (performance.now() - t0 > RECOVERY_BOUND_MS) {
            problems.push(`${what}: the rate-limit store stayed degraded ${RECOVERY_BOUND_MS} ms with Redis up`);
            return false;
          }
          await sleep(10);
        }
        return true;
      };

      /** 15 back-to-back requests of a fresh client: how many were allowed, and the 429s' Retry-After. */
      const limitCheck = async (expected: number, what: string) => {
        // A transient degradation (a call past the budget on a busy host, see rlDegraded) may come
        // before or during a check; such an attempt is retried, a policy that is wrong fails all three.
        const onRedisExpected = expected === ALLOWED.redis;
        const attempts: string[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          if (onRedisExpected && !(await onRedis(what))) return;
          const client = freshClient();
          const eventsBefore = s.events.length;
          let allowed = 0;
          const retryAfter = new Set<string | undefined>();
          for (let i = 0; i < 15; i++) {
            const at = performance.now();
            const r = await get(checkAgent, `${s.base}/limited`, client);
            samples.push({ phase: s.phase, at, kind: 'check', status: r.status, ms: r.ms, xcache: undefined });
            if (r.status === 200) allowed++;
            else if (r.status === 429) retryAfter.add(r.retryAfter);
            else attempts.push(`status ${r.status}`);
          }
          const ra = [...retryAfter].join(',');
          attempts.push(`${allowed}/15 allowed, Retry-After ${ra || '-'}`);
          if (allowed === expected) {
            // fail-closed answers with the probe interval as Retry-After (whole seconds, ≥ 1).
            const probeSec = String(Math.max(1, Math.ceil(PROBE_MS / 1000)));
            if (expected === 0 && ra !== probeSec) problems.push(`${what}: fail-closed Retry-After ${ra}, expected ${probeSec}`);
            return;
          }
          if (s.events.length === eventsBefore && !(onRedisExpected && rlDegraded())) break; // no transition during the check: a real failure
        }
        problems.push(`${what}: expected ${expected}/15 allowed, got ${attempts.join('; ')}`);
      };
      const degradedWindows: [number, number][] = []; // fail-closed refuses every fresh client in these
      const waitFor = async (type: StoreEvent['type'], store: string, since: number, boundMs: number, what: string): Promise<number> => {
        const t0 = performance.now();
        while (performance.now() - t0 < boundMs) {
          const e = s.events.slice(since).find((ev) => ev.type === type && ev.store === store);
          if (e !== undefined) return e.at;
          await sleep(10);
        }
        problems.push(`${what}: no ${type} event for ${store} within ${boundMs} ms`);
        return NaN;
      };
      const phase = async (name: string, fault: () => void | Promise<void>, then: 'degraded' | 'recovered') => {
        // A fault shows as a transition only from the healthy state: wait out a transient degradation first.
        if (then === 'degraded') await onRedis(`before ${name}`);
        s.phase = name;
        const since = s.events.length;
        const t0 = performance.now();
        await fault();
        if (then === 'degraded') {
          const at = await waitFor('store.degraded', 'ratelimit:redis', since, 2000, name);
          await sleep(HOLD_MS);
          await limitCheck(degradedAllowed, name);
          degradedWindows.push([at, performance.now()]);
        } else {
          // Limiting "resumes" when the guard is back on Redis and a fresh client gets Redis's limit.
          await waitFor('store.recovered', 'ratelimit:redis', since, RECOVERY_BOUND_MS, name);
          recoveries[name] = Math.round(performance.now() - t0);
          await limitCheck(ALLOWED.redis, name);
          await sleep(HOLD_MS / 2);
        }
      };

      s.phase = 'healthy';
      const stopLoad = startLoad(s, samples);
      try {
        await sleep(HOLD_MS);
        await limitCheck(ALLOWED.redis, 'healthy');
        if (faults.includes('kill')) {
          await phase('redis killed', () => redis.kill(), 'degraded');
          await phase('redis restarted', () => redis.restart(), 'recovered');
        }
        if (faults.includes('slow')) {
          await phase('redis slowed', () => proxy.setDelay(SLOW_MS), 'degraded');
          await phase('redis healed', () => proxy.setDelay(0), 'recovered');
        }
        if (faults.includes('blackhole')) {
          await phase('redis blackholed', () => proxy.pause(), 'degraded');
          await phase('redis resumed', () => proxy.resume(), 'recovered');
        }
      } finally {
        await stopLoad();
        checkAgent.destroy();
      }

      // Per-phase figures of the steady load (and the checks).
      const phases = [...new Set(samples.map((x) => x.phase))];
      for (const name of phases) {
        const ps = samples.filter((x) => x.phase === name);
        const load = ps.filter((x) => x.kind !== 'check');
        const byStatus: Record<number, number> = {};
        for (const x of ps) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
        const ms = ps.map((x) => x.ms);
        const maxMs = Math.max(...ms);
        t.diagnostic(
          `${name}: ${load.length} load requests, statuses ${JSON.stringify(byStatus)}, p50 ${pct(ms, 50).toFixed(1)} ms, ` +
            `p99 ${pct(ms, 99).toFixed(1)} ms, max ${maxMs.toFixed(1)} ms${recoveries[name] !== undefined ? `, Redis limiting back after ${recoveries[name]} ms` : ''}`,
        );
        if (load.length < 20) problems.push(`${name}: only ${load.length} load requests (load not held)`);
        if (!(maxMs < MAX_LATENCY_MS)) problems.push(`${name}: a request took ${maxMs.toFixed(0)} ms (bound ${MAX_LATENCY_MS} ms)`);
        const bad = ps.filter((x) => x.status !== 200 && x.status !== 429);
        if (bad.length > 0) problems.push(`${name}: ${bad.length} requests failed or got another status: ${[...new Set(bad.map((x) => x.status))]}`);
        // A fresh client is always within its limit: refused only by fail-closed while degraded.
        const refusedFresh = load.filter((x) => x.status === 429).length;
        if (policy !== 'fail-closed' && refusedFresh > 0) problems.push(`${name}: ${refusedFresh} fresh clients refused under ${policy}`);
        const cached = load.filter((x) => x.kind === 'cached' && x.status === 200);
        if (cached.some((x) => x.xcache === undefined)) problems.push(`${name}: a cached-route answer without X-Cache`);
      }
      if (policy === 'fail-closed') {
        const inOutage = samples.filter((x) => x.kind !== 'check' && degradedWindows.some(([a, b]) => x.at > a && x.at < b));
        const allowed = inOutage.filter((x) => x.status !== 429).length;
        if (inOutage.length === 0 || allowed > 0) problems.push(`fail-closed while degraded: ${allowed} of ${inOutage.length} fresh clients allowed`);
      }
      // Both stores reported their outages and recoveries (the cache only sees Redis when requests reach it).
      const count = (type: string, store: string) => s.events.filter((e) => e.type === type && e.store === store).length;
      const rl = [count('store.degraded', 'ratelimit:redis'), count('store.recovered', 'ratelimit:redis')];
      const cache = [count('store.degraded', 'cache:redis'), count('store.recovered', 'cache:redis')];
      t.diagnostic(`events: ratelimit:redis degraded ${rl[0]} / recovered ${rl[1]}; cache:redis degraded ${cache[0]} / recovered ${cache[1]}`);
      if (rl[0]! < faults.length || rl[1]! < faults.length) problems.push(`ratelimit:redis transitions ${rl} for ${faults.length} faults`);
      // fail-closed refuses before the cache is reached, so its shared tier may never see the outage.
      if (policy !== 'fail-closed' && (cache[0]! < 1 || cache[1]! < 1)) problems.push(`cache:redis transitions ${cache}`);
      // Each transition is also a warning log line (the app's logger).
      const warnings = await new Promise<string[]>((resolve) => {
        s.child.on('message', (m: any) => m.type === 'warnings' && resolve(m.warnings));
        s.child.send('warnings');
      });
      const logged = (re: RegExp) => warnings.filter((w) => re.test(w)).length;
      const lines = [logged(/store ratelimit:redis unavailable/), logged(/store ratelimit:redis recovered/)];
      if (lines[0] !== rl[0] || lines[1] !== rl[1]) problems.push(`warning lines ${lines} for events ${rl}`);

      // The server lived through it, without an uncaught exception or unhandled rejection.
      const alive = await get(new http.Agent(), `${s.base}/cached/alive`, freshClient());
      assert.equal(s.child.exitCode, null, 'the server process died');
      assert.equal(alive.status, 200);
      assert.deepEqual(s.fatal, [], 'uncaught exceptions / unhandled rejections in the server');
      assert.deepEqual(problems, []);
    });
  });
});
