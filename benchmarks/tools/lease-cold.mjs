// Client CPU of cold rate-limit checks (a new key each), one process, the Redis store exact or leased,
// optionally on an ioredis client with enableAutoPipelining (docs/fleet.md). Starts its own
// redis-server unless given a port. Prints one JSON line: CPU µs per check, checks/s, GC ms per 1,000.
// Usage: node benchmarks/tools/lease-cold.mjs <exact|leased> <inflight> <warm-up> <checks> [port|0] [ap]
// Under callgrind: valgrind --tool=callgrind node --single-threaded --hash-seed=1 --random-seed=1 <this> ...
import { createRequire } from 'node:module';
import { PerformanceObserver, performance } from 'node:perf_hooks';
const require = createRequire(import.meta.url);
const { startRedis } = await import('../lib/redis.mjs');
const { clientAddress: addr } = await import('../lib/fleet.mjs');
const [mode, inflight, warm, n, portArg, ap] = process.argv.slice(2);
const Redis = require('ioredis');
let redis;
let port = Number(portArg);
if (!port) {
  redis = await startRedis();
  port = redis.port;
}
const client = new Redis(port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: ap === 'ap' });
await new Promise((r) => client.once('ready', r));
const { RedisRateLimitStore } = require('@autom8/redis');
const quiet = { info() {}, warn() {}, error() {} };
const store = new RedisRateLimitStore({ client, logger: quiet, outage: { timeoutMs: 60_000 }, lease: mode === 'leased' ? true : undefined });
const policy = { name: 'ir', algorithm: 'token-bucket', limit: 1e9, windowMs: 60_000, burst: 1e9, maxDelayMs: 0 };
let i = 0;
const run = `${mode}-${process.pid}`;
async function go(count) {
  let left = count;
  const loop = async () => {
    while (left-- > 0) {
      const r = store.consume(`${run}:${addr(i++)}`, policy, 1);
      if (typeof r.then === 'function') await r;
    }
  };
  await Promise.all(Array.from({ length: Number(inflight) }, loop));
}
await go(Number(warm));
let gcMs = 0,
  gcs = 0;
const obs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    gcMs += e.duration;
    gcs++;
  }
});
obs.observe({ entryTypes: ['gc'] });
const c0 = process.cpuUsage();
const t0 = performance.now();
await go(Number(n));
const c1 = process.cpuUsage(c0);
const t1 = performance.now();
await new Promise((r) => setTimeout(r, 50));
obs.disconnect();
console.log(
  JSON.stringify({
    mode,
    ap: ap === 'ap',
    usPerCheck: +((c1.user + c1.system) / Number(n)).toFixed(2),
    user: +(c1.user / Number(n)).toFixed(2),
    sys: +(c1.system / Number(n)).toFixed(2),
    checksPerSec: Math.round(Number(n) / ((t1 - t0) / 1000)),
    gcMsPer1k: +((gcMs / Number(n)) * 1000).toFixed(2),
    gcs,
    leaseKeys: store.leaseKeys,
  }),
);
await store.close();
client.disconnect();
await redis?.stop();
