// A Redis Cluster master SIGKILLed under load, through the whole path: HTTP → autom8Express → the
// Redis rate-limit store → ioredis Cluster. Two app instances share the cluster. While the
// master's replica takes over, the configured outage policy answers (fail-open admits an
// exhausted client, fail-closed refuses a fresh one), no request waits much past the store's time
// budget, nothing is left unhandled, and once the replica is promoted the two instances share one
// counter again.
import http, { type Server } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from 'ioredis';
import { subscribe, type Autom8Event, type RateLimitAlgorithm } from '@autom8/core';
import { engineOf, type Autom8 } from '@autom8/core/adapter';
import { autom8Express } from '@autom8/express';
import { RedisRateLimitStore, type RedisOutageOptions } from '@autom8/redis';
import { startRedisCluster, type TestRedisCluster } from '../../../test/support/redis-cluster';
import { close, listen } from '../../../test/support/http';
import { clusterClient } from './cluster-client';

const require = createRequire(__filename);
const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Roomy enough that a healthy call on a loaded 2-core machine never runs over it (a false timeout
// would apply the policy outside the gap and spoil the counts); the file runs in the serial phase
// for the same reason.
const TIMEOUT_MS = 500;
// A request may wait for the store's budget plus scheduling; one held by ioredis's own retries
// (16 redirections × 100 ms) or by its offline queue until the failover ends would take longer.
const HANG_MS = TIMEOUT_MS + 1500;

interface Instance {
  server: Server;
  engine: Autom8;
  base: string;
  store: RedisRateLimitStore;
  client: Cluster;
  /** The rate-limit policy name, part of every Redis key. */
  policy: string;
}

interface Sample {
  at: number;
  ms: number;
  status: number;
  remaining: number;
}

let cluster: TestRedisCluster;
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);

before(async () => {
  cluster = await startRedisCluster();
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
});
after(async () => {
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
  await cluster.stop();
});

/** An app instance; `policy` names its limit, so each test's pair has keys of its own. */
async function instance(name: string, policy: string, rate: number, outage: RedisOutageOptions, algorithm: RateLimitAlgorithm = 'gcra'): Promise<Instance> {
  const client = await clusterClient(cluster);
  const store = new RedisRateLimitStore({
    client,
    logger: quiet,
    outage: { timeoutMs: TIMEOUT_MS, probeIntervalMs: 200, recoverAfterSuccesses: 2, ...outage },
  });
  const express = require('express');
  const app = express();
  const mw = autom8Express({
    logger: quiet,
    name,
    rateLimit: { name: policy, rate, per: 'day', algorithm, key: { header: 'x-client' }, headers: 'draft-6', store },
  });
  app.use(mw);
  app.get('/r', (_req: any, res: any) => res.send('ok'));
  const server = http.createServer(app);
  return { server, engine: engineOf(mw)!, base: await listen(server), store, client, policy };
}

async function shutdown(i: Instance): Promise<void> {
  await close(i.server);
  await i.engine.close();
  i.client.disconnect();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One GET /r as `client`; its status, `RateLimit-Remaining` and how long it took. */
function get(base: string, client: string): Promise<Sample> {
  const url = new URL(`${base}/r`);
  const at = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: url.pathname, agent, headers: { 'x-client': client } }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ at, ms: performance.now() - at, status: res.statusCode ?? 0, remaining: Number(res.headers['ratelimit-remaining'] ?? NaN) }),
        );
      })
      .on('error', reject);
  });
}

/** A client key of `pair` whose rate-limit key (`autom8:rl:{<policy>:h:<key>}:<algorithm>`) falls in one of `ranges`. */
async function keyIn(pair: [Instance, Instance], stem: string, ranges: [number, number][]): Promise<{ key: string; slot: number }> {
  for (let i = 0; ; i++) {
    const key = `${stem}-${i}`;
    const slot = await cluster.slotOf(`autom8:rl:{${pair[0].policy}:h:${key}}`);
    if (ranges.some(([a, b]) => slot >= a && slot <= b)) return { key, slot };
  }
}

/** A client key served by a master that still has a replica to fail over to. */
async function hotKey(pair: [Instance, Instance], stem: string): Promise<{ key: string; slot: number }> {
  return keyIn(
    pair,
    stem,
    (await cluster.masters()).filter((m) => m.replicas.length > 0).flatMap((m) => m.slots),
  );
}

/**
 * Runs `check` (attempt 0, 1, 2) until no store call ran over its time budget meanwhile. Such a
 * call means this machine stalled, not Redis; the outage policy then rightly answered, but the
 * check is about counts kept in Redis. Waits for the stores to be back on Redis between attempts.
 */
async function onRedis<T>(pair: [Instance, Instance], check: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    for (let i = 0; i < 200 && pair.some((x) => x.store.guard.degraded); i++) {
      await get(pair[i % 2]!.base, 'probe'); // probes only go out with requests
      await sleep(50);
    }
    const failures = pair.map((x) => x.store.guard.failures);
    const result = await check(attempt);
    if (attempt === 2 || pair.every((x, i) => x.store.guard.failures === failures[i])) return result;
  }
}

/**
 * One request per master's slots on each instance, so every client has connected to every master
 * and loaded the scripts there: a cold first call must not run over the time budget (fail-open
 * would then admit it, and the counts below would be off).
 */
async function warmUp(pair: [Instance, Instance]): Promise<void> {
  for (const m of await cluster.masters()) {
    const { key } = await keyIn(pair, 'warm', m.slots);
    for (const inst of pair) await get(inst.base, key);
  }
  for (const inst of pair) assert.equal(inst.store.guard.failures, 0, 'warm-up reached Redis');
}

/**
 * Kills the master of `slot` while `workers` loops request `key` on both instances in turn; keeps
 * the load on until both stores are back on Redis. Resolves to every request's sample and the
 * milestones.
 */
async function killUnderLoad(pair: [Instance, Instance], key: string, slot: number) {
  const samples: Sample[] = [];
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) samples.push(await get(pair[n++ % 2]!.base, key));
  };
  const workers = Array.from({ length: 6 }, worker);
  await sleep(300);
  const killedAt = performance.now();
  const killed = await cluster.killMaster({ slot });
  const failoverMs = await cluster.waitForFailover();
  const deadline = Date.now() + 20_000;
  while (pair.some((i) => i.store.guard.degraded || i.store.guard.outages === 0) && Date.now() < deadline) await sleep(20);
  const recoveredAt = performance.now();
  await sleep(300);
  running = false;
  await Promise.all(workers);
  return { samples, killedAt, recoveredAt, failoverMs, killed };
}

function report(t: TestContext, what: string, r: Awaited<ReturnType<typeof killUnderLoad>>, events: Autom8Event[], eventTimes: number[]) {
  const degradedAt = eventTimes[events.findIndex((e) => e.type === 'store.degraded')]!;
  const sorted = r.samples.map((s) => s.ms).sort((a, b) => a - b);
  const maxMs = sorted[sorted.length - 1]!;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  t.diagnostic(
    `${what}: ${r.samples.length} requests; cluster failover ${r.failoverMs} ms after SIGKILL; stores degraded ${Math.round(degradedAt - r.killedAt)} ms after it, ` +
      `back on Redis ${Math.round(r.recoveredAt - r.killedAt)} ms after it; request p99 ${Math.round(p99)} ms, slowest ${Math.round(maxMs)} ms`,
  );
  return maxMs;
}

function watchEvents() {
  const events: Autom8Event[] = [];
  const times: number[] = [];
  const stop = subscribe(['store.degraded', 'store.recovered'], (e) => {
    events.push(e);
    times.push(performance.now());
  });
  return { events, times, stop };
}

describe('a Redis Cluster master killed under load', { timeout: 120_000 }, () => {
  test('fail-open: an exhausted client is admitted during the gap; afterwards limits are shared again', async (t) => {
    const pair: [Instance, Instance] = [await instance('a', 'open', 20, { policy: 'fail-open' }), await instance('b', 'open', 20, { policy: 'fail-open' })];
    const watch = watchEvents();
    try {
      await warmUp(pair);
      // Exhaust the hot client across both instances first: exactly 20 admitted.
      const { key, slot, first } = await onRedis(pair, async (attempt) => {
        const hot = await hotKey(pair, `open${attempt}`);
        return { ...hot, first: await Promise.all(Array.from({ length: 30 }, (_, i) => get(pair[i % 2]!.base, hot.key))) };
      });
      assert.equal(first.filter((s) => s.status === 200).length, 20);

      const r = await killUnderLoad(pair, key, slot);
      const maxMs = report(t, 'fail-open', r, watch.events, watch.times);
      const before = r.samples.filter((s) => s.at < r.killedAt);
      const during = r.samples.filter((s) => s.at >= r.killedAt && s.at < r.recoveredAt);
      const afterwards = r.samples.filter((s) => s.at >= r.recoveredAt + 50);
      assert.ok(before.length > 0 && afterwards.length > 0, `${before.length} before, ${afterwards.length} after`);
      assert.deepEqual(new Set(r.samples.map((s) => s.status)), new Set([200, 429]), 'only 200 and 429, never an error');
      assert.ok(
        before.every((s) => s.status === 429),
        'exhausted before the kill',
      );
      assert.ok(
        during.some((s) => s.status === 200),
        'fail-open admits while the slot has no master',
      );
      // GCRA state was replicated before the kill: the promoted replica still knows the client is over.
      assert.ok(
        afterwards.every((s) => s.status === 429),
        'limited again after the failover',
      );
      assert.ok(maxMs < HANG_MS, `slowest request ${Math.round(maxMs)} ms (budget ${TIMEOUT_MS} ms)`);
      for (const i of pair) {
        assert.equal(i.store.guard.degraded, false);
        assert.ok(i.store.guard.outages >= 1);
      }
      assert.ok(watch.events.some((e) => e.type === 'store.degraded' && e.policy === 'fail-open'));
      assert.ok(watch.events.some((e) => e.type === 'store.recovered'));

      // A fresh client on the promoted replica's slots: the two instances admit exactly 20 together.
      const burst = await onRedis(pair, async (attempt) => {
        const fresh = await keyIn(pair, `open-fresh${attempt}`, r.killed.slots);
        return Promise.all(Array.from({ length: 40 }, (_, i) => get(pair[i % 2]!.base, fresh.key)));
      });
      assert.equal(burst.filter((s) => s.status === 200).length, 20);
      assert.deepEqual(crashes, [], 'no unhandled rejection or exception');
    } finally {
      watch.stop();
      for (const i of pair) await shutdown(i);
    }
  });

  test('fail-closed: a fresh client is refused during the gap; afterwards one shared counter again', async (t) => {
    // An exact count that nothing refills within the day: the load cannot exhaust 10,000, and the
    // remaining count below drops by exactly one per request however slowly the requests go.
    const fleet = (name: string) => instance(name, 'closed', 10_000, { policy: 'fail-closed' }, 'sliding-log');
    const pair: [Instance, Instance] = [await fleet('c'), await fleet('d')];
    const watch = watchEvents();
    try {
      await warmUp(pair);
      const { key, slot } = await hotKey(pair, 'closed');
      const r = await killUnderLoad(pair, key, slot);
      const maxMs = report(t, 'fail-closed', r, watch.events, watch.times);
      const before = r.samples.filter((s) => s.at < r.killedAt);
      const during = r.samples.filter((s) => s.at >= r.killedAt && s.at < r.recoveredAt);
      const afterwards = r.samples.filter((s) => s.at >= r.recoveredAt + 50);
      assert.ok(before.length > 0 && afterwards.length > 0, `${before.length} before, ${afterwards.length} after`);
      assert.deepEqual(new Set(r.samples.map((s) => s.status)), new Set([200, 429]), 'only 200 and 429, never an error');
      assert.ok(
        before.every((s) => s.status === 200),
        'admitted before the kill',
      );
      assert.ok(
        during.some((s) => s.status === 429),
        'fail-closed refuses while the slot has no master',
      );
      assert.ok(
        afterwards.every((s) => s.status === 200),
        'admitted again after the failover',
      );
      assert.ok(maxMs < HANG_MS, `slowest request ${Math.round(maxMs)} ms (budget ${TIMEOUT_MS} ms)`);
      for (const i of pair) assert.equal(i.store.guard.degraded, false);
      assert.ok(watch.events.some((e) => e.type === 'store.degraded' && e.policy === 'fail-closed'));

      // One counter for both instances: alternating between them, the remaining count drops by one each time.
      const remaining = await onRedis(pair, async (attempt) => {
        const fresh = await keyIn(pair, `closed-fresh${attempt}`, r.killed.slots);
        const seen: number[] = [];
        for (let i = 0; i < 10; i++) seen.push((await get(pair[i % 2]!.base, fresh.key)).remaining);
        return seen;
      });
      assert.deepEqual(
        remaining,
        Array.from({ length: 10 }, (_, i) => 10_000 - 1 - i),
      );
      assert.deepEqual(crashes, [], 'no unhandled rejection or exception');
    } finally {
      watch.stop();
      for (const i of pair) await shutdown(i);
    }
  });

  test('fallback (the default): each instance limits locally at limit ÷ expectedInstances during the gap', async (t) => {
    const policy = { policy: 'fallback' as const, expectedInstances: 2 };
    const pair: [Instance, Instance] = [await instance('e', 'fallback', 20, policy), await instance('f', 'fallback', 20, policy)];
    const watch = watchEvents();
    try {
      await warmUp(pair);
      const { key, slot, first } = await onRedis(pair, async (attempt) => {
        const hot = await hotKey(pair, `fallback${attempt}`);
        return { ...hot, first: await Promise.all(Array.from({ length: 30 }, (_, i) => get(pair[i % 2]!.base, hot.key))) };
      });
      assert.equal(first.filter((s) => s.status === 200).length, 20);

      const r = await killUnderLoad(pair, key, slot);
      const maxMs = report(t, 'fallback', r, watch.events, watch.times);
      const during = r.samples.filter((s) => s.at >= r.killedAt && s.at < r.recoveredAt);
      const afterwards = r.samples.filter((s) => s.at >= r.recoveredAt + 50);
      assert.deepEqual(new Set(r.samples.map((s) => s.status)), new Set([200, 429]), 'only 200 and 429, never an error');
      // The local fallback starts each instance with a fresh bucket of 20 ÷ 2 = 10.
      const admitted = during.filter((s) => s.status === 200).length;
      assert.ok(admitted > 0 && admitted <= 20, `${admitted} admitted during the gap`);
      for (const i of pair) assert.ok(i.store.snapshot().fallbackKeys >= 1, 'the fallback store counted');
      assert.ok(afterwards.length > 0 && afterwards.every((s) => s.status === 429), 'limited by the shared counter again');
      assert.ok(maxMs < HANG_MS, `slowest request ${Math.round(maxMs)} ms (budget ${TIMEOUT_MS} ms)`);
      assert.ok(watch.events.some((e) => e.type === 'store.degraded' && e.policy === 'fallback'));
      assert.deepEqual(crashes, [], 'no unhandled rejection or exception');
    } finally {
      watch.stop();
      for (const i of pair) await shutdown(i);
    }
  });
});

after(() => agent.destroy());
